"""A reader's attack on a release: from the published cells and the identities the docs give,
work out hidden dossier counts. A count it pins to one value is a cell suppression failed to hide.

What the reader uses, to a fixpoint:
- rate = numerator / denominator (either side from the other two; a rate with no value means a
  denominator of 0), score_rate = points_total / points_possible;
- the point formulas of kpi_score_rules: an item earns max if its rate ≥ threshold, else
  rate / threshold × max, so points below max give the rate back; points_possible is the sum of
  the max of the items that have a rate, so it tells which denominators are 0;
- sums (a cell is determined when no direction of the solution space moves it): the row sums
  (suppression.EQUATIONS), group points = sum of their items, points_total = sum of the groups,
  solved row by row; the national row = sum of the agencies, a month = sum of its days (flows
  only), an agency "as is" = sum of the agencies it absorbed "as was", one total at a time.
  With `together`, every sum of the release at once (suppression solves them together too).
Ranks are not used: they order scores, they give no value (see docs/open-data.md).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.lib.release.suppression import BASIS, EQUATIONS, NATIONAL_CODE, NOT_APPLICABLE, PUBLISHED, STATUS_SUFFIX

KEY = ["period", "period_start", "geography", "agency_code"]
# Sums like the counts (amounts and days of the dossiers behind them), though not counts.
SUMMED = ("amount_paid_online_vnd", "handling_working_days_total")
# Not summed over a month's days (docs/kpis.md): stocks, and figures that contain one.
NOT_FLOWS = re.compile(r"^(carried_over|pending_.*|on_time_(numerator|denominator)|procedures_.*)$")
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Recovered:
    row: tuple
    column: str
    value: float
    how: str

    def __str__(self) -> str:
        period, start, geography, agency = self.row
        return f"{agency} {period} {start} {geography}: {self.column} = {self.value:g} ({self.how})"


@dataclass(frozen=True)
class Rule:
    group: str
    item: str
    metric: str
    threshold: float
    max_points: float


def read_rules(frame: pd.DataFrame) -> list[Rule]:
    return [Rule(r.group_code, f"item {r.item_code}", r.metric, float(r.threshold), float(r.max_points))
            for r in frame.itertuples()]


def read_release(folder: Path, tables: list[str]) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[Rule]]:
    """The KPI tables, the lineage and the score rules as a reader downloads them."""
    text = {column: str for column in KEY + ["period_end", "agency_level"]}
    frames = {name: pd.read_csv(folder / f"{name}.csv", dtype=text) for name in tables}
    agencies = pd.read_csv(folder / "agencies.csv", dtype=str)
    lineage = dict(zip(agencies["agency_code"], agencies["as_is_agency_code"].fillna(agencies["agency_code"])))
    return frames, lineage, read_rules(pd.read_csv(folder / "kpi_score_rules.csv", dtype={"item_code": str}))


def item_points(rate: float, rule: Rule) -> float:
    """The 766 item formula (NaN without a rate)."""
    return rate if math.isnan(rate) else rule.max_points if rate >= rule.threshold else rate / rule.threshold * rule.max_points


def attack(frames: dict[str, pd.DataFrame], lineage: dict[str, str], rules: list[Rule],
           together: bool = False) -> list[Recovered]:
    """Every hidden dossier count the published cells of `frames` (one key) determine. The sums are
    solved row by row and one total at a time, or all `together` (a stronger reader, dense:
    for small releases)."""
    facts, hidden = read_cells(frames)
    columns = {c for _, c in facts} | {c for _, c in hidden}
    rows = sorted({r for r, _ in facts} | {r for r, _ in hidden})
    ratios = ratio_columns(columns)
    identities = row_identities(rows, columns, rules) + cross_row_identities(rows, columns, facts, lineage, ratios)
    how: dict[tuple, str] = {}
    while True:
        new = {}
        for found in (from_ratios(facts, rows, ratios), from_items(facts, rows, rules, ratios),
                      from_points_possible(facts, rows, rules, ratios), solve_sums(identities, facts, together)):
            for cell, value, text, sources in found:
                if cell not in facts and cell not in new and (value := accepted(cell[1], value, ratios)) is not None:
                    new[cell] = (value, explain(text, sources, how))
        if not new:
            break
        for cell, (value, text) in new.items():
            facts[cell], how[cell] = value, text
    counts = [cell for cell in hidden if is_count(cell[1], ratios) and cell in facts]
    return [Recovered(row, column, facts[(row, column)], how[(row, column)]) for row, column in sorted(counts)]


def read_cells(frames: dict[str, pd.DataFrame]) -> tuple[dict, dict]:
    """Published values by (row key, column), NaN for "no value"; and the hidden cells' status.
    A column name is one figure across the tables of a key."""
    facts, hidden = {}, {}
    for frame in frames.values():
        keys = [tuple(str(v) for v in row) for row in frame[KEY].itertuples(index=False)]
        for column in frame.columns:
            if column in KEY or not is_measure(frame[column]):
                continue
            status = frame[column + STATUS_SUFFIX] if column + STATUS_SUFFIX in frame else [PUBLISHED] * len(frame)
            for row, value, state in zip(keys, frame[column], status):
                if state in (PUBLISHED, NOT_APPLICABLE):
                    facts[(row, column)] = float(value) if pd.notna(value) else math.nan
                else:
                    hidden[(row, column)] = state
    return facts, {cell: state for cell, state in hidden.items() if cell not in facts}


def is_measure(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def ratio_columns(columns: set[str]) -> dict[str, tuple[str, str]]:
    """rate → (numerator, denominator), as the column docs define them."""
    ratios = {c: b for c, b in BASIS.items() if c.endswith("_rate") and c != "score_rate" and len(b) == 2}
    ratios["mean_handling_working_days"] = ("handling_working_days_total", "completed")
    ratios["score_rate"] = ("points_total", "points_possible")
    for column in columns:
        stem = column.removesuffix("_rate")
        if column.endswith("_rate") and f"{stem}_numerator" in columns:
            ratios[column] = (f"{stem}_numerator", f"{stem}_denominator")
    return {rate: pair for rate, pair in ratios.items() if {rate, *pair} <= columns}


def is_count(column: str, ratios) -> bool:
    derived = set(ratios) | set(SUMMED) | {"points_possible", "agency_days_reported"}
    return column not in derived and not column.startswith(("points_", "item ", "rank"))


def accepted(column: str, value: float, ratios) -> float | None:
    """A count must be a whole number ≥ 0: anything else was not determined."""
    if not is_count(column, ratios):
        return value
    if math.isnan(value):
        return None
    whole = round(value)
    return float(whole) if whole >= 0 and abs(value - whole) < TOLERANCE * max(1, abs(value)) else None


def from_ratios(facts, rows, ratios):
    """rate = num / den, solved for whichever of the three is missing."""
    for row, (rate, (num, den)) in itertools.product(rows, ratios.items()):
        r, n, d = ((row, c) for c in (rate, num, den))
        if r not in facts and n in facts and d in facts:
            yield r, (facts[n] / facts[d] if facts[d] else math.nan), f"{num} / {den}", (n, d)
        elif r in facts and math.isnan(facts[r]) and d not in facts:
            yield d, 0.0, f"{rate} has no value", (r,)
        elif r in facts and not math.isnan(facts[r]):
            if n not in facts and d in facts:
                yield n, facts[r] * facts[d], f"{rate} × {den}", (r, d)
            elif d not in facts and n in facts and facts[r] > 0:
                yield d, facts[n] / facts[r], f"{num} / {rate}", (n, r)


def from_items(facts, rows, rules, ratios):
    """An item's points from its rate; its rate back from points below max."""
    for row, rule in itertools.product(rows, rules):
        rate, item, group = (row, rule.metric), (row, rule.item), (row, f"points_{rule.group}")
        den = (row, ratios[rule.metric][1]) if rule.metric in ratios else None
        if rate in facts and item not in facts:
            yield item, item_points(facts[rate], rule), f"{rule.item} from {rule.metric}", (rate,)
        elif group in facts and math.isnan(facts[group]) and item not in facts:
            yield item, math.nan, f"points_{rule.group} has no value", (group,)
        elif item in facts and rate not in facts and facts[item] < rule.max_points - TOLERANCE:
            if facts[item] > TOLERANCE or (den in facts and facts[den] > 0):
                yield rate, facts[item] * rule.threshold / rule.max_points, f"{rule.item} points below max", (item,)


def from_points_possible(facts, rows, rules, ratios):
    """points_possible = Σ max over the items with a rate: when one set of items fits, the others
    have no rate, so their denominator is 0."""
    for row in rows:
        possible = facts.get((row, "points_possible"))
        if possible is None or math.isnan(possible):
            continue
        open_ = [rule for rule in rules if (row, rule.metric) not in facts]
        rest = possible - sum(rule.max_points for rule in rules if not math.isnan(facts.get((row, rule.metric), math.nan)))
        fits = [s for k in range(len(open_) + 1) for s in itertools.combinations(open_, k)
                if abs(sum(r.max_points for r in s) - rest) < TOLERANCE]
        for rule in open_:
            if fits and all(rule not in s for s in fits) and rule.metric in ratios:
                yield (row, ratios[rule.metric][1]), 0.0, f"points_possible = {possible:g} leaves {rule.item} out", ((row, "points_possible"),)


def row_identities(rows, columns, rules) -> list[tuple[str, tuple, list[tuple]]]:
    """(label, total cell, part cells) within each row: the count sums and the point sums."""
    groups = {f"points_{g}": [r.item for r in rules if r.group == g] for g in dict.fromkeys(r.group for r in rules)}
    sums = [(t, list(p)) for t, p in EQUATIONS if {t, *p} <= columns]
    sums += [(g, items) for g, items in groups.items() if g in columns]
    if "points_total" in columns:
        sums.append(("points_total", [r.item for r in rules]))
    return [(f"{total} = {' + '.join(parts)}", (row, total), [(row, p) for p in parts])
            for row in rows for total, parts in sums]


def cross_row_identities(rows, columns, facts, lineage, ratios) -> list[tuple[str, tuple, list[tuple]]]:
    """The national row, a month, an agency "as is": each a sum of rows, for the columns it sums
    (a column is dropped where a fully published group contradicts the sum)."""
    additive = sorted(c for c in columns if (is_count(c, ratios) and c not in ratios) or c in SUMMED)
    found = []
    for name, total, parts in row_groups(rows, lineage):
        for column in additive:
            if name == "month" and NOT_FLOWS.match(column):
                continue
            found.append((name, column, (total, column), [(p, column) for p in parts]))
    broken = {(n, c) for n, c, t, p in found if contradicted(facts, t, p)}
    return [(f"{c}: {n} total", t, p) for n, c, t, p in found if (n, c) not in broken]


def row_groups(rows, lineage):
    """(relation, total row, part rows) for every total a reader knows of."""
    by = pd.DataFrame(rows, columns=KEY)
    by["month"] = by["period_start"].str[:7]
    by["as_is"] = [lineage.get(code, code) for code in by["agency_code"]]
    for _, group in by.groupby(["period", "period_start", "geography"]):
        national = group[group["agency_code"] == NATIONAL_CODE]
        for total in national.itertuples(index=False):
            yield "national", tuple(total[:4]), [tuple(r[:4]) for r in group.itertuples(index=False) if r.agency_code != NATIONAL_CODE]
    for _, group in by.groupby(["geography", "agency_code", "month"]):
        for total in group[group["period"] == "month"].itertuples(index=False):
            yield "month", tuple(total[:4]), [tuple(r[:4]) for r in group.itertuples(index=False) if r.period == "day"]
    for _, group in by.groupby(["period", "period_start"]):
        for total in group[group["geography"] == "as_is"].itertuples(index=False):
            parts = [tuple(r[:4]) for r in group.itertuples(index=False) if r.geography == "as_was" and r.as_is == total.agency_code]
            if parts:
                yield "as_is", tuple(total[:4]), parts


def contradicted(facts, total, parts) -> bool:
    cells = [total, *parts]
    if not all(c in facts for c in cells):
        return False
    values = np.nan_to_num([facts[c] for c in cells])
    return abs(values[0] - values[1:].sum()) > TOLERANCE * max(1, abs(values[0]))


def solve_sums(identities, facts, together: bool):
    """All sums at once, or each row's sums together and each total across rows alone."""
    if together:
        yield from solve_linear(identities, facts)
        return
    by_row: dict[object, list] = {}
    for number, identity in enumerate(identities):
        rows = {cell[0] for cell in (identity[1], *identity[2])}
        by_row.setdefault(rows.pop() if len(rows) == 1 else number, []).append(identity)
    for group in by_row.values():
        yield from solve_linear(group, facts)


def solve_linear(identities, facts):
    """Cells that all the sums together determine: unknown j is fixed iff no vector of the null
    space of the unknowns' matrix moves it. A cell with no value counts as 0 in a sum."""
    unknown = sorted({c for _, t, p in identities for c in (t, *p) if c not in facts})
    if not unknown:
        return
    index = {c: j for j, c in enumerate(unknown)}
    matrix = np.zeros((len(identities), len(unknown)))
    rhs = np.zeros(len(identities))
    for i, (_, total, parts) in enumerate(identities):
        for cell, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
            if cell in facts:
                rhs[i] -= sign * np.nan_to_num(facts[cell])
            else:
                matrix[i, index[cell]] += sign
    used = matrix.any(axis=1)
    matrix, rhs, labels = matrix[used], rhs[used], [identities[i] for i in np.flatnonzero(used)]
    if not len(matrix):
        return
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9 * max(1.0, singular.max(initial=0))).sum())
    free = vt[rank:]
    solution = np.linalg.lstsq(matrix, rhs, rcond=None)[0]
    for cell, j in index.items():
        if (not len(free) or np.abs(free[:, j]).max() < 1e-9) and matrix[:, j].any():
            involved = [(label, t, p) for (label, t, p), row in zip(labels, matrix) if row[j]]
            sources = [c for _, t, p in involved for c in (t, *p) if c in facts]
            yield cell, float(solution[j]), "sums: " + "; ".join(dict.fromkeys(label for label, _, _ in involved)), sources


def explain(text: str, sources, how: dict) -> str:
    """A step and, behind it, how the cells it used were worked out (published ones need none)."""
    behind = list(dict.fromkeys(how[s] for s in sources if s in how))
    text += "".join(f" ← [{b}]" for b in behind)
    return text if len(text) < 600 else text[:600] + "…"
