"""Parse a page of dossier records by column, in Arrow, without a Python object per value.

A JSON page is read by Arrow's JSON reader straight into columns (`read_json_page`; text Arrow
would type as timestamps is read as the text sent, which the decoders check as any other);
other pages (CSV, or JSON Arrow cannot type) arrive as records and are made columns by `pa.array`.
The record parser (`payload.parse_dossier`) says what a record means; the decoders here compute
the same rows for the whole page: timestamps by Arrow's strptime, kept only where they format
back to the text received; low-cardinality values (status, channel, applicant type, fees,
units, ID numbers) decoded once per distinct value by the record parser's own functions. A
record any decoder cannot settle (a value of an unexpected type or format, a bad value) is
handed whole to the record parser, which reads it or names its reason. `tests/test_payload.py`
holds the two to the same rows. Arrow's kernels release the GIL, so the agencies a run pulls
side by side parse on every core.
"""

from __future__ import annotations

import functools
import hmac
import io
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from pipelines.lib.field_names import pascal
from pipelines.lib.payload import (
    CONTRACT_FIELDS,
    DOSSIER_SCHEMA,
    REQUIRED_FIELDS,
    PayloadError,
    Rejected,
    _applicant_type,
    _int,
    parse_dossier,
    schema_drift,
)
from pipelines.lib.pii import strip_personal_data

_COMPACT, _ISO = "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S"
# Value types whose Python values are the ones the record parser would get from the JSON: a
# double could be a JSON integer Arrow widened (1 → 1.0), so it is left to the record parser.
_DECODABLE = (pa.types.is_string, pa.types.is_int64, pa.types.is_boolean, pa.types.is_null)
_BOM = b"\xef\xbb\xbf"


@dataclass
class PageRecords:
    """A page's records as columns (None: not readable as columns) and, decoded only when a
    record must be read alone, as Python objects."""

    columns: pa.StructArray | None
    decode: Callable[[], list]
    body: bytes | None = None
    _records: list | None = field(default=None, repr=False)

    @classmethod
    def of(cls, records: list) -> PageRecords:
        """Records already decoded (CSV rows, tests): columns if Arrow can type them."""
        try:
            columns = pa.array(records) if records else None
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            columns = None
        if columns is not None and not pa.types.is_struct(columns.type):
            columns = None
        return cls(columns, lambda: records)

    @property
    def records(self) -> list:
        if self._records is None:
            self._records = self.decode()
        return self._records

    def __len__(self) -> int:
        return len(self.columns) if self.columns is not None else len(self.records)


def read_json_page(body: bytes) -> tuple[pa.StructArray, int, str | None] | None:
    """(items, total, next page token) of a JSON page as Arrow reads it; None where Arrow
    would read it otherwise than orjson (a byte order mark, NaN, a second object) or cannot
    type it, so that the page is decoded as records instead."""
    if body.startswith(_BOM):
        return None
    try:
        table = _read_json(body)
        if _contains(table.schema.types, pa.types.is_temporal):
            # Arrow types ISO 8601 text as timestamps; read it again as the text orjson gives.
            table = _read_json(body, pa.schema([f.with_type(_times_as_text(f.type)) for f in table.schema]))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if table.num_rows != 1 or _has_floats(table.schema.types) or "items" not in table.column_names:
        return None
    items = table.column("items").combine_chunks()
    if not (pa.types.is_list(items.type) and pa.types.is_struct(items.type.value_type)) or items.null_count:
        return None
    total = table.column("total")[0].as_py() if "total" in table.column_names else None
    token = table.column("next_page_token")[0].as_py() if "next_page_token" in table.column_names else None
    if not isinstance(total, int) or not (token is None or isinstance(token, str)):
        return None
    return items.flatten(), total, token


def _read_json(body: bytes, schema: pa.Schema | None = None) -> pa.Table:
    return pj.read_json(io.BytesIO(body), read_options=pj.ReadOptions(block_size=len(body) + 64),
                        parse_options=pj.ParseOptions(newlines_in_values=True, explicit_schema=schema))


def _times_as_text(t: pa.DataType) -> pa.DataType:
    """`t` with every temporal type inside it read as text instead."""
    if pa.types.is_temporal(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_times_as_text(t.field(i).type)) for i in range(t.num_fields)])
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_times_as_text(t.value_type)))
    return t


def _nested(t: pa.DataType, depth: int = 0):
    """(field name, or None for a list's values; type; depth) of every type inside `t`: a
    struct's fields one level down, a list's values one level down."""
    if pa.types.is_struct(t):
        for i in range(t.num_fields):
            yield t.field(i).name, t.field(i).type, depth + 1
            yield from _nested(t.field(i).type, depth + 1)
    elif pa.types.is_list(t):
        yield None, t.value_type, depth + 1
        yield from _nested(t.value_type, depth + 1)


def _contains(types, test: Callable[[pa.DataType], bool]) -> bool:
    """Whether one of `types`, or a type inside one, passes `test`."""
    return any(test(t) or any(test(inner) for _, inner, _ in _nested(t)) for t in types)


def _has_floats(types) -> bool:
    return _contains(types, lambda t: pa.types.is_floating(t) or pa.types.is_decimal(t))


def page_drift(page: PageRecords) -> tuple[list[str], list[str]]:
    """`payload.schema_drift` of the page, from Arrow's type where that is exact. A field
    without nulls was sent by every record; one with nulls may be missing from some, which the
    body tells when its `"name":` occurs once a record and nowhere nested; otherwise the
    question goes to the decoded records."""
    columns = page.columns
    if columns is None or page.body is None:
        return schema_drift(page.records)
    records = len(columns) - columns.null_count
    objects = columns.filter(columns.is_valid()) if columns.null_count else columns
    nested = {name for name, _, depth in _nested(columns.type) if name is not None and depth > 1}
    for index in range(columns.type.num_fields):
        name = columns.type.field(index).name
        if objects.field(index).null_count and (
                name in nested or page.body.count(f'"{name}":'.encode()) != records):
            return schema_drift(page.records)
    keys = {pascal(columns.type.field(i).name) for i in range(columns.type.num_fields)}
    unknown = sorted(keys - set(CONTRACT_FIELDS))
    missing = sorted(set(CONTRACT_FIELDS) - keys) if records else []
    return unknown, missing


def parse_records(records: list, agency_code: str, day, hash_key: bytes,
                  seen: set[tuple[str | None, str]] | None = None) -> tuple[pa.Table, list[Rejected]]:
    """`parse_page` of records already decoded (CSV rows, tests)."""
    return parse_page(PageRecords.of(records), agency_code, day, hash_key, seen)


def parse_page(page: PageRecords, agency_code: str, day, hash_key: bytes,
               seen: set[tuple[str | None, str]] | None = None) -> tuple[pa.Table, list[Rejected]]:
    """Split a page's records into landed rows (DOSSIER_SCHEMA, in the page's order) and rejects.

    A second copy of a (dossier, version) already seen in the window is rejected as a
    duplicate, so that every record the source sent is accounted for exactly once; `seen`
    carries the window's keys from page to page. The key is the version as sent (MaHoSo,
    NgayCapNhat), before parsing: a repeated copy of a record too broken to parse is still a
    duplicate, not a second broken record.
    """
    seen = set() if seen is None else seen
    columns = page.columns
    style = _style(columns.type) if columns is not None else None
    keys = _version_keys(columns, style) if style else None
    if keys is None:
        return parse_one_by_one(page.records, agency_code, day, hash_key, seen)
    first = np.zeros(len(columns), dtype=bool)
    duplicate = np.zeros(len(columns), dtype=bool)
    valid = columns.is_valid().to_numpy(zero_copy_only=False)
    for row, key in enumerate(keys):
        if not valid[row]:
            continue
        if key[0] is not None and key in seen:
            duplicate[row] = True
        else:
            seen.add(key)
            first[row] = True
    settled = _Decoded(columns, style, agency_code, day, hash_key, first)
    table = settled.table
    rest = np.flatnonzero(~settled.ok)
    rejected: list[tuple[int, Rejected]] = []
    slow_at, slow_rows = [], []
    if len(rest):
        records = page.records
        for row in rest:
            read = _read_alone(records[row], bool(duplicate[row]), agency_code, day, hash_key)
            if isinstance(read, Rejected):
                rejected.append((row, read))
            else:
                slow_rows.append(read)
                slow_at.append(row)
    if slow_rows:
        fast_at = np.flatnonzero(settled.ok)
        table = pa.concat_tables([table, pa.Table.from_pylist(slow_rows, schema=DOSSIER_SCHEMA)])
        table = table.take(np.argsort(np.concatenate([fast_at, slow_at]), kind="stable"))
    rejected.sort(key=lambda item: item[0])
    return table, [r for _, r in rejected]


def parse_one_by_one(records: list, agency_code: str, day, hash_key: bytes,
                     seen: set | None = None) -> tuple[pa.Table, list[Rejected]]:
    """The page as `parse_dossier` reads it, one record at a time: what a page Arrow cannot
    type gets, and what the columns must equal (tests/test_payload.py)."""
    seen = set() if seen is None else seen
    rows, rejected = [], []
    for record in records:
        duplicate = False
        if isinstance(record, dict):
            key = (_code_of(record), str(record.get("NgayCapNhat", record.get("ngayCapNhat"))))
            duplicate = key[0] is not None and key in seen
            if not duplicate:
                seen.add(key)
        read = _read_alone(record, duplicate, agency_code, day, hash_key)
        (rejected if isinstance(read, Rejected) else rows).append(read)
    return pa.Table.from_pylist(rows, schema=DOSSIER_SCHEMA), rejected


def _read_alone(record: Any, duplicate: bool, agency_code: str, day, hash_key: bytes) -> dict | Rejected:
    """One record as the record parser reads it, or why it is rejected (personal data removed)."""
    if not isinstance(record, dict):
        return Rejected(None, "record is not an object", {"value": str(record)[:200]})
    if duplicate:
        return Rejected(_code_of(record), "duplicate: this dossier version was already received in the window",
                        strip_personal_data(record, hash_key))
    try:
        return parse_dossier(record, agency_code, day, hash_key)
    except PayloadError as exc:
        return Rejected(_code_of(record), f"unparseable: {exc}", strip_personal_data(record, hash_key))


def _code_of(record: dict) -> str | None:
    code = record.get("MaHoSo", record.get("maHoSo"))
    return None if code in (None, "") else str(code)


def _version_keys(columns: pa.StructArray, style: str) -> list[tuple] | None:
    """Each record's (MaHoSo, NgayCapNhat) as the record parser keys it; None where a type
    would print otherwise than the decoded value (a double)."""
    codes, updated = (_child(columns, _name("MaHoSo", style)), _child(columns, _name("NgayCapNhat", style)))
    if not all(_decodable(a.type) for a in (codes, updated)):
        return None
    codes_py = [None if c in (None, "") else str(c) for c in codes.to_pylist()]
    return list(zip(codes_py, map(str, updated.to_pylist())))


def _style(struct: pa.DataType) -> str | None:
    """How the page's field names are cased, at every level: 'pascal' (the contract's),
    'camel' (every name camelCase, ASCII), or None (mixed: the records are read alone)."""
    names = [name for name, _, _ in _nested(struct) if name is not None]
    lower = [n[:1].islower() for n in names]
    if not any(lower):
        return "pascal"
    if all(lower) and all(n.isascii() for n in names):
        return "camel"
    return None


def _name(field_name: str, style: str) -> str:
    return field_name[:1].lower() + field_name[1:] if style == "camel" else field_name


def _child(struct: pa.StructArray, name: str) -> pa.Array:
    index = struct.type.get_field_index(name)
    return struct.field(index) if index >= 0 else pa.nulls(len(struct))


@functools.cache
def _edge_space() -> str:
    """A pattern for what Python's str.strip removes at either end of a code: a code with one
    is not read as sent. Built on first use (scanning every code point is a tenth of a second)."""
    space = "".join("\\x{%x}" % c for c in range(0x110000) if chr(c).isspace())
    return f"^[{space}]|[{space}]$"


def _decodable(t: pa.DataType) -> bool:
    return any(test(t) for test in _DECODABLE)


_REFUSED = object()


class _Decoded:
    """The page's rows as the decoders read them, and which of them every decoder settled
    (`ok`); the rows of records not ok are placeholders, replaced by the record parser's."""

    def __init__(self, columns: pa.StructArray, style: str, agency_code: str, day, hash_key: bytes,
                 candidates: np.ndarray):
        self.size, self.style = len(columns), style
        self.ok = candidates.copy()
        column = lambda name: _child(columns, _name(name, style))  # noqa: E731
        for name in REQUIRED_FIELDS:
            values = column(name)
            present = values.is_valid()
            if pa.types.is_string(values.type):
                present = pc.and_(present, pc.not_equal(values, ""))
            self.require(present.to_numpy(zero_copy_only=False))
        source_agency = column("MaDonVi")
        if pa.types.is_string(source_agency.type):
            self.require(pc.or_(source_agency.is_null(), pc.is_in(source_agency, pa.array(["", agency_code])))
                         .to_numpy(zero_copy_only=False))
        else:
            self.require(source_agency.is_null())
        fees = self.items(column("DanhSachLePhi"))
        results = self.items(column("DanhSachGiayToKetQua"))
        supplements = self.items(column("DanhSachHoSoBoSung"))
        history = self.items(column("QuaTrinhXuLy"))
        top_level = ("NgayCapNhat", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra")
        times = {name: self.timestamps(column(name)) for name in top_level}
        extended = self.timestamps(supplements.child("NgayHenTraMoi"), supplements.parents)
        step_at = self.timestamps(history.child("ThoiDiem"), history.parents)
        step_status = self.by_value(history.child("TrangThai"), history.parents,
                                    lambda v: orjson.dumps(_int(v, "QuaTrinhXuLy.TrangThai")).decode())
        step_unit = self.by_value(history.child("DonViXuLy"), history.parents,
                                  lambda v: orjson.dumps(v).decode())
        fee_amounts = self.by_value(fees.child("Gia"), fees.parents,
                                    lambda v: _int(v, "DanhSachLePhi.Gia", default=0, limit=10**15))
        electronic = self.by_value(results.child("DuongDanTepTin"), results.parents, bool)
        electronic = electronic.cast(pa.int64())
        hasher = hmac.new(hash_key, digestmod="sha256")
        size = self.size
        arrays = {
            "agency_code": pa.repeat(pa.scalar(agency_code, pa.string()), size),
            "day": pa.repeat(pa.scalar(day, pa.date32()), size),
            "dossier_code": self.code(column("MaHoSo")),
            "procedure_code": self.code(column("MaTTHC")),
            "updated_at": times["NgayCapNhat"],
            "submitted_at": times["NgayNopHoSo"],
            "accepted_at": times["NgayTiepNhan"],
            "due_at": times["NgayHenTra"],
            "extended_due_at": _last_per_parent(extended, supplements.parents, size),
            "ended_at": times["NgayKetThucXuLy"],
            "returned_at": times["NgayTra"],
            "status": self.by_value(column("TrangThaiHoSo"), None, lambda v: _int(v, "TrangThaiHoSo")),
            "channel": self.by_value(column("KenhThucHien"), None, lambda v: _int(v, "KenhThucHien", default=1)),
            "applicant_type": self.by_value(column("LoaiDoiTuong"), None, _applicant_type),
            "applicant_id_hash": self.by_value(column("MaDoiTuong"), None, lambda v: _hashed(v, hasher)),
            "fee_count": fees.lengths,
            "fee_amount_vnd": _sum_per_parent(fee_amounts, fees.offsets),
            "online_payment": self.by_value(column("DuocThanhToanTrucTuyen"), None,
                                            lambda v: _int(v, "DuocThanhToanTrucTuyen", default=0)),
            "result_document_count": results.lengths,
            "has_electronic_result": _sum_per_parent(electronic, results.offsets) > 0,
            "supplement_count": supplements.lengths,
            "status_history": _history_json(step_status, step_at, step_unit, history.offsets),
        }
        table = pa.table({f.name: _typed(arrays[f.name], f.type) for f in DOSSIER_SCHEMA}, schema=DOSSIER_SCHEMA)
        self.table = table.filter(pa.array(self.ok))

    def require(self, ok: np.ndarray, parents: np.ndarray | None = None) -> None:
        """Unsettle the records (or, with `parents`, the records of the list items) not ok."""
        ok = np.asarray(ok, dtype=bool)
        if parents is None:
            self.ok &= ok
        elif not ok.all():
            self.ok[parents[~ok]] = False

    def items(self, values: pa.Array) -> _Items:
        """A list field: a list of objects (CSV cells: JSON text of one); anything else, or
        an object of another casing, unsettles the record."""
        if pa.types.is_string(values.type):
            values = self.json_cells(values)
        lengths = pc.fill_null(pc.list_value_length(values), 0) if pa.types.is_list(values.type) else None
        if lengths is None or not pa.types.is_struct(values.type.value_type):
            empty = values.is_null() if lengths is None else pc.equal(lengths, 0)
            self.require(empty.to_numpy(zero_copy_only=False))
            return _Items(pa.array([], pa.struct([])), np.zeros(self.size, dtype=np.int64), self.style)
        flat = values.flatten()
        parents = pc.list_parent_indices(values).to_numpy(zero_copy_only=False).astype(np.int64)
        self.require(flat.is_valid().to_numpy(zero_copy_only=False), parents)
        return _Items(flat, lengths.to_numpy(zero_copy_only=False).astype(np.int64), self.style, parents)

    def json_cells(self, cells: pa.Array) -> pa.Array:
        """CSV cells of JSON text read as Arrow would read the same JSON in a page."""
        text = pc.if_else(pc.equal(cells, ""), None, cells)
        if text.null_count == len(text):
            return pa.nulls(len(text))
        lines = pc.binary_join_element_wise('{"v":', pc.fill_null(text, "null"), "}", "")
        body = "\n".join(lines.to_pylist()).encode()
        try:
            read = pj.read_json(io.BytesIO(body), read_options=pj.ReadOptions(block_size=len(body) + 64))
        except (pa.ArrowInvalid, UnicodeDecodeError):
            read = None
        if read is None or read.num_rows != len(text) or _has_floats(read.schema.types):
            self.require(text.is_null().to_numpy(zero_copy_only=False))
            return pa.nulls(len(text))
        return read.column("v").combine_chunks()

    def code(self, values: pa.Array) -> pa.Array:
        """A code as sent: text with no space at either end (anything else: the record parser)."""
        if not pa.types.is_string(values.type):
            self.require(np.zeros(self.size, dtype=bool))
            return pa.nulls(self.size, pa.string())
        self.require(pc.invert(pc.fill_null(pc.match_substring_regex(values, _edge_space()), False))
                     .to_numpy(zero_copy_only=False))
        return values

    def timestamps(self, values: pa.Array, parents: np.ndarray | None = None) -> pa.Array:
        """`yyyyMMddHHmmss` or ISO 8601 `yyyy-MM-ddTHH:mm:ss` text; null or empty is null. Kept
        only where Arrow's parse, written back, is the text received (no rolled-over dates)."""
        if not pa.types.is_string(values.type):
            self.require(values.is_null().to_numpy(zero_copy_only=False), parents)
            return pa.nulls(len(values), pa.timestamp("s"))
        text = pc.if_else(pc.equal(values, ""), None, values)
        ok = text.is_null()
        parsed = []
        for fmt, written_as in ((_COMPACT, _compact_text), (_ISO, _iso_text)):
            if pc.all(ok).as_py():  # a source writes one format: the second is seldom needed
                break
            times = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
            exact = pc.fill_null(pc.and_(pc.equal(written_as(times), text), pc.greater_equal(pc.year(times), 1)),
                                 False)
            ok = pc.or_(ok, exact)
            parsed.append(pc.if_else(exact, times, None))
        self.require(ok.to_numpy(zero_copy_only=False), parents)
        if not parsed:
            return pa.nulls(len(values), pa.timestamp("s"))
        return pc.coalesce(*parsed)

    def by_value(self, values: pa.Array, parents: np.ndarray | None, decode: Callable[[Any], Any]) -> pa.Array:
        """`decode` once per distinct value; a value it refuses, or of a type whose values are
        not the decoded JSON's, unsettles the record."""
        if not _decodable(values.type):
            self.require(values.is_null().to_numpy(zero_copy_only=False), parents)
            values = pa.nulls(len(values))
        encoded = values.dictionary_encode()
        results = []
        for value in encoded.dictionary.to_pylist():
            try:
                results.append(decode(value))
            except PayloadError:
                results.append(_REFUSED)
        if values.null_count:
            try:
                results.append(decode(None))
            except PayloadError:
                results.append(_REFUSED)
        indices = pc.fill_null(encoded.indices, len(results) - 1).to_numpy(zero_copy_only=False)
        refused = np.array([r is _REFUSED for r in results] + [False], dtype=bool)
        self.require(~refused[indices], parents)
        decoded = pa.array([None if r is _REFUSED else r for r in results])
        return decoded.take(pa.array(indices)) if len(decoded) else pa.nulls(len(values))


class _Items:
    """The objects of one list field, flattened over the page: each one's record (`parents`),
    and each record's count (`lengths`) and start (`offsets`)."""

    def __init__(self, objects: pa.Array, lengths: np.ndarray, style: str, parents: np.ndarray | None = None):
        self.objects, self.lengths, self.style = objects, lengths, style
        self.parents = parents if parents is not None else np.zeros(0, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])

    def child(self, name: str) -> pa.Array:
        return _child(self.objects, _name(name, self.style)) if len(self.objects) else pa.nulls(0)


def _typed(values, type_: pa.DataType) -> pa.Array:
    return values.cast(type_) if isinstance(values, pa.Array) else pa.array(values, type_)


def _iso_text(times: pa.Array) -> pa.Array:
    """`2025-03-04T08:15:00`, as `datetime.isoformat` writes it (Arrow's cast puts a space)."""
    return pc.replace_substring(times.cast(pa.string()), " ", "T")


def _compact_text(times: pa.Array) -> pa.Array:
    """`20250304081500` (three literal replacements: a fifth of one regular expression's time)."""
    text = times.cast(pa.string())
    for separator in ("-", ":", " "):
        text = pc.replace_substring(text, separator, "")
    return text


def _hashed(value: Any, hasher) -> str | None:
    """`pii.hash_personal_id`, from a keyed HMAC state copied instead of keyed again per value."""
    if value in (None, ""):
        return None
    h = hasher.copy()
    h.update(str(value).strip().encode())
    return h.hexdigest()


def _sum_per_parent(values: pa.Array, offsets: np.ndarray) -> np.ndarray:
    """Each record's sum over its items (null, from a refused value of an unsettled record: 0)."""
    numbers = pc.fill_null(values.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    running = np.concatenate([[0], np.cumsum(numbers)])
    return running[offsets[1:]] - running[offsets[:-1]]


def _last_per_parent(times: pa.Array, parents: np.ndarray, size: int) -> pa.Array:
    """Each record's last non-null time among its items (the latest extension), else null."""
    if len(times) == 0:
        return pa.nulls(size, pa.timestamp("s"))
    last = np.full(size, -1, dtype=np.int64)
    positions = np.flatnonzero(times.is_valid().to_numpy(zero_copy_only=False))
    np.maximum.at(last, parents[positions], positions)
    return times.take(pa.array(np.where(last >= 0, last, 0), mask=last < 0))


def _history_json(status: pa.Array, at: pa.Array, unit: pa.Array, offsets: np.ndarray) -> pa.Array:
    """The status history as `orjson.dumps([{"status", "at", "unit"}, ...])` writes it, built
    from the page's columns."""
    at_json = pc.if_else(pc.is_valid(at), pc.binary_join_element_wise('"', _iso_text(at), '"', ""), "null")
    steps = pc.binary_join_element_wise('{"status":', status.cast(pa.string()), ',"at":', at_json, ',"unit":',
                                        unit.cast(pa.string()), "}", "")
    per_record = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), steps)
    return pc.binary_join_element_wise("[", pc.binary_join(per_record, ","), "]", "")
