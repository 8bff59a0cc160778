"""Render dossier versions as clean items (v1 field set), a page at a time.

A `Rows` is a set of versions — (dossier, version time) pairs — carrying every array the
item needs, so a window can be paged without going back to the receive days. The v1 field
set and order is the contract (docs/source-api.md); variants.py transforms these dicts.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .calendar import day_of, time_format
from .catalogue import Procedure
from .lifecycle import C_ACCEPT, C_END, C_RETURN, C_S1RCV, C_S1REQ, C_S2RCV, C_S2REQ, K, DaySkeleton, stream_seed
from .people import N_FIELDS, compose, draw
from .registry import Agency

RECEPTION_UNIT = "Bộ phận Tiếp nhận và Trả kết quả"
RESULT_URL = "https://ketqua.dichvucong.sim.invalid/{agency}/{code}.pdf"
LTYPE_V1 = {1: 1, 2: 2, 3: 3}


def seq_width(n: int) -> int:
    return max(4, len(str(n)))


def applicant_base(seed: int, agency: Agency, day: int) -> int:
    return stream_seed(seed, "who", agency.code, day) & (2**64 - 1)


@dataclass
class Rows:
    """Versions to render: row i is dossier (day[i], row[i]) as of time at[i]."""
    day: np.ndarray
    row: np.ndarray
    width: np.ndarray
    at: np.ndarray
    channel: np.ndarray
    channel_null: np.ndarray
    proc: np.ndarray
    ltype: np.ndarray
    ev_ts: np.ndarray
    ev_st: np.ndarray
    due: np.ndarray
    due_new: np.ndarray
    fee: np.ndarray
    paid_ts: np.ndarray
    pay_method: np.ndarray
    eresult: np.ndarray
    who: np.ndarray

    def __len__(self) -> int:
        return int(self.day.shape[0])

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    def take(self, idx: np.ndarray) -> "Rows":
        return Rows(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list["Rows"]) -> "Rows":
        return Rows(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Rows)})

    @staticmethod
    def empty() -> "Rows":
        z = np.zeros(0, np.int64)
        return Rows(z, z, z, z, z, np.zeros(0, bool), z, z, np.zeros((0, K), np.int64), np.zeros((0, K), np.int8),
                    z, np.zeros((0, 2), np.int64), z, z, z, np.zeros(0, bool), np.zeros((0, N_FIELDS), np.int64))


def rows_of(seed: int, sk: DaySkeleton, idx: np.ndarray, at: np.ndarray) -> Rows:
    """The given rows of a receive day, as versions at the given times."""
    idx = np.asarray(idx, dtype=np.int64)
    m = idx.shape[0]
    return Rows(day=np.full(m, sk.day, np.int64), row=idx, width=np.full(m, seq_width(sk.n), np.int64),
                at=np.asarray(at, np.int64), channel=sk.channel[idx], channel_null=sk.channel_null[idx],
                proc=sk.proc[idx], ltype=sk.ltype[idx], ev_ts=sk.ev_ts[idx], ev_st=sk.ev_st[idx],
                due=sk.due[idx], due_new=sk.due_new[idx], fee=sk.fee[idx], paid_ts=sk.paid_ts[idx],
                pay_method=sk.pay_method[idx], eresult=sk.eresult[idx],
                who=draw(applicant_base(seed, sk.agency, sk.day), idx))


class Renderer:
    """Renders Rows of one agency into item dicts; `time_kind` picks the timestamp format."""

    def __init__(self, agency: Agency, procedures: tuple[Procedure, ...], wards: list[str], time_kind: str = "compact"):
        self.agency = agency
        self.procs = procedures
        self.wards = wards
        self.fmt = time_format(time_kind)
        self.units = [p.unit if agency.level == "BO" else f"{p.unit} {agency.short_vi}" for p in procedures]
        self.province = agency.name_vi if agency.level == "TINH" else "Thành phố Hà Nội"
        self.home = agency.gso if agency.level == "TINH" else None
        self.prefix: dict[int, str] = {}

    def code(self, day: int, row: int, width: int) -> str:
        p = self.prefix.get(day)
        if p is None:
            p = self.prefix[day] = f"{self.agency.code}-{day_of(day).strftime('%y%m%d')}-"
        return f"{p}{row + 1:0{width}d}"

    def render(self, r: Rows, start: int = 0, stop: int | None = None) -> list[dict]:
        stop = len(r) if stop is None else stop
        if stop <= start:
            return []
        sl = slice(start, stop)
        cols = {f.name: getattr(r, f.name)[sl].tolist() for f in fields(Rows)}
        out = []
        f = self.fmt
        agency_code = self.agency.code
        for i in range(stop - start):
            at = cols["at"][i]
            ev = cols["ev_ts"][i]
            st = cols["ev_st"][i]
            present = [c for c in range(K) if 0 <= ev[c] <= at]
            last = present[-1]
            status = st[last]
            pi = cols["proc"][i]
            proc = self.procs[pi]
            unit = self.units[pi]
            code = self.code(cols["day"][i], cols["row"][i], cols["width"][i])
            accepted = st[C_ACCEPT] == 2 and 0 <= ev[C_ACCEPT] <= at
            if status in (9, 10, 7, 8):
                ended = f(ev[C_END])
            elif status == 3:
                ended = f(ev[C_ACCEPT])
            else:
                ended = None
            paid_ts = cols["paid_ts"][i]
            paid = 0 <= paid_ts <= at
            fee = cols["fee"][i]
            fees = [{"TenPhiLePhi": f"Lệ phí {proc.name[0].lower()}{proc.name[1:]}", "MaPhiLePhi": f"LP.{proc.code}",
                     "Gia": fee, "NgayThu": f(paid_ts) if paid else None}] if fee > 0 else []
            if status in (9, 10):
                link = RESULT_URL.format(agency=agency_code, code=code) if cols["eresult"][i] else None
                results = [{"TenGiayTo": f"Kết quả giải quyết: {proc.name}", "DuongDanTepTin": link}]
            else:
                results = []
            sups = []
            due = cols["due"][i]
            due_new = cols["due_new"][i]
            before = due
            for j, (rq, rc) in enumerate(((C_S1REQ, C_S1RCV), (C_S2REQ, C_S2RCV))):
                if not 0 <= ev[rq] <= at:
                    break
                got = 0 <= ev[rc] <= at
                sups.append({"NgayYeuCauBoSung": f(ev[rq]), "NgayNhanBoSung": f(ev[rc]) if got else None,
                             "NgayHenTraCu": f(before), "NgayHenTraMoi": f(due_new[j]) if got else None})
                before = due_new[j]
            history = [{"TrangThai": st[c], "ThoiDiem": f(ev[c]),
                        "DonViXuLy": RECEPTION_UNIT if st[c] in (1, 2, 3, 10) else unit} for c in present]
            who = compose(cols["who"][i], self.province, self.wards, self.home)
            out.append({
                "MaHoSo": code,
                "MaTTHC": proc.code,
                "MaDonVi": agency_code,
                "NgayNopHoSo": f(ev[0]),
                "NgayTiepNhan": f(ev[C_ACCEPT]) if accepted else None,
                "NgayHenTra": f(due) if accepted else None,
                "NgayKetThucXuLy": ended,
                "NgayTra": f(ev[C_RETURN]) if status == 10 else None,
                "TrangThaiHoSo": status,
                "KenhThucHien": None if cols["channel_null"][i] else cols["channel"][i],
                "DanhSachLePhi": fees,
                "DuocThanhToanTrucTuyen": cols["pay_method"][i] if paid else 0,
                "DanhSachGiayToKetQua": results,
                "DanhSachHoSoBoSung": sups,
                "ChuHoSo": who["ChuHoSo"],
                "MaDoiTuong": who["MaDoiTuong"],
                "SoDienThoai": who["SoDienThoai"],
                "Email": who["Email"],
                "DiaChi": who["DiaChi"],
                "LoaiDoiTuong": cols["ltype"][i],
                "QuaTrinhXuLy": history,
                "NgayCapNhat": f(ev[last]),
            })
        return out
