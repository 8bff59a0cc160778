"""Parse agency dossier payloads into canonical rows, without personal data.

Agencies' systems differ (date formats, field casing, applicant-type coding, JSON or CSV), so
everything is normalised here, once, at the edge. A record that cannot be parsed is never
dropped: it comes back as a `Rejected` with a reason, for quarantine.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

import orjson
import pyarrow as pa

from pipelines.lib.field_names import pascal
from pipelines.lib.pii import hash_personal_id
from pipelines.settings import TIMEZONE

# The landed dossier version: one row per (dossier_code, updated_at). Timestamps are naive
# local time in Asia/Ho_Chi_Minh, as the sources send them.
DOSSIER_SCHEMA = pa.schema(
    [
        ("agency_code", pa.string()),
        ("day", pa.date32()),
        ("dossier_code", pa.string()),
        ("procedure_code", pa.string()),
        ("updated_at", pa.timestamp("s")),
        ("submitted_at", pa.timestamp("s")),
        ("accepted_at", pa.timestamp("s")),
        ("due_at", pa.timestamp("s")),
        ("extended_due_at", pa.timestamp("s")),
        ("ended_at", pa.timestamp("s")),
        ("returned_at", pa.timestamp("s")),
        ("status", pa.int16()),
        ("channel", pa.int16()),
        ("applicant_type", pa.string()),
        ("applicant_id_hash", pa.string()),
        ("fee_count", pa.int32()),
        ("fee_amount_vnd", pa.int64()),
        ("online_payment", pa.int16()),
        ("result_document_count", pa.int32()),
        ("has_electronic_result", pa.bool_()),
        ("supplement_count", pa.int32()),
        ("status_history", pa.string()),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        ("agency_code", pa.string()),
        ("day", pa.date32()),
        ("dossier_code", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("record", pa.string()),
    ]
)

APPLICANT_TYPES = {
    "1": "citizen", "CONG_DAN": "citizen", "CD": "citizen",
    "2": "business", "DOANH_NGHIEP": "business", "DN": "business",
    "3": "household_business", "HO_KINH_DOANH": "household_business", "HKD": "household_business",
}
# The fields of the dossier payload in the source API contract (docs/source-api.md): every
# record carries each of them as a key, its value possibly null.
CONTRACT_FIELDS = (
    "MaHoSo", "MaTTHC", "MaDonVi", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy",
    "NgayTra", "TrangThaiHoSo", "KenhThucHien", "DanhSachLePhi", "DuocThanhToanTrucTuyen",
    "DanhSachGiayToKetQua", "DanhSachHoSoBoSung", "ChuHoSo", "MaDoiTuong", "SoDienThoai", "Email",
    "DiaChi", "LoaiDoiTuong", "QuaTrinhXuLy", "NgayCapNhat",
)
# Fields a dossier cannot be counted without.
REQUIRED_FIELDS = ("MaHoSo", "MaTTHC", "TrangThaiHoSo", "NgayNopHoSo", "NgayCapNhat")
LIST_FIELDS = ("DanhSachLePhi", "DanhSachGiayToKetQua", "DanhSachHoSoBoSung", "QuaTrinhXuLy")

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?([+-]\d{2}:?\d{2}|Z)?$")


class PayloadError(ValueError):
    """A field that cannot be read; the message names the field and the value."""


@dataclass(frozen=True)
class Rejected:
    dossier_code: str | None
    reason: str
    record: dict


def canonical_keys(record: dict) -> dict:
    """`maHoSo` → `MaHoSo`, one level: camelCase systems send the same fields.

    The record itself when its keys are already canonical, so most sources pay one scan.
    """
    for key in record:
        if isinstance(key, str) and key[:1].islower():
            return {pascal(k): v for k, v in record.items()}
    return record


def parse_timestamp(value: Any, field: str) -> datetime | None:
    """`yyyyMMddHHmmss` or ISO 8601 → naive local time; None stays None."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if len(text) == 14 and text.isascii() and text.isdigit():
            # ISO 8601's basic format once the date and time are split: parsed in C.
            return datetime.fromisoformat(f"{text[:8]}T{text[8:]}")
        if _ISO.match(text):
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(TIMEZONE).replace(tzinfo=None)
            return parsed.replace(microsecond=0)
    except ValueError:
        pass
    raise PayloadError(f"{field}: not a valid timestamp: {text!r}")


def _int(value: Any, field: str, *, default: int | None = None, limit: int = 2**15 - 1) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise PayloadError(f"{field}: not an integer: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PayloadError(f"{field}: not an integer: {value!r}") from None
    if not number.is_integer():
        raise PayloadError(f"{field}: not an integer: {value!r}")
    if abs(number) > limit:
        raise PayloadError(f"{field}: out of range: {value!r}")
    return int(number)


def _list(value: Any, field: str) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):  # CSV sources send nested lists as JSON text
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise PayloadError(f"{field}: not a JSON list: {value[:40]!r}") from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PayloadError(f"{field}: not a list of objects")
    return [canonical_keys(v) for v in value]


def _applicant_type(value: Any) -> str | None:
    if value is None or value == "":
        return None
    code = str(value).strip().upper()
    if code.endswith(".0"):
        code = code[:-2]
    if code not in APPLICANT_TYPES:
        raise PayloadError(f"LoaiDoiTuong: unknown applicant type {value!r}")
    return APPLICANT_TYPES[code]


def parse_dossier(record: dict, agency_code: str, day, hash_key: bytes) -> dict:
    """One source record → one canonical row (see DOSSIER_SCHEMA). Raises PayloadError."""
    rec = canonical_keys(record)
    missing = [f for f in REQUIRED_FIELDS if rec.get(f) in (None, "")]
    if missing:
        raise PayloadError(f"missing required field(s): {', '.join(missing)}")
    # A record of another agency in this agency's feed would be counted for the wrong agency.
    source_agency = rec.get("MaDonVi")
    if source_agency not in (None, "") and str(source_agency).strip() != agency_code:
        raise PayloadError(f"MaDonVi: a dossier of agency {source_agency!r} in the feed of agency {agency_code}")
    fees = _list(rec.get("DanhSachLePhi"), "DanhSachLePhi")
    results = _list(rec.get("DanhSachGiayToKetQua"), "DanhSachGiayToKetQua")
    supplements = _list(rec.get("DanhSachHoSoBoSung"), "DanhSachHoSoBoSung")
    history = _list(rec.get("QuaTrinhXuLy"), "QuaTrinhXuLy")
    extended = [parse_timestamp(s.get("NgayHenTraMoi"), "DanhSachHoSoBoSung.NgayHenTraMoi") for s in supplements]
    extended = [t for t in extended if t is not None]
    steps = [
        {
            "status": _int(h.get("TrangThai"), "QuaTrinhXuLy.TrangThai"),
            "at": _iso(parse_timestamp(h.get("ThoiDiem"), "QuaTrinhXuLy.ThoiDiem")),
            "unit": h.get("DonViXuLy"),
        }
        for h in history
    ]
    personal_id = rec.get("MaDoiTuong")
    return {
        "agency_code": agency_code,
        "day": day,
        "dossier_code": str(rec["MaHoSo"]).strip(),
        "procedure_code": str(rec["MaTTHC"]).strip(),
        "updated_at": parse_timestamp(rec["NgayCapNhat"], "NgayCapNhat"),
        "submitted_at": parse_timestamp(rec["NgayNopHoSo"], "NgayNopHoSo"),
        "accepted_at": parse_timestamp(rec.get("NgayTiepNhan"), "NgayTiepNhan"),
        "due_at": parse_timestamp(rec.get("NgayHenTra"), "NgayHenTra"),
        "extended_due_at": extended[-1] if extended else None,
        "ended_at": parse_timestamp(rec.get("NgayKetThucXuLy"), "NgayKetThucXuLy"),
        "returned_at": parse_timestamp(rec.get("NgayTra"), "NgayTra"),
        "status": _int(rec["TrangThaiHoSo"], "TrangThaiHoSo"),
        # The payload spec: a null channel means in person.
        "channel": _int(rec.get("KenhThucHien"), "KenhThucHien", default=1),
        "applicant_type": _applicant_type(rec.get("LoaiDoiTuong")),
        "applicant_id_hash": hash_personal_id(personal_id, hash_key) if personal_id not in (None, "") else None,
        "fee_count": len(fees),
        "fee_amount_vnd": sum(_int(f.get("Gia"), "DanhSachLePhi.Gia", default=0, limit=10**15) for f in fees),
        "online_payment": _int(rec.get("DuocThanhToanTrucTuyen"), "DuocThanhToanTrucTuyen", default=0),
        "result_document_count": len(results),
        "has_electronic_result": any(r.get("DuongDanTepTin") for r in results),
        "supplement_count": len(supplements),
        "status_history": orjson.dumps(steps).decode(),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def schema_drift(records: Iterable) -> tuple[list[str], list[str]]:
    """Fields outside the contract, and contract fields some record lacks, over a window.

    A renamed field parses "fine" (a missing KenhThucHien reads as in person), so drift is
    caught here, on the field names, before it can bend a KPI.
    """
    unknown: set[str] = set()
    missing: set[str] = set()
    contract = set(CONTRACT_FIELDS)
    # A source sends the same fields in the same order record after record: one check a shape.
    for shape in {tuple(record) for record in records if isinstance(record, dict)}:
        keys = {pascal(k) for k in shape if isinstance(k, str)}
        unknown |= keys - contract
        missing |= contract - keys
    return sorted(unknown), sorted(missing)


def records_from_csv(text: str) -> list[dict]:
    """CSV sources send one dossier per row, nested lists as JSON text (parsed later).

    A body cut in transit still parses as CSV, one record short: a body that does not end with
    a line end, or a row whose field count is not the header's, raises ValueError (the client
    fetches the page again)."""
    if text and not text.endswith("\n"):
        raise ValueError("the CSV body does not end with a line end: cut short in transit")
    rows = csv.reader(io.StringIO(text))
    header = next(rows, [])
    records = []
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"CSV row {number} has {len(row)} fields, the header {len(header)}: cut short in transit")
        records.append(dict(zip(header, row)))
    return records


def quarantine_rows(rejected: Iterable[Rejected], agency_code: str, day, stage: str) -> list[dict]:
    return [
        {
            "agency_code": agency_code,
            "day": day,
            "dossier_code": r.dossier_code,
            "stage": stage,
            "reason": r.reason,
            "record": json.dumps(r.record, ensure_ascii=False, sort_keys=True, default=str),
        }
        for r in rejected
    ]

