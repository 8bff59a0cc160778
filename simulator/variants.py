"""Payload variants: agencies' systems format the same facts differently.

v1 is the reference (docs/source-api.md). v2: ISO 8601 timestamps and LoaiDoiTuong as text.
v3: camelCase field names at every level and LoaiDoiTuong as short codes. v4: CSV instead of
JSON, v1 header names, nested lists as JSON text, paging in response headers. The
assignment is deterministic per seed; exactly one agency (a province that exists on both
sides of the 2025 merger) serves CSV.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json

from .registry import Agency

VARIANTS = ("v1", "v2", "v3", "v4")
LTYPE_V2 = {1: "CONG_DAN", 2: "DOANH_NGHIEP", 3: "HO_KINH_DOANH"}
LTYPE_V3 = {1: "CD", 2: "DN", 3: "HKD"}
V1_FIELDS = ["MaHoSo", "MaTTHC", "MaDonVi", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy",
             "NgayTra", "TrangThaiHoSo", "KenhThucHien", "DanhSachLePhi", "DuocThanhToanTrucTuyen",
             "DanhSachGiayToKetQua", "DanhSachHoSoBoSung", "ChuHoSo", "MaDoiTuong", "SoDienThoai", "Email",
             "DiaChi", "LoaiDoiTuong", "QuaTrinhXuLy", "NgayCapNhat"]


def _h(seed: int, *parts) -> int:
    return int.from_bytes(hashlib.blake2b(repr((seed,) + parts).encode(), digest_size=8).digest(), "little")


def assign(seed: int, agencies: tuple[Agency, ...]) -> dict[str, str]:
    """Variant per agency code: ~half v1, a quarter each v2 and v3, one v4 (CSV)."""
    out = {}
    for a in agencies:
        u = _h(seed, "variant", a.code) % 100
        out[a.code] = "v1" if u < 50 else ("v2" if u < 75 else "v3")
    stable = sorted((a for a in agencies if a.level == "TINH" and a.valid_to is None and a.valid_from.year < 2025),
                    key=lambda a: _h(seed, "csv", a.code))
    if stable:
        out[stable[0].code] = "v4"
    return out


_CAMEL: dict[str, str] = {}


def camel(name: str) -> str:
    c = _CAMEL.get(name)
    if c is None:
        c = _CAMEL[name] = name[0].lower() + name[1:]
    return c


def time_kind(variant: str) -> str:
    return "iso" if variant == "v2" else "compact"


def renderer_options(variant: str) -> dict:
    """How the Renderer produces the variant directly (no second pass over the items)."""
    if variant == "v2":
        return {"time_kind": "iso", "ltype": LTYPE_V2}
    if variant == "v3":
        return {"time_kind": "compact", "rename": camel, "ltype": LTYPE_V3}
    return {"time_kind": "compact"}


def field_name(variant: str, v1_name: str) -> str:
    return camel(v1_name) if variant == "v3" else v1_name


def to_csv(items: list[dict]) -> bytes:
    """v4 body: header of v1 names (plus any drifted fields), lists as JSON text, null empty."""
    header = list(items[0]) if items else list(V1_FIELDS)
    seen = set(header)
    for it in items[1:]:
        for k in it:
            if k not in seen:
                header.append(k)
                seen.add(k)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for it in items:
        row = []
        for h in header:
            v = it.get(h)
            if v is None:
                row.append("")
            elif isinstance(v, (list, dict)):
                row.append(json.dumps(v, ensure_ascii=False, separators=(",", ":")))
            else:
                row.append(v)
        w.writerow(row)
    return buf.getvalue().encode("utf-8")
