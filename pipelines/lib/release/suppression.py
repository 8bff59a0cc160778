"""Small-cell suppression: no published figure may single out a handful of applicants.

What counts as "derived from dossiers" (and so may be suppressed):
- every count of dossiers (received, completed, pending, refused, ...) is its own basis: a count
  from 1 to threshold − 1 is blanked (primary suppression). Zero is published: it describes nobody.
- `procedures_online_used` counts procedures that received an online dossier; it can never
  exceed the online dossiers behind it, so it is treated as a dossier count (never under-protects).
- a rate, an amount in VND, a total or mean of handling days are derived (BASIS, or
  `<x>_numerator` / `<x>_denominator` for `<x>_rate`): blanked when a cell they are computed
  from is. Any other number in a KPI table leans on every dossier count of its row: a safe
  default for measures added later.
- kpi_scores (basis from seeds/kpi_score_rules.csv, the rules the model scores with): a group's
  points go with every rate of its items (online service: coverage, full process and the online
  dossier rate), points_total with all of them, points_possible with the items' denominators
  (it says which rates exist, i.e. which denominators are 0), score_rate with both, and
  rank_in_level with score_rate. The other ranks stay: they bound a hidden score between two
  published ones (a narrow gap may leave one possible small count: not protected).
Procedure counts from the catalogues (`procedures_*`) and reported agency-days describe the
administration, not people, and are never suppressed.

Secondary suppression, so that no hidden cell can be worked out from visible ones:
- tables sharing a primary key are one set of cells per key (a column name is one figure);
- within a row, exact identities (EQUATIONS, e.g. the three channels sum to `received_total`):
  a hidden cell that the visible ones determine (linear algebra on the row's pattern of hidden
  cells) gets a companion hidden, the smallest non-zero visible cell that breaks it;
- across rows, totals (the national row over agencies, a month over its days, an agency "as is"
  over the agencies it absorbed "as was"), each used only for the columns where the sum holds on
  every group: a group with exactly one hidden cell gets its smallest non-zero visible part hidden;
- then all these identities together, one linear system over the hidden cells of every row (a
  reader may solve them at once): a hidden cell they fix (its unit vector lies in the row space
  of its connected component's matrix) gets companions that free it in one step, a hypercube:
  the four corners of a rectangle through it in two of its totals, each corner hiding the cells
  the row's equations tie to it, with the totals the corners are parts of (`_hypercube`); the
  cheapest, fewest published zeros first. A single companion seldom frees such a cell (the
  cell sits on a tree of hidden cells, and one more leaf is pinned in turn): on a year at 0.01
  that cascaded and the release never finished. Without a rectangle, the smallest non-zero
  visible cell of an identity it appears in. Components above DENSE_UNKNOWNS cells are tested
  by projecting random vectors on the null space (sparse least squares) instead of a dense SVD.
All three run until nothing changes, one block of rows at a time: no total crosses a month
(its days and its month row, every agency, both geographies), so each month settles alone to
what settling all of them together gives, and one unchanged since the last release is answered
from memory (memo.py).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.lib.release.memo import remembered, remembering
from pipelines.settings import DBT_PROJECT_DIR

DEFAULT_THRESHOLD = 5
THRESHOLD_ENV = "EGOV_SUPPRESSION_THRESHOLD"
NATIONAL_CODE = "VN"

PUBLISHED = "published"
NOT_APPLICABLE = "not_applicable"
SMALL = "suppressed_small"
SECONDARY = "suppressed_secondary"
DERIVED = "suppressed_derived"
INCOMPLETE = "incomplete_history"
STATUS_LABELS = {
    PUBLISHED: ("đã công bố", "published as computed"),
    NOT_APPLICABLE: ("không áp dụng", "no value: a rate or mean whose denominator is 0"),
    SMALL: ("ẩn do số nhỏ", "suppressed: derived from fewer dossiers than the threshold"),
    SECONDARY: ("ẩn thứ cấp", "suppressed so that a total does not give a hidden cell away"),
    DERIVED: ("ẩn theo ô gốc", "suppressed because a cell it is computed from is suppressed"),
    INCOMPLETE: ("chưa đủ lịch sử", "not published: the days held before this one are too few to know "
                 "the open stock (carried over, pending); see stocks_complete"),
}
STATUS_SUFFIX = "_status"
# Solving all the identities together: exact below DENSE_UNKNOWNS unknowns per component.
DENSE_UNKNOWNS = 400
PROJECTIONS = 2
TOLERANCE = 1e-7

# total = sum(parts), exact by construction in the marts.
EQUATIONS = [
    ("received_total", ("received_in_person", "received_online", "received_by_post")),
    ("completed", ("completed_on_time", "completed_late")),
    ("on_time_numerator", ("completed_on_time", "pending_within_deadline")),
    ("on_time_denominator", ("completed", "pending_within_deadline", "pending_overdue")),
]
BASIS = {
    "online_dossier_rate": ("received_online", "received_total"),
    "online_payment_rate": ("completed_paid_online", "completed_fee_bearing"),
    "electronic_result_rate": ("completed_with_electronic_result", "completed"),
    "online_uptake_rate": ("procedures_online_used", "procedures_online"),
    "online_coverage_rate": ("procedures_online", "procedures_total"),
    "full_process_rate": ("procedures_eligible_offered_full_process", "procedures_eligible_full_process"),
    "amount_paid_online_vnd": ("completed_paid_online",),
    "handling_working_days_total": ("completed",),
    "mean_handling_working_days": ("handling_working_days_total", "completed"),
}
SCORE_RULES = DBT_PROJECT_DIR / "seeds" / "kpi_score_rules.csv"
NOT_FROM_DOSSIERS = re.compile(r"^(procedures_(?!online_used$).*|agency_days_(reported|expected)|working_days.*)$")


def score_basis(rules: Path = SCORE_RULES) -> dict[str, tuple[str, ...]]:
    """The basis of kpi_scores' columns, from the rules the model scores with, so that a group's
    points always lean on every rate of its items."""
    with open(rules, newline="", encoding="utf-8") as file:
        items = list(csv.DictReader(file))
    groups: dict[str, tuple[str, ...]] = {}
    for item in items:
        name = f"points_{item['group_code']}"
        groups[name] = groups.get(name, ()) + (item["metric"],)
    return {
        **groups,
        "points_total": tuple(groups),
        # Which items have a rate: it tells whether their denominators are 0, nothing more.
        "points_possible": tuple(_denominator(item["metric"]) for item in items),
        "score_rate": ("points_total", "points_possible"),
        # A rank orders scores: it goes with the score it ranks.
        "rank_in_level": ("score_rate",),
    }


def _denominator(rate: str) -> str:
    return BASIS[rate][-1] if rate in BASIS else f"{rate.removesuffix('_rate')}_denominator"


BASIS.update(score_basis())


def threshold_from_env() -> int:
    """`EGOV_SUPPRESSION_THRESHOLD` (0 or 1 turns suppression off), default 5."""
    return int(os.environ.get(THRESHOLD_ENV, DEFAULT_THRESHOLD))


def basis_of(column: str, columns) -> tuple[str, ...] | None:
    if column in BASIS:
        return BASIS[column]
    stem = column.removesuffix("_rate")
    pair = (f"{stem}_numerator", f"{stem}_denominator")
    return pair if column.endswith("_rate") and all(c in columns for c in pair) else None


def _from_dossiers(column: str, columns, seen=()) -> bool:
    """Whether a column leans, directly or through its basis, on a count of dossiers."""
    if NOT_FROM_DOSSIERS.match(column):
        return False
    basis = basis_of(column, columns)
    return basis is None or any(_from_dossiers(b, columns, seen + (column,)) for b in basis if b not in seen)


def classify(frame: pd.DataFrame, key: list[str]) -> dict[str, str]:
    """Role of each numeric non-key column: count, derived, or catalogue (never suppressed)."""
    roles = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if column in key or not (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype)
                                 or _is_decimal(frame[column])):
            continue
        if not _from_dossiers(column, frame.columns):
            roles[column] = "catalogue"
        elif basis_of(column, frame.columns) is None and pd.api.types.is_integer_dtype(dtype):
            roles[column] = "count"
        else:
            roles[column] = "derived"
    return roles


def _is_decimal(series: pd.Series) -> bool:
    """DuckDB's HUGEINT (a sum of integers, e.g. points_possible) arrives as Python Decimals."""
    values = series.dropna()
    return series.dtype == object and len(values) > 0 and all(isinstance(v, Decimal) for v in values)


def suppress(frames: dict[str, pd.DataFrame], keys: dict[str, list[str]], threshold: int,
             lineage: dict[str, str] | None = None, memo_file: Path | None = None) -> dict[str, pd.DataFrame]:
    """Blank small and revealing cells in the KPI tables; add a `<column>_status` beside each
    column that may be blank. `lineage` maps an agency code to its code "as is" today;
    `memo_file` keeps the solves' answers for the next call (memo.py)."""
    with remembering(memo_file):
        return _suppress(frames, keys, threshold, lineage)


def _suppress(frames: dict[str, pd.DataFrame], keys: dict[str, list[str]], threshold: int,
              lineage: dict[str, str] | None) -> dict[str, pd.DataFrame]:
    out = {}
    groups: dict[tuple, list[str]] = {}
    for name in frames:
        groups.setdefault(tuple(keys[name]), []).append(name)
    for key, names in groups.items():
        roles = {name: classify(frames[name], list(key)) for name in names}
        wide = _wide({n: frames[n] for n in names}, list(key), roles)
        counts = list(dict.fromkeys(c for n in names for c, r in roles[n].items() if r == "count"))
        status = pd.DataFrame("", index=wide.index, columns=wide.columns, dtype=object)
        small = wide[counts].gt(0) & wide[counts].lt(threshold)
        status[counts] = status[counts].mask(small, SMALL)
        status = _secondary(wide, status, counts, _relations(wide, counts, lineage or {}))
        for name in names:
            out[name] = _apply(frames[name], list(key), roles[name], wide, status)
    return out


def _wide(frames: dict[str, pd.DataFrame], key: list[str], roles) -> pd.DataFrame:
    """Every numeric column of the group, one per name, indexed by the key."""
    wide = None
    for name, frame in frames.items():
        part = frame.set_index(key)[list(roles[name])].astype("float64")
        wide = part if wide is None else wide.combine_first(part)
    return wide


def _relations(wide: pd.DataFrame, counts: list[str], lineage: dict[str, str]) -> list[tuple[np.ndarray, np.ndarray, list[str]]]:
    """Cross-row totals: (group code per row, -1 outside; is-total per row; columns where the sum holds)."""
    index = wide.index.to_frame(index=False)
    found = []

    def add(group: pd.Series, total: pd.Series) -> None:
        group = pd.Series(group.to_numpy(), index=wide.index)
        total = pd.Series(total.to_numpy(dtype=bool), index=wide.index)
        valid = group.notna()
        if not (valid & total).any() or not (valid & ~total).any():
            return
        sign = np.where(total, -1.0, 1.0)
        sums = wide[counts].mul(sign, axis=0)[valid].groupby(group[valid]).sum(min_count=1)
        holding = [c for c in counts if (sums[c].fillna(0) == 0).all()]
        if holding:
            codes, _ = pd.factorize(group.where(valid))
            found.append((codes, (total & valid).to_numpy(), holding))

    others = [c for c in index.columns if c != "agency_code"]
    if "agency_code" in index and others and (index["agency_code"] == NATIONAL_CODE).any():
        add(_tag(index, others), index["agency_code"] == NATIONAL_CODE)
    if {"period", "period_start", "geography", "agency_code"} <= set(index.columns):
        starts = pd.to_datetime(index["period_start"])
        month_start = starts.dt.to_period("M").dt.start_time
        rest = [c for c in index.columns if c not in ("period", "period_start")]
        day_or_month = index["period"].isin(["day", "month"])
        tag = _tag(index, rest) + "|" + month_start.astype(str)
        add(tag.where(day_or_month), index["period"] == "month")
        if lineage:
            as_is = index["agency_code"].map(lambda c: lineage.get(c, c))
            geo_rest = [c for c in index.columns if c not in ("geography", "agency_code")]
            base = _tag(index, geo_rest)
            total = (index["geography"] == "as_is") & (index["agency_code"] != NATIONAL_CODE)
            part = (index["geography"] == "as_was") & (index["agency_code"] != NATIONAL_CODE)
            add((base + "|" + as_is).where(total | part), total)
    return found


def _tag(index: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One text label per row from several key columns (vectorised)."""
    tag = index[columns[0]].astype(str)
    for column in columns[1:]:
        tag = tag + "|" + index[column].astype(str)
    return tag


def _secondary(wide: pd.DataFrame, status: pd.DataFrame, counts: list[str], relations) -> pd.DataFrame:
    """Hide companions until no hidden cell is given away by a row identity or a total, one
    block of rows at a time (`_blocks`)."""
    columns = tuple(wide.columns)
    equations = [(t, parts) for t, parts in EQUATIONS if t in counts and all(p in counts for p in parts)]
    matrix = np.zeros((len(equations), len(columns)))
    for row, (total, parts) in enumerate(equations):
        matrix[row, columns.index(total)] = 1
        for part in parts:
            matrix[row, columns.index(part)] = -1
    values = wide.to_numpy(dtype=np.float64)
    state = _encoded(status.to_numpy())
    for rows in _blocks(len(wide), relations):
        local = []
        for codes, total, holding in relations:
            member = codes[rows] >= 0
            recoded = np.full(len(rows), -1, dtype=np.int64)
            recoded[member] = np.unique(codes[rows][member], return_inverse=True)[1].ravel()
            local += [recoded.tobytes(), total[rows].tobytes(), tuple(holding)]
        settled = _settled(matrix.tobytes(), matrix.shape, columns, values[rows].tobytes(), state[rows].tobytes(), *local)
        state[rows] = settled.reshape(len(rows), len(columns))
    return pd.DataFrame(_decoded(state), index=status.index, columns=status.columns)


# What a cell's status may be while `_secondary` works, as the small integers its blocks are remembered by.
STATES = ("", SMALL, SECONDARY)


def _encoded(status: np.ndarray) -> np.ndarray:
    state = np.zeros(status.shape, dtype=np.uint8)
    for code, name in enumerate(STATES):
        state[status == name] = code
    if not np.isin(status, STATES).all():
        raise ValueError(f"a status other than {STATES} before secondary suppression")
    return state


def _decoded(state: np.ndarray) -> np.ndarray:
    return np.array(STATES, dtype=object)[state]


def _blocks(size: int, relations) -> list[np.ndarray]:
    """The rows no total links to each other, apart (connected components over the totals'
    groups: a month of days and its month rows, over every agency and both geographies). No
    identity crosses blocks, so each settles alone to what settling them all together gives,
    and a block unchanged since the last release is answered from memory (`_settled`): a day's
    release after a year solves the current month, not twelve more."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows, groups, offset = [np.arange(size)], [np.arange(size)], size
    for codes, _, _ in relations:
        member = np.flatnonzero(codes >= 0)
        rows.append(member)
        groups.append(offset + codes[member])
        offset += int(codes.max()) + 1
    rows, groups = np.concatenate(rows), np.concatenate(groups)
    graph = coo_matrix((np.ones(len(rows)), (rows, groups)), shape=(offset, offset))
    label = connected_components(graph, directed=False)[1][:size]
    order = np.argsort(label, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(label[order])) + 1)


@remembered(lambda v: np.asarray(v, dtype=np.uint8).tobytes(), lambda b: np.frombuffer(b, dtype=np.uint8))
def _settled(matrix_bytes: bytes, shape: tuple[int, int], columns: tuple[str, ...], values_bytes: bytes,
             state_bytes: bytes, *relations_bytes) -> np.ndarray:
    """One block's statuses once nothing changes: companions hidden by its rows' identities,
    its totals and all of them together, in that order. `relations_bytes`: each relation's group
    codes (local to the block), is-total flags and holding columns. Remembered (memo.py)."""
    matrix = np.frombuffer(matrix_bytes).reshape(shape)
    values = np.frombuffer(values_bytes).reshape(-1, len(columns))
    state = _decoded(np.frombuffer(state_bytes, dtype=np.uint8).reshape(values.shape))
    relations = [(np.frombuffer(codes, dtype=np.int64), np.frombuffer(total, dtype=bool), list(holding))
                 for codes, total, holding in zip(*[iter(relations_bytes)] * 3)]
    columns = list(columns)
    # Rows whose hidden cells changed since their identities were last checked: a row checked
    # and left alone stays safe until one of its cells is hidden (a month has ~10^4 rows).
    unchecked = (state != "").any(axis=1)
    changed = True
    while changed:
        changed = False
        for i in np.flatnonzero(unchecked):
            unchecked[i] = False
            mask = state[i] != ""
            while determined := _determined(matrix_bytes, matrix.shape, tuple(mask)):
                chosen = _companion(matrix_bytes, matrix.shape, tuple(mask), values[i].tobytes(), determined[0])
                mask[chosen] = True
                state[i, chosen] = SECONDARY
                changed = True
        for codes, total, holding in relations:
            for column in holding:
                j = columns.index(column)
                chosen = _protect_totals(values[:, j], state[:, j] != "", codes, total)
                state[chosen, j] = SECONDARY
                unchecked[chosen] = True
                changed |= len(chosen) > 0
        if not changed:
            for i, j in _companions_together(matrix, relations, columns, values, state != ""):
                state[i, j] = SECONDARY
                unchecked[i] = True
                changed = True
    return _encoded(state)


def _companions_together(matrix: np.ndarray, relations, columns: list[str], values: np.ndarray,
                         hidden: np.ndarray) -> set[tuple[int, int]]:
    """Cells to hide so that all the identities solved together pin no hidden cell: for each
    pinned one, the cheapest hypercube around it (`_hypercube`), else the smallest non-zero
    visible cell of an identity it appears in."""
    equations, unknowns, coefficients = _system(matrix, relations, columns, hidden)
    if not len(unknowns):
        return set()
    cells = np.argwhere(hidden)
    pinned = cells[_pinned(equations, unknowns, coefficients, len(cells))]
    corners = _Corners(relations)
    chosen = set()
    for i, j in pinned:
        cube = _hypercube(int(i), int(j), matrix, columns, values, hidden, corners)
        if cube is None:
            single = _smallest_visible(_neighbours(matrix, relations, columns, i, j), values, hidden)
            cube = [] if single is None else [single]
        chosen.update(cube)
    return chosen


class _Corners:
    """What `_hypercube` looks up, built once per pass: for each pair of relations, the row at
    each pair of their groups; for each relation, the total row of each group."""

    def __init__(self, relations):
        self.relations = relations
        self.at: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, int]] = {}
        self.totals, self.codes, self.is_total = [], [], []
        for codes, total, _ in relations:
            of_group = np.full(codes.max() + 1, -1)
            of_group[codes[total & (codes >= 0)]] = np.flatnonzero(total & (codes >= 0))
            # Python lists: `_carried` reads a handful of rows at a time, many times.
            self.totals.append(of_group.tolist())
            self.codes.append(codes.tolist())
            self.is_total.append(total.tolist())

    def rows_at(self, first: int, second: int):
        """A lookup: the row in group codes_first[n] of relation `first` and codes_second[n] of `second`, or -1."""
        if (first, second) not in self.at:
            a, b = self.relations[first][0], self.relations[second][0]
            both = np.flatnonzero((a >= 0) & (b >= 0))
            width = int(b.max()) + 1
            keys = a[both].astype(np.int64) * width + b[both]
            order = np.argsort(keys)
            self.at[first, second] = (keys[order], both[order], width)
        keys, rows, width = self.at[first, second]

        def lookup(codes_first: np.ndarray, codes_second: np.ndarray) -> np.ndarray:
            if not len(keys):
                return np.full(len(codes_first), -1)
            wanted = codes_first.astype(np.int64) * width + codes_second
            at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            return np.where(keys[at] == wanted, rows[at], -1)
        return lookup


def _hypercube(i: int, j: int, matrix: np.ndarray, columns: list[str], values: np.ndarray, hidden: np.ndarray,
               corners: _Corners) -> list[tuple[int, int]] | None:
    """The visible cells to hide so that one direction moves cell (i, j) and keeps every
    identity, which frees it and pins none of them: the cells its row's equations tie to it
    (`_row_direction`), in the four rows of a rectangle through row i in two of its totals (a
    day: the other agencies of its national total × the other days of its month), and in the
    totals those rows are parts of (`_carried`: an agency as is over the agencies as was, the
    national row over them). The cheapest over every pair of i's totals (fewest published
    zeros, then the smallest sum); None when no rectangle holds."""
    direction = _row_direction(matrix.tobytes(), matrix.shape, tuple(hidden[i]), j)
    if direction is None:
        return None
    relations = corners.relations
    support = np.flatnonzero(np.abs(direction) > TOLERANCE)
    names = {columns[c] for c in support}
    in_play = [k for k, (codes, _, holding) in enumerate(relations) if names & set(holding)]
    sides = [k for k in in_play if relations[k][0][i] >= 0]
    block = values[:, support]
    usable = ~np.isnan(block).any(axis=1)
    newly = ~hidden[:, support]
    zeros = ((block == 0) & newly).sum(axis=1)
    amounts = np.where(newly, np.nan_to_num(block), 0).sum(axis=1)
    best = None
    for first, second in combinations(sides, 2):
        for bound, signs in _rectangles(i, relations[first], relations[second], corners.rows_at(first, second),
                                        usable, zeros, amounts):
            if best is not None and bound >= best[0]:
                break
            signs = _carried(signs, in_play, corners)
            if signs is None or not usable[list(signs)].all():
                continue
            rows = list(signs)
            cost = (int(zeros[rows].sum()), float(amounts[rows].sum()))
            if best is None or cost < best[0]:
                best = (cost, signs)
    if best is None:
        return None
    return [(row, int(c)) for row in best[1] for c in support if not hidden[row, c]]


def _rectangles(i: int, first, second, row_at, usable: np.ndarray, zeros: np.ndarray,
                amounts: np.ndarray) -> Iterator[tuple[tuple[int, float], dict[int, int]]]:
    """Rows i, p (i's group in `first`), q (i's group in `second`), r (q's in `first`, p's in
    `second`) with signs that keep both totals, cheapest first by their own cost (which bounds
    the cost with the totals they carry), with that cost."""
    (codes_1, total_1, _), (codes_2, total_2, _) = first, second

    def partners(codes: np.ndarray) -> np.ndarray:
        found = np.flatnonzero((codes == codes[i]) & usable)
        return found[found != i]

    def sign(total: np.ndarray, a, b) -> np.ndarray:
        """b's sign for a's +1 in their group: two parts (or two totals) opposite, else equal."""
        return np.where(total[a] == total[b], -1, 1)

    p, q = (grid.ravel() for grid in np.meshgrid(partners(codes_1), partners(codes_2), indexing="ij"))
    r = row_at(codes_1[q], codes_2[p])
    keep = (r >= 0) & (r != i) & (r != p) & (r != q)
    p, q, r = p[keep], q[keep], r[keep]
    s_p, s_q = sign(total_1, i, p), sign(total_2, i, q)
    s_r = sign(total_2, p, r) * s_p
    keep = usable[r] & (s_r == sign(total_1, q, r) * s_q)
    p, q, r, s_p, s_q, s_r = p[keep], q[keep], r[keep], s_p[keep], s_q[keep], s_r[keep]
    bound = (zeros[i] + zeros[p] + zeros[q] + zeros[r], amounts[i] + amounts[p] + amounts[q] + amounts[r])
    for n in np.lexsort((bound[1], bound[0])):
        yield (int(bound[0][n]), float(bound[1][n])), {i: 1, int(p[n]): int(s_p[n]), int(q[n]): int(s_q[n]),
                                                       int(r[n]): int(s_r[n])}


def _carried(signs: dict[int, int], in_play: list[int], corners: _Corners, rounds: int = 8) -> dict[int, int] | None:
    """The direction with the totals of the rows it moves moved with them, until every group in
    play sums to 0 (its parts minus its total); None when that cannot be: a group without a
    total, or a total the rectangle or another relation already moves otherwise (its parts
    would have to be chosen)."""
    out = dict(signs)
    setter: dict[int, int] = {}
    for _ in range(rounds):
        changed = False
        for k in in_play:
            codes, is_total, total_of = corners.codes[k], corners.is_total[k], corners.totals[k]
            balance: dict[int, int] = {}
            for row, weight in out.items():
                if codes[row] >= 0:
                    balance[codes[row]] = balance.get(codes[row], 0) + (-weight if is_total[row] else weight)
            for group, off in balance.items():
                if off == 0:
                    continue
                at = total_of[group]
                if at < 0 or at in signs or setter.get(at, k) != k:
                    return None
                out[at] = out.get(at, 0) + off
                setter[at] = k
                changed = True
        if not changed:
            return {row: s for row, s in out.items() if s != 0}
    return None


@remembered(lambda v: b"" if v is None else np.asarray(v, dtype=np.float64).tobytes(),
            lambda b: np.frombuffer(b) if b else None)
def _row_direction(matrix_bytes: bytes, shape: tuple[int, int], mask: tuple[bool, ...], j: int) -> np.ndarray | None:
    """A change of the row's hidden cells that keeps its equations and moves column j (the
    projection of e_j on their null space), None when the equations fix j."""
    from scipy.linalg import null_space

    matrix = np.frombuffer(matrix_bytes).reshape(shape)
    hidden = np.flatnonzero(mask)
    direction = np.zeros(shape[1])
    if not matrix[:, j].any():
        direction[j] = 1.0
        return direction
    basis = null_space(matrix[:, hidden])
    direction[hidden] = basis @ basis[np.searchsorted(hidden, j)]
    return direction if abs(direction[j]) > TOLERANCE else None


def _neighbours(matrix: np.ndarray, relations, columns: list[str], i: int, j: int) -> list[tuple[int, int]]:
    """The cells that share an identity with cell (i, j): its row's equations, its totals' groups."""
    found = [(i, k) for k in np.flatnonzero(matrix[matrix[:, j] != 0].any(axis=0))]
    for codes, _, holding in relations:
        if columns[j] in holding and codes[i] >= 0:
            found += [(r, j) for r in np.flatnonzero(codes == codes[i])]
    return found


def _smallest_visible(cells: list[tuple[int, int]], values: np.ndarray, hidden: np.ndarray) -> tuple[int, int] | None:
    visible = [(i, j) for i, j in cells if not hidden[i, j] and not np.isnan(values[i, j])]
    return min(visible, key=lambda c: (values[c] == 0, values[c]), default=None)


def _system(matrix: np.ndarray, relations, columns: list[str], hidden: np.ndarray):
    """Every identity of the release over its hidden cells, as (equation, unknown, coefficient)
    triplets; the unknowns are the hidden cells in row-major order (np.nonzero(hidden))."""
    unknown = np.full(hidden.shape, -1)
    unknown[hidden] = np.arange(hidden.sum())
    triplets = []
    offset = 0
    for equation in matrix:
        cells = np.flatnonzero(equation)
        rows = np.flatnonzero(hidden[:, cells].any(axis=1))
        for j in cells:
            at = rows[hidden[rows, j]]
            triplets.append((offset + np.searchsorted(rows, at), unknown[at, j], np.full(len(at), equation[j])))
        offset += len(rows)
    for codes, total, holding in relations:
        for column in holding:
            j = columns.index(column)
            at = np.flatnonzero((codes >= 0) & hidden[:, j])
            triplets.append((offset + codes[at], unknown[at, j], np.where(total[at], -1.0, 1.0)))
            offset += codes.max() + 1
    return tuple(np.concatenate([t[k] for t in triplets]) if triplets else np.zeros(0) for k in range(3))


def _pinned(equations: np.ndarray, unknowns: np.ndarray, coefficients: np.ndarray, size: int) -> np.ndarray:
    """The unknowns the identities fix (e_i in the row space of the coefficient matrix), one
    connected component of unknowns at a time."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    _, rows = np.unique(equations, return_inverse=True)
    rows = rows.ravel()
    graph = coo_matrix((np.ones(len(rows)), (unknowns, size + rows)), shape=(size + rows.max() + 1,) * 2)
    label = connected_components(graph, directed=False)[1][unknowns]
    pinned = np.zeros(size, dtype=bool)
    order = np.argsort(label, kind="stable")
    for entries in np.split(order, np.flatnonzero(np.diff(label[order])) + 1):
        cells, local_cells = np.unique(unknowns[entries], return_inverse=True)
        local_rows = np.unique(rows[entries], return_inverse=True)[1]
        sub = coo_matrix((coefficients[entries], (local_rows.ravel(), local_cells.ravel()))).tocsr()
        pinned[cells] = _fixed_once(sub.shape, sub.indices.dtype.str, sub.indptr.tobytes(), sub.indices.tobytes(),
                                    sub.data.tobytes())
    return pinned


@remembered(lambda v: np.asarray(v, dtype=bool).tobytes(), lambda b: np.frombuffer(b, dtype=bool))
def _fixed_once(shape: tuple[int, int], index_type: str, indptr: bytes, indices: bytes, data: bytes) -> np.ndarray:
    """`_fixed` of a component seen before answered from memory (memo.py): the passes of
    `_secondary` solve every component again, and a day's release most of a year's again."""
    from scipy.sparse import csr_matrix

    matrix = csr_matrix((np.frombuffer(data), np.frombuffer(indices, dtype=index_type),
                         np.frombuffer(indptr, dtype=index_type)), shape=shape)
    return _fixed(matrix)


def _fixed(matrix) -> np.ndarray:
    """Columns of a sparse matrix whose unknown no null-space direction moves. Small: the zero rows
    of scipy's null-space basis. Large (a dense SVD would take minutes): project random vectors on
    the null space (z minus its least-squares fit by the matrix's rows); a free unknown moves in
    almost every such projection, a fixed one in none."""
    from scipy.sparse.linalg import lsqr

    if matrix.shape[1] <= DENSE_UNKNOWNS:
        return _fixed_dense(matrix)
    rng = np.random.default_rng(0)
    moved = np.zeros(matrix.shape[1], dtype=bool)
    for _ in range(PROJECTIONS):
        z = rng.standard_normal(matrix.shape[1])
        projection = z - matrix.T @ lsqr(matrix.T, z, atol=1e-14, btol=1e-14, iter_lim=50 * matrix.shape[1])[0]
        if np.abs(matrix @ projection).max(initial=0) > TOLERANCE:  # not converged: not in the null space
            return _fixed_dense(matrix)
        moved |= np.abs(projection) > TOLERANCE
    return ~moved


def _fixed_dense(matrix) -> np.ndarray:
    """The zero rows of the null-space basis: exact, cubic in the unknowns."""
    from scipy.linalg import null_space

    return np.abs(null_space(matrix.toarray())).max(axis=1, initial=0) < TOLERANCE


def _protect_totals(values: np.ndarray, hidden: np.ndarray, codes: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Rows to hide: in each group (code ≥ 0) with exactly one hidden cell, its smallest
    non-zero visible part (a zero or the total only when nothing else is left)."""
    member = codes >= 0
    if not member.any():
        return np.flatnonzero(member)
    per_group = np.bincount(codes[member], weights=hidden[member], minlength=codes.max() + 1)
    exposed = member & (per_group[np.where(member, codes, 0)] == 1)
    candidates = np.flatnonzero(exposed & ~hidden & ~np.isnan(values))
    ranked = candidates[np.lexsort((values[candidates], total[candidates], values[candidates] == 0))]
    _, first = np.unique(codes[ranked], return_index=True)
    return ranked[first]


@remembered(lambda v: np.asarray(v, dtype=np.int64).tobytes(), lambda b: tuple(np.frombuffer(b, dtype=np.int64).tolist()))
def _determined(matrix_bytes: bytes, shape: tuple[int, int], mask: tuple[bool, ...]) -> tuple[int, ...]:
    """Hidden columns whose value the visible ones fix: e_i lies in the row space of A_hidden."""
    matrix = np.frombuffer(matrix_bytes).reshape(shape)
    hidden = [j for j, m in enumerate(mask) if m]
    sub = matrix[:, hidden]
    rank = np.linalg.matrix_rank(sub) if sub.size else 0
    return tuple(
        j for pos, j in enumerate(hidden)
        if matrix[:, j].any() and np.linalg.matrix_rank(np.delete(sub, pos, axis=1)) < rank
    )


@remembered(lambda v: int(v).to_bytes(8, "little"), lambda b: int.from_bytes(b, "little"))
def _companion(matrix_bytes: bytes, shape: tuple[int, int], hidden: tuple[bool, ...], row_bytes: bytes, target: int) -> int:
    """The visible cell to hide beside `target`: one tied to it, non-zero and smallest first,
    preferring one that frees `target` at once. Remembered (memo.py): a year's rows asked it
    ~50,000 times a release, the same rows as the release before."""
    matrix = np.frombuffer(matrix_bytes).reshape(shape)
    mask, row = np.array(hidden), np.frombuffer(row_bytes)
    def visible(columns: np.ndarray) -> list[int]:
        found = [j for j in np.flatnonzero(columns & ~mask) if not np.isnan(row[j])]
        return sorted(found, key=lambda j: (row[j] == 0, row[j]))

    # The target's own equations first; when all their cells are hidden, the target is pinned
    # through other equations, so a visible cell anywhere in the system is the companion.
    candidates = visible(matrix[matrix[:, target] != 0].any(axis=0)) or visible(matrix.any(axis=0))
    for j in candidates:
        trial = mask.copy()
        trial[j] = True
        if target not in _determined(matrix.tobytes(), matrix.shape, tuple(trial)):
            return j
    return candidates[0]


def _derived_status(column: str, wide: pd.DataFrame, status: pd.DataFrame, own_counts: list[str]) -> np.ndarray:
    """Hidden when a cell it is computed from is hidden; unknown basis: any dossier count of the row."""
    basis = [b for b in (basis_of(column, wide.columns) or ()) if _from_dossiers(b, wide.columns)]
    if basis and all(b in status.columns for b in basis):
        hidden = np.zeros(len(status), dtype=bool)
        for b in basis:
            if b not in BASIS and basis_of(b, wide.columns) is None:
                hidden |= (status[b] != "").to_numpy()
            else:
                hidden |= _derived_status(b, wide, status, own_counts) != ""
        return np.where(hidden, DERIVED, "")
    pool = own_counts or [c for c in status.columns if (status[c] != "").any()]
    return np.where((status[pool] != "").any(axis=1).to_numpy(), DERIVED, "")


def _apply(frame: pd.DataFrame, key: list[str], roles: dict[str, str], wide: pd.DataFrame, status: pd.DataFrame) -> pd.DataFrame:
    """Blank the hidden cells of one table and add the status columns beside them."""
    index = pd.MultiIndex.from_frame(frame[key]) if len(key) > 1 else pd.Index(frame[key[0]])
    rows = status.reindex(index).fillna("")
    own_counts = [c for c, role in roles.items() if role == "count"]
    result = frame.copy()
    ordered = []
    for column in frame.columns:
        ordered.append(column)
        role = roles.get(column)
        if role not in ("count", "derived"):
            continue
        hidden = rows[column].to_numpy() if role == "count" else _derived_status(column, wide, rows, own_counts)
        null = frame[column].isna().to_numpy()
        final = np.where(hidden != "", hidden, np.where(null, NOT_APPLICABLE, PUBLISHED))
        result[column] = frame[column].mask(final != PUBLISHED, None)  # None keeps Decimals Decimal
        result[column + STATUS_SUFFIX] = pd.array(final, dtype="string")
        ordered.append(column + STATUS_SUFFIX)
    return result[ordered]
