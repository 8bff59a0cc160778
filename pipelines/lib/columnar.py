"""Parse a page of dossier records by column: one pass per field over the page, not one
function call per field per record.

The record parser (`payload.parse_dossier`) says what a record means; this module computes the
same rows for a whole page at column speed. Each field has a decoder for the formats agencies
send: timestamps parsed by Arrow and kept only when they format back to the text received,
low-cardinality values (status, channel, applicant type, fees, units, ID numbers) decoded once
per distinct value by the record parser's own functions. A record any decoder cannot settle (a
value out of format, a bad value, field names in mixed casing) is handed whole to the record
parser, which reads it or names its reason. `tests/test_payload.py` holds the two to the same
rows.
"""

from __future__ import annotations

import hmac
from typing import Any, Callable, Iterable

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.lib.payload import (
    DOSSIER_SCHEMA,
    REQUIRED_FIELDS,
    PayloadError,
    Rejected,
    _applicant_type,
    _int,
    parse_dossier,
)
from pipelines.lib.pii import strip_personal_data

_COMPACT, _ISO = "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S"
_UNSET = object()


def parse_records(
    records: Iterable, agency_code: str, day, hash_key: bytes, seen: set[tuple[str | None, str]] | None = None
) -> tuple[pa.Table, list[Rejected]]:
    """Split a page's records into landed rows (DOSSIER_SCHEMA, in the page's order) and rejects.

    A second copy of a (dossier, version) already seen in the window is rejected as a
    duplicate, so that every record the source sent is accounted for exactly once; `seen`
    carries the window's keys from page to page. The key is the version as sent (MaHoSo,
    NgayCapNhat), before parsing: a repeated copy of a record too broken to parse is still a
    duplicate, not a second broken record.
    """
    seen = set() if seen is None else seen
    rejected: list[tuple[int, Rejected]] = []
    candidates: list[tuple[int, dict]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            rejected.append((index, Rejected(None, "record is not an object", {"value": str(record)[:200]})))
            continue
        code = _code_of(record)
        key = (code, str(record.get("NgayCapNhat", record.get("ngayCapNhat"))))
        if code is not None and key in seen:
            rejected.append((index, Rejected(code, "duplicate: this dossier version was already received in the "
                                                   "window", strip_personal_data(record, hash_key))))
            continue
        seen.add(key)
        candidates.append((index, record))
    fast_at, fast, unsettled = _by_column(candidates, agency_code, day, hash_key)
    slow_at, slow_rows = [], []
    for index, record in unsettled:
        try:
            slow_rows.append(parse_dossier(record, agency_code, day, hash_key))
            slow_at.append(index)
        except PayloadError as exc:
            rejected.append((index, Rejected(_code_of(record), f"unparseable: {exc}",
                                             strip_personal_data(record, hash_key))))
    table = fast
    if slow_rows:
        table = pa.concat_tables([fast, pa.Table.from_pylist(slow_rows, schema=DOSSIER_SCHEMA)])
        table = table.take(np.argsort(np.array(fast_at + slow_at), kind="stable"))
    rejected.sort(key=lambda item: item[0])
    return table, [r for _, r in rejected]


def _code_of(record: dict) -> str | None:
    code = record.get("MaHoSo", record.get("maHoSo"))
    return None if code in (None, "") else str(code)


def _by_column(candidates: list[tuple[int, dict]], agency_code: str, day, hash_key: bytes):
    """(page positions, rows) of the records every decoder settled, and the (position, record)
    of the others."""
    shapes: dict[tuple, str | None] = {}
    styles = [_style(record, shapes) for _, record in candidates]
    style = next((s for s in styles if s is not None), None)
    group = [c for c, s in zip(candidates, styles) if s == style and s is not None]
    unsettled = [c for c, s in zip(candidates, styles) if s != style or s is None]
    if not group:
        return [], DOSSIER_SCHEMA.empty_table(), unsettled
    records = [record for _, record in group]
    name = (lambda field: field[:1].lower() + field[1:]) if style == "camel" else (lambda field: field)

    def column(field: str) -> list:
        key = name(field)
        return [record.get(key) for record in records]

    page = _Page(len(records))
    for field in REQUIRED_FIELDS:
        page.require([v is not None and v != "" for v in column(field)])
    page.require([v is None or v == "" or v == agency_code for v in column("MaDonVi")])
    fees = page.items(column("DanhSachLePhi"), style)
    results = page.items(column("DanhSachGiayToKetQua"), style)
    supplements = page.items(column("DanhSachHoSoBoSung"), style)
    history = page.items(column("QuaTrinhXuLy"), style)
    top_level = ("NgayCapNhat", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra")
    *times, extended, step_at = page.timestamps(
        [(column(field), None) for field in top_level]
        + [(supplements.field("NgayHenTraMoi", name), supplements.parents),
           (history.field("ThoiDiem", name), history.parents)])
    times = dict(zip(top_level, times))
    step_status = page.by_value(history.field("TrangThai", name), history.parents,
                                lambda v: orjson.dumps(_int(v, "QuaTrinhXuLy.TrangThai")).decode())
    step_unit = page.by_value(history.field("DonViXuLy", name), history.parents, lambda v: orjson.dumps(v).decode())
    fee_amounts = page.by_value(fees.field("Gia", name), fees.parents,
                                lambda v: _int(v, "DanhSachLePhi.Gia", default=0, limit=10**15))
    hasher = hmac.new(hash_key, digestmod="sha256")
    columns = {
        "agency_code": pa.repeat(pa.scalar(agency_code, pa.string()), len(records)),
        "day": pa.repeat(pa.scalar(day, pa.date32()), len(records)),
        "dossier_code": page.codes(column("MaHoSo")),
        "procedure_code": page.codes(column("MaTTHC")),
        "updated_at": times["NgayCapNhat"],
        "submitted_at": times["NgayNopHoSo"],
        "accepted_at": times["NgayTiepNhan"],
        "due_at": times["NgayHenTra"],
        "extended_due_at": _last_per_parent(extended, supplements.parents, len(records)),
        "ended_at": times["NgayKetThucXuLy"],
        "returned_at": times["NgayTra"],
        "status": page.by_value(column("TrangThaiHoSo"), None, lambda v: _int(v, "TrangThaiHoSo")),
        "channel": page.by_value(column("KenhThucHien"), None, lambda v: _int(v, "KenhThucHien", default=1)),
        "applicant_type": page.by_value(column("LoaiDoiTuong"), None, _applicant_type),
        "applicant_id_hash": page.by_value(column("MaDoiTuong"), None, lambda v: _hashed(v, hasher)),
        "fee_count": fees.lengths,
        "fee_amount_vnd": _sum_per_parent(fee_amounts, fees.offsets),
        "online_payment": page.by_value(column("DuocThanhToanTrucTuyen"), None,
                                        lambda v: _int(v, "DuocThanhToanTrucTuyen", default=0)),
        "result_document_count": results.lengths,
        "has_electronic_result": _sum_per_parent([bool(v) for v in results.field("DuongDanTepTin", name)],
                                                 results.offsets) > 0,
        "supplement_count": supplements.lengths,
        "status_history": _history_json(step_status, step_at, step_unit, history.offsets),
    }
    table = pa.table({f.name: _typed(columns[f.name], f.type) for f in DOSSIER_SCHEMA}, schema=DOSSIER_SCHEMA)
    settled = page.settled
    positions = [index for (index, _), ok in zip(group, settled) if ok]
    unsettled += [c for c, ok in zip(group, settled) if not ok]
    unsettled.sort(key=lambda c: c[0])
    return positions, table.filter(pa.array(settled)), unsettled


def _typed(values, type_: pa.DataType) -> pa.Array:
    return values.cast(type_) if isinstance(values, pa.Array) else pa.array(values, type_)


def _style(record: dict, known: dict[tuple, str | None]) -> str | None:
    """How the record's field names are cased: 'pascal' (the contract's, read as they are),
    'camel' (every name camelCase: read under the camelCase names), None (mixed). Records of
    one source share one shape (`known`: style by shape)."""
    shape = tuple(record)
    if shape not in known:
        known[shape] = _style_of(shape)
    return known[shape]


def _style_of(shape: tuple) -> str | None:
    lower = [isinstance(k, str) and k[:1].islower() for k in shape]
    if not any(lower):
        return "pascal" if all(isinstance(k, str) for k in shape) else None
    if all(lower) and all(k.isascii() for k in shape):
        return "camel"
    return None


class _Items:
    """The objects of one list field, flattened over the page: each one's record (`parents`),
    and each record's count (`lengths`) and start (`offsets`)."""

    def __init__(self, objects: list[dict], parents: np.ndarray, lengths: np.ndarray):
        self.objects, self.parents, self.lengths = objects, parents, lengths
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])

    def field(self, field: str, name: Callable[[str], str]) -> list:
        key = name(field)
        return [o.get(key) for o in self.objects]


class _Page:
    """The records of one page being decoded, and which of them every decoder has settled."""

    def __init__(self, size: int):
        self.size = size
        self.settled = np.ones(size, dtype=bool)

    def require(self, ok: list[bool] | np.ndarray, parents: np.ndarray | None = None) -> None:
        """Mark unsettled the records (or, with `parents`, the records of the list items) not ok."""
        ok = np.asarray(ok, dtype=bool)
        if parents is None:
            self.settled &= ok
        elif not ok.all():
            self.settled[parents[~ok]] = False

    def items(self, values: list, style: str) -> _Items:
        """A list field: a JSON list (CSV cells: JSON text) of objects whose names are cased as
        the record's; anything else unsettles the record."""
        objects: list[dict] = []
        lengths = np.zeros(self.size, dtype=np.int64)
        parents: list[int] = []
        shapes: dict[tuple, str | None] = {}
        for row, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                try:
                    value = orjson.loads(value)
                except orjson.JSONDecodeError:
                    value = None
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                self.settled[row] = False
                continue
            if any(_style(obj, shapes) != style and obj for obj in value):
                self.settled[row] = False
            objects.extend(value)
            parents.extend([row] * len(value))
            lengths[row] = len(value)
        return _Items(objects, np.array(parents, dtype=np.int64), lengths)

    def codes(self, values: list) -> list:
        """A code as sent: text with no surrounding space (anything else: the record parser)."""
        ok = [isinstance(v, str) and v.strip() == v for v in values]
        self.require(ok)
        return [v if fine else None for v, fine in zip(values, ok)]

    def timestamps(self, columns: list[tuple[list, np.ndarray | None]]) -> list[pa.Array]:
        """`yyyyMMddHHmmss` or ISO 8601 `yyyy-MM-ddTHH:mm:ss` text; null or empty is null. Kept
        only where Arrow's parse, written back, is the text received (no rolled-over dates).
        The columns (each with its items' records, or None for the records' own fields) are
        parsed as one array: Arrow's cost is per call as much as per value."""
        values = [v for column, _ in columns for v in column]
        parents = np.concatenate([np.arange(self.size) if of is None else of for _, of in columns] or [[]])
        text = pa.array([v if isinstance(v, str) and v != "" else None for v in values], pa.string())
        ok = np.array([v is None or v == "" for v in values], dtype=bool)
        parsed = []
        for fmt, written_as in ((_COMPACT, _compact_text), (_ISO, _iso_text)):
            times = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
            exact = pc.and_(pc.equal(written_as(times), text), pc.greater_equal(pc.year(times), 1))
            exact = exact.fill_null(False)
            ok |= exact.to_numpy(zero_copy_only=False)
            parsed.append(pc.if_else(exact, times, None))
        self.require(ok, parents.astype(np.int64))
        times = pc.coalesce(*parsed)
        starts = np.cumsum([0] + [len(column) for column, _ in columns])
        return [times.slice(start, end - start) for start, end in zip(starts[:-1], starts[1:])]

    def by_value(self, values: list, parents: np.ndarray | None, decode: Callable[[Any], Any]) -> list:
        """`decode` once per distinct value (by type and value: 1, 1.0 and True differ); a value it
        refuses, or one that cannot be a key (a list, an object), unsettles the record."""
        decoded: dict = {}
        out = []
        ok = np.ones(len(values), dtype=bool)
        for position, value in enumerate(values):
            try:
                key = (value.__class__, value)
                result = decoded.get(key, _UNSET)
            except TypeError:
                ok[position] = False
                out.append(None)
                continue
            if result is _UNSET:
                try:
                    result = decode(value)
                except PayloadError:
                    result = _REFUSED
                decoded[key] = result
            if result is _REFUSED:
                ok[position] = False
                result = None
            out.append(result)
        self.require(ok, parents)
        return out


_REFUSED = object()


def _iso_text(times: pa.Array) -> pa.Array:
    """`2025-03-04T08:15:00`, as `datetime.isoformat` writes it (Arrow's cast puts a space)."""
    return pc.replace_substring(times.cast(pa.string()), " ", "T")


def _compact_text(times: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(times.cast(pa.string()), "[-: ]", "")


def _hashed(value: Any, hasher) -> str | None:
    """`pii.hash_personal_id`, from a keyed HMAC state copied instead of keyed again per value."""
    if value in (None, ""):
        return None
    h = hasher.copy()
    h.update(str(value).strip().encode())
    return h.hexdigest()


def _sum_per_parent(values: list, offsets: np.ndarray) -> np.ndarray:
    """Each record's sum over its items (None, from a refused value of an unsettled record: 0)."""
    running = np.concatenate([[0], np.cumsum(np.array([v or 0 for v in values], dtype=np.int64))])
    return running[offsets[1:]] - running[offsets[:-1]]


def _last_per_parent(times: pa.Array, parents: np.ndarray, size: int) -> pa.Array:
    """Each record's last non-null time among its items (the latest extension), else null."""
    if len(times) == 0:
        return pa.nulls(size, pa.timestamp("s"))
    last = np.full(size, -1, dtype=np.int64)
    positions = np.flatnonzero(times.is_valid().to_numpy(zero_copy_only=False))
    np.maximum.at(last, parents[positions], positions)
    return times.take(pa.array(np.where(last >= 0, last, 0), mask=last < 0))


def _history_json(status: list, at: pa.Array, unit: list, offsets: np.ndarray) -> pa.Array:
    """The status history as `orjson.dumps([{"status", "at", "unit"}, ...])` writes it, built
    from the page's columns."""
    at_json = pc.if_else(pc.is_valid(at), pc.binary_join_element_wise('"', _iso_text(at), '"', ""),
                         "null")
    steps = pc.binary_join_element_wise('{"status":', pa.array(status, pa.string()), ',"at":', at_json, ',"unit":',
                                        pa.array(unit, pa.string()), "}", "")
    per_record = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), steps)
    return pc.binary_join_element_wise("[", pc.binary_join(per_record, ","), "]", "")
