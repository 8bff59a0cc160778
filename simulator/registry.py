"""Agency registry: the ministries and provinces that report, with validity dates.

Ministries come from a small hand-kept table (simulator/data/ministries.csv): no package
ships the Decision 20/2020 identifiers. Province names, GSO codes and the 63 -> 34 merger
come from the `vietnamadminunits` package (MIT); the H-number of each province is a lookup
table (simulator/data/provinces.csv) because H-numbers are not GSO codes.
"""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
ORIGIN = date(2019, 1, 1)          # first day any agency reports
MERGER_LAST_DAY = date(2025, 6, 30)  # last day of the 63 legacy provinces
MERGER_FIRST_DAY = date(2025, 7, 1)


@dataclass(frozen=True)
class Agency:
    code: str
    name_vi: str
    name_en: str
    level: str                 # "BO" | "TINH"
    gso: str | None
    valid_from: date
    valid_to: date | None
    successor: str | None
    annual_volume: float       # calibration weight (dossiers a year, cited or estimated)
    short_vi: str              # name without the "Bộ"/"Tỉnh" prefix, for unit names
    index: int                 # stable position, used to derive random streams

    def valid_on(self, d: date) -> bool:
        return self.valid_from <= d and (self.valid_to is None or d <= self.valid_to)

    def to_dict(self) -> dict:
        return {
            "MaDonVi": self.code,
            "TenDonVi": self.name_vi,
            "TenDonViTiengAnh": self.name_en,
            "CapDonVi": self.level,
            "MaTinhGSO": self.gso,
            "HieuLucTu": self.valid_from.isoformat(),
            "HieuLucDen": self.valid_to.isoformat() if self.valid_to else None,
            "DonViKeThua": self.successor,
        }


def fold(text: str) -> str:
    """ASCII-fold Vietnamese (for English names, e-mails)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _package_data() -> tuple[dict, dict, dict]:
    """Read vietnamadminunits' JSON data without importing it (its import pulls in shapely)."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the simulator needs the 'vietnamadminunits' package (pip install vietnamadminunits)")
    root = Path(list(spec.submodule_search_locations)[0]) / "data"
    legacy = json.loads((root / "parser_legacy.json").read_text(encoding="utf-8"))
    current = json.loads((root / "parser_from_2025.json").read_text(encoding="utf-8"))
    conv = json.loads((root / "converter_2025.json").read_text(encoding="utf-8"))
    return legacy, current, conv


@lru_cache(maxsize=1)
def package_tables() -> dict:
    legacy, current, conv = _package_data()
    return {
        "legacy": legacy["DICT_PROVINCE"],
        "current": current["DICT_PROVINCE"],
        "merger": conv["DICT_PROVINCE"],            # new key -> [legacy keys]
        "wards_current": current.get("DICT_PROVINCE_WARD_NO_ACCENTED", {}),
    }


def _english_province(name_vi: str) -> str:
    f = fold(name_vi)
    if f.startswith("Thanh pho "):
        return f[len("Thanh pho "):] + " City"
    if f.startswith("Tinh "):
        return f[len("Tinh "):] + " Province"
    return f


def _d(s: str) -> date | None:
    return date.fromisoformat(s) if s else None


@lru_cache(maxsize=1)
def all_agencies() -> tuple[Agency, ...]:
    """Every agency that ever reported, ministries first, then provinces by H-number."""
    out: list[Agency] = []
    with open(DATA / "ministries.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out.append(Agency(
                code=row["MaDonVi"], name_vi=row["TenDonVi"], name_en=row["TenDonViTiengAnh"],
                level="BO", gso=None, valid_from=_d(row["HieuLucTu"]), valid_to=_d(row["HieuLucDen"]),
                successor=row["DonViKeThua"] or None, annual_volume=float(row["annual_volume"]),
                short_vi=row["short_vi"], index=len(out)))
    t = package_tables()
    with open(DATA / "provinces.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    # successor of a legacy province = the current province that absorbed it
    code_of_current = {r["package_key"]: r["MaDonVi"] for r in rows if r["era"] in ("current", "both")}
    successor_of = {old: code_of_current[new] for new, olds in t["merger"].items() for old in olds}
    legacy_volume = {r["package_key"]: float(r["annual_volume"]) for r in rows if r["era"] in ("legacy", "both")}
    for r in rows:
        key, era = r["package_key"], r["era"]
        src = t["current"][key] if era == "current" else t["legacy"][key]
        if era == "current":
            vol = sum(legacy_volume[k] for k in t["merger"][key])
            vf, vt, succ = MERGER_FIRST_DAY, None, None
        elif era == "legacy":
            vol, vf, vt, succ = float(r["annual_volume"]), ORIGIN, MERGER_LAST_DAY, successor_of[key]
        else:  # unchanged by the merger: one record, valid throughout
            vol, vf, vt, succ = float(r["annual_volume"]), ORIGIN, None, None
        out.append(Agency(
            code=r["MaDonVi"], name_vi=src["province"], name_en=_english_province(src["province"]),
            level="TINH", gso=src["provinceCode"], valid_from=vf, valid_to=vt, successor=succ,
            annual_volume=vol, short_vi=src["provinceShort"], index=len(out)))
    return tuple(out)


def wards_of(agency: Agency) -> list[str]:
    """Ward names ("Phường X") in the agency's province today, for synthetic addresses."""
    if agency.level != "TINH":
        return []
    t = package_tables()
    key = next((k for k, v in t["current"].items() if v["provinceCode"] == agency.gso), None)
    if key is None:  # a legacy province whose GSO code did not survive: use its successor's wards
        succ = next((a for a in all_agencies() if a.code == agency.successor), None)
        return wards_of(succ) if succ is not None else []
    return sorted({w["ward"] for w in t["wards_current"].get(key, {}).values()})
