"""Reference data from the sources: the agency registry and the procedure catalogues.

Renamed once, here, from the Vietnamese API fields to the names used everywhere downstream.
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import yaml

from pipelines.lib.payload import PayloadError, canonical_keys
from pipelines.settings import REPO_ROOT

AGENCY_SCHEMA = pa.schema(
    [
        ("agency_code", pa.string()),
        ("name_vi", pa.string()),
        ("name_en", pa.string()),
        ("agency_level", pa.string()),
        ("gso_province_code", pa.string()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        ("successor_code", pa.string()),
    ]
)

PROCEDURE_SCHEMA = pa.schema(
    [
        ("agency_code", pa.string()),
        ("day", pa.date32()),
        ("procedure_code", pa.string()),
        ("procedure_name", pa.string()),
        ("field", pa.string()),
        ("handling_days", pa.int32()),
        ("has_fee", pa.bool_()),
        ("fee_vnd", pa.int64()),
        ("online_level", pa.string()),
        ("eligible_full_process", pa.bool_()),
    ]
)

AGENCY_LEVELS = {"BO": "ministry", "TINH": "province"}
# Decree 42/2022 levels; the Decree 43/2011 levels 1–4 map approximately (4 → full, 3 → partial).
ONLINE_LEVELS = {
    "TOAN_TRINH": "full_process", "MOT_PHAN": "partial", "KHONG": "none",
    "4": "full_process", "3": "partial", "2": "none", "1": "none",
}


def _date(value) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value not in (None, "") else None


def parse_agency(record: dict) -> dict:
    rec = canonical_keys(record)
    level = AGENCY_LEVELS.get(str(rec.get("CapDonVi")))
    if level is None:
        raise PayloadError(f"agency {rec.get('MaDonVi')}: unknown CapDonVi {rec.get('CapDonVi')!r}")
    gso = rec.get("MaTinhGSO")
    return {
        "agency_code": str(rec["MaDonVi"]),
        "name_vi": rec.get("TenDonVi"),
        "name_en": rec.get("TenDonViTiengAnh"),
        "agency_level": level,
        "gso_province_code": None if gso in (None, "") else str(gso),
        "valid_from": _date(rec.get("HieuLucTu")),
        "valid_to": _date(rec.get("HieuLucDen")),
        "successor_code": rec.get("DonViKeThua") or None,
    }


def _dbt_vars() -> dict:
    """The rules the dbt models and the pipeline share, kept once in dbt_project.yml's vars."""
    with (REPO_ROOT / "dbt_project" / "dbt_project.yml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)["vars"]


_DBT_VARS = _dbt_vars()


# An agency that ceased (merged into another) still reports its open dossiers under its own
# code for up to 80 days after its last day (lifecycles end within 80 days of submission,
# docs/source-api.md); it is pulled for this many days more, a margin of 10.
REPORTING_TAIL_DAYS = int(_DBT_VARS["reporting_tail_days"])
# The open stock of day D is known from every day of the agency from D − this to D − 1.
STOCK_LOOKBACK_DAYS = int(_DBT_VARS["stock_lookback_days"])


def agency_valid_on(agency: dict, day: date) -> bool:
    starts, ends = agency["valid_from"], agency["valid_to"]
    return (starts is None or starts <= day) and (ends is None or day <= ends)


def agency_reports_on(agency: dict, day: date) -> bool:
    """Valid that day, or within the tail after it ceased, while its last dossiers close."""
    starts, ends = agency["valid_from"], agency["valid_to"]
    return (starts is None or starts <= day) and (ends is None or day <= ends + timedelta(days=REPORTING_TAIL_DAYS))


def parse_procedure(record: dict, agency_code: str, day: date) -> dict:
    rec = canonical_keys(record)
    level_code = str(rec.get("MucDoDVC", rec.get("MucDo", "")))
    if level_code not in ONLINE_LEVELS:
        raise PayloadError(f"agency {agency_code}, procedure {rec.get('MaTTHC')}: unknown online level {level_code!r}")
    return {
        "agency_code": agency_code,
        "day": day,
        "procedure_code": str(rec["MaTTHC"]),
        "procedure_name": rec.get("TenTTHC"),
        "field": rec.get("LinhVuc"),
        "handling_days": int(rec["ThoiHanGiaiQuyet"]) if rec.get("ThoiHanGiaiQuyet") not in (None, "") else None,
        "has_fee": bool(rec.get("CoPhiLePhi")),
        "fee_vnd": int(rec.get("MucPhi") or 0),
        "online_level": ONLINE_LEVELS[level_code],
        "eligible_full_process": bool(rec.get("DuDieuKienToanTrinh")),
    }
