"""Render a dossier's state as of one of its events (a "version") as a clean v1 item.

The v1 field set and order is the contract (docs/source-api.md); other payload variants
are transformations of this dict (variants.py), so every variant carries the same facts.
"""
from __future__ import annotations

import random

from .calendar import DAY, day_of, fmt_compact
from .lifecycle import C_ACCEPT, C_END, C_RETURN, C_S1RCV, C_S1REQ, C_S2RCV, C_S2REQ, DaySkeleton, K, stream_seed
from .people import applicant

RECEPTION_UNIT = "Bộ phận Tiếp nhận và Trả kết quả"
RESULT_URL = "https://ketqua.dichvucong.sim.invalid/{agency}/{code}.pdf"


def seq_width(n: int) -> int:
    return max(4, len(str(n)))


def dossier_code(sk: DaySkeleton, row: int) -> str:
    return f"{sk.agency.code}-{day_of(sk.day).strftime('%y%m%d')}-{row + 1:0{seq_width(sk.n)}d}"


def processing_unit(sk: DaySkeleton, row: int) -> str:
    unit = sk.procedures[int(sk.proc[row])].unit
    return unit if sk.agency.level == "BO" else f"{unit} {sk.agency.short_vi}"


def applicant_of(seed: int, sk: DaySkeleton, row: int, wards: list[str]) -> dict:
    rng = random.Random(stream_seed(seed, "who", sk.agency.code, sk.day, row))
    home = sk.agency.gso if sk.agency.level == "TINH" else None
    where = sk.agency.name_vi if sk.agency.level == "TINH" else "Thành phố Hà Nội"
    return applicant(rng, where, wards, home)


def _f(ts) -> str | None:
    ts = int(ts)
    return None if ts < 0 else fmt_compact(ts)


def render_version(seed: int, sk: DaySkeleton, row: int, at: int, wards: list[str]) -> dict | None:
    """The v1 item for dossier `row` as of time `at` (its last event at or before `at`)."""
    ev = sk.ev_ts[row]
    st = sk.ev_st[row]
    cols = [c for c in range(K) if 0 <= ev[c] <= at]
    if not cols:
        return None
    last = cols[-1]
    status = int(st[last])
    proc = sk.procedures[int(sk.proc[row])]
    code = dossier_code(sk, row)
    accepted = C_ACCEPT in cols and status != 3
    unit = processing_unit(sk, row)
    ended = None
    if status in (9, 10, 7, 8):
        ended = _f(ev[C_END])
    elif status == 3:
        ended = _f(ev[C_ACCEPT])
    paid = 0 <= sk.paid_ts[row] <= at
    fees = []
    if sk.fee[row] > 0:
        fees.append({"TenPhiLePhi": f"Lệ phí {proc.name[0].lower()}{proc.name[1:]}",
                     "MaPhiLePhi": f"LP.{proc.code}", "Gia": int(sk.fee[row]),
                     "NgayThu": _f(sk.paid_ts[row]) if paid else None})
    results = []
    if status in (9, 10):
        link = RESULT_URL.format(agency=sk.agency.code, code=code) if sk.eresult[row] else None
        results.append({"TenGiayTo": f"Kết quả giải quyết: {proc.name}", "DuongDanTepTin": link})
    sups = []
    due_before = int(sk.due[row])
    for j, (rq, rc) in enumerate(((C_S1REQ, C_S1RCV), (C_S2REQ, C_S2RCV))):
        if not (0 <= ev[rq] <= at):
            break
        got = 0 <= ev[rc] <= at
        new_due = int(sk.due_new[row, j])
        sups.append({"NgayYeuCauBoSung": _f(ev[rq]), "NgayNhanBoSung": _f(ev[rc]) if got else None,
                     "NgayHenTraCu": _f(due_before), "NgayHenTraMoi": _f(new_due) if got else None})
        due_before = new_due
    history = [{"TrangThai": int(st[c]), "ThoiDiem": _f(ev[c]),
                "DonViXuLy": RECEPTION_UNIT if int(st[c]) in (1, 2, 3, 10) else unit} for c in cols]
    who = applicant_of(seed, sk, row, wards)
    return {
        "MaHoSo": code,
        "MaTTHC": proc.code,
        "MaDonVi": sk.agency.code,
        "NgayNopHoSo": _f(ev[0]),
        "NgayTiepNhan": _f(ev[C_ACCEPT]) if accepted else None,
        "NgayHenTra": _f(sk.due[row]) if accepted else None,
        "NgayKetThucXuLy": ended,
        "NgayTra": _f(ev[C_RETURN]) if status == 10 else None,
        "TrangThaiHoSo": status,
        "KenhThucHien": None if sk.channel_null[row] else int(sk.channel[row]),
        "DanhSachLePhi": fees,
        "DuocThanhToanTrucTuyen": int(sk.pay_method[row]) if paid else 0,
        "DanhSachGiayToKetQua": results,
        "DanhSachHoSoBoSung": sups,
        "ChuHoSo": who["ChuHoSo"],
        "MaDoiTuong": who["MaDoiTuong"],
        "SoDienThoai": who["SoDienThoai"],
        "Email": who["Email"],
        "DiaChi": who["DiaChi"],
        "LoaiDoiTuong": int(sk.ltype[row]),
        "QuaTrinhXuLy": history,
        "NgayCapNhat": _f(ev[last]),
    }


__all__ = ["render_version", "dossier_code", "applicant_of", "processing_unit", "RECEPTION_UNIT", "DAY"]
