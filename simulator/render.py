"""Render dossier versions as clean items (v1 field set), a page at a time.

A `Rows` is a set of versions — (dossier, version time) pairs — carrying every array the
item needs, so a window can be paged without going back to the receive days. The v1 field
set and order is the contract (docs/source-api.md); the Renderer also produces the JSON
variants directly (field names, timestamp format, applicant-type codes; see variants.py).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .calendar import day_of, format_array
from .catalogue import Procedure
from .lifecycle import C_ACCEPT, C_END, C_RETURN, C_S1RCV, C_S1REQ, C_S2RCV, C_S2REQ, K, DaySkeleton, stream_seed
from .people import N_FIELDS, compose, draw
from .registry import Agency

RECEPTION_UNIT = "Bộ phận Tiếp nhận và Trả kết quả"
RESULT_URL = "https://ketqua.dichvucong.sim.invalid/{agency}/{code}.pdf"
ITEM_KEYS = ("MaHoSo", "MaTTHC", "MaDonVi", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy",
             "NgayTra", "TrangThaiHoSo", "KenhThucHien", "DanhSachLePhi", "DuocThanhToanTrucTuyen",
             "DanhSachGiayToKetQua", "DanhSachHoSoBoSung", "ChuHoSo", "MaDoiTuong", "SoDienThoai", "Email",
             "DiaChi", "LoaiDoiTuong", "QuaTrinhXuLy", "NgayCapNhat")
FEE_KEYS = ("TenPhiLePhi", "MaPhiLePhi", "Gia", "NgayThu")
RESULT_KEYS = ("TenGiayTo", "DuongDanTepTin")
SUP_KEYS = ("NgayYeuCauBoSung", "NgayNhanBoSung", "NgayHenTraCu", "NgayHenTraMoi")
HIST_KEYS = ("TrangThai", "ThoiDiem", "DonViXuLy")


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

    def slice(self, start: int, stop: int) -> "Rows":
        return Rows(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})

    def take(self, idx: np.ndarray) -> "Rows":
        return Rows(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(parts: list["Rows"]) -> "Rows":
        return Rows(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Rows)})

    @staticmethod
    def empty() -> "Rows":
        z = np.zeros(0, np.int64)
        return Rows(z, z, z, z, z, np.zeros(0, bool), z, z, np.zeros((0, K), np.int64), np.zeros((0, K), np.int8),
                    z, np.zeros((0, 2), np.int64), z, z, z, np.zeros(0, bool), np.zeros((0, N_FIELDS), np.int32))


def rows_of(seed: int, sk: DaySkeleton, idx: np.ndarray, at: np.ndarray) -> Rows:
    """The given rows of a receive day, as versions at the given times."""
    idx = np.asarray(idx, dtype=np.int64)
    m = idx.shape[0]
    return Rows(day=np.full(m, sk.day, np.int64), row=idx, width=np.full(m, seq_width(sk.n), np.int64),
                at=np.asarray(at, np.int64), channel=sk.channel[idx], channel_null=sk.channel_null[idx],
                proc=sk.proc[idx], ltype=sk.ltype[idx], ev_ts=sk.ev_ts[idx].astype(np.int64), ev_st=sk.ev_st[idx],
                due=sk.due[idx].astype(np.int64), due_new=sk.due_new[idx].astype(np.int64),
                fee=sk.fee[idx].astype(np.int64), paid_ts=sk.paid_ts[idx].astype(np.int64),
                pay_method=sk.pay_method[idx], eresult=sk.eresult[idx],
                who=draw(applicant_base(seed, sk.agency, sk.day), idx))


class Renderer:
    """Renders Rows of one agency into item dicts; `time_kind` picks the timestamp format."""

    def __init__(self, agency: Agency, procedures: tuple[Procedure, ...], wards: list[str], time_kind: str = "compact",
                 rename=None, ltype: dict | None = None):
        """rename: maps each v1 field name to the served one (v3 camelCase); ltype: LoaiDoiTuong codes."""
        n = rename or (lambda k: k)
        self.keys = tuple(n(k) for k in ITEM_KEYS)
        self.fee_keys = tuple(n(k) for k in FEE_KEYS)
        self.result_keys = tuple(n(k) for k in RESULT_KEYS)
        self.sup_keys = tuple(n(k) for k in SUP_KEYS)
        self.hist_keys = tuple(n(k) for k in HIST_KEYS)
        self.ltype = ltype
        self.agency = agency
        self.procs = procedures
        self.wards = wards
        self.time_kind = time_kind
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
        kind = self.time_kind
        ltmap = self.ltype
        # field names as locals: dict displays with variable keys are as fast as literals
        (k_code, k_proc, k_agency, k_sub, k_acc, k_due, k_end, k_ret, k_status, k_channel, k_fees, k_paid,
         k_results, k_sups, k_name, k_id, k_phone, k_mail, k_addr, k_ltype, k_hist, k_upd) = self.keys
        f_name, f_code, f_amount, f_at = self.fee_keys
        r_name, r_link = self.result_keys
        s_req, s_rcv, s_old, s_new = self.sup_keys
        h_status, h_at, h_unit = self.hist_keys
        ev_s = format_array(r.ev_ts[sl], kind).tolist()
        due_s = format_array(r.due[sl], kind).tolist()
        due_new_s = format_array(r.due_new[sl], kind).tolist()
        paid_s = format_array(r.paid_ts[sl], kind).tolist()
        out = []
        agency_code = self.agency.code
        for i in range(stop - start):
            at = cols["at"][i]
            ev = cols["ev_ts"][i]
            st = cols["ev_st"][i]
            present = [c for c in range(K) if 0 <= ev[c] <= at]
            last = present[-1]
            status = st[last]
            evs = ev_s[i]
            pi = cols["proc"][i]
            proc = self.procs[pi]
            unit = self.units[pi]
            code = self.code(cols["day"][i], cols["row"][i], cols["width"][i])
            accepted = st[C_ACCEPT] == 2 and 0 <= ev[C_ACCEPT] <= at
            if status in (9, 10, 7, 8):
                ended = evs[C_END]
            elif status == 3:
                ended = evs[C_ACCEPT]
            else:
                ended = None
            paid_ts = cols["paid_ts"][i]
            paid = 0 <= paid_ts <= at
            fee = cols["fee"][i]
            fees = [{f_name: f"Lệ phí {proc.name[0].lower()}{proc.name[1:]}", f_code: f"LP.{proc.code}",
                     f_amount: fee, f_at: paid_s[i] if paid else None}] if fee > 0 else []
            if status in (9, 10):
                link = RESULT_URL.format(agency=agency_code, code=code) if cols["eresult"][i] else None
                results = [{r_name: f"Kết quả giải quyết: {proc.name}", r_link: link}]
            else:
                results = []
            sups = []
            before = due_s[i]
            if 0 <= ev[C_S1REQ] <= at:
                due_new = due_new_s[i]
                for j, (rq, rc) in enumerate(((C_S1REQ, C_S1RCV), (C_S2REQ, C_S2RCV))):
                    if not 0 <= ev[rq] <= at:
                        break
                    got = 0 <= ev[rc] <= at
                    sups.append({s_req: evs[rq], s_rcv: evs[rc] if got else None, s_old: before,
                                 s_new: due_new[j] if got else None})
                    before = due_new[j]
            history = [{h_status: st[c], h_at: evs[c], h_unit: RECEPTION_UNIT if st[c] in (1, 2, 3, 10) else unit}
                       for c in present]
            who = compose(cols["who"][i], self.province, self.wards, self.home)
            lt = cols["ltype"][i]
            out.append({
                k_code: code,
                k_proc: proc.code,
                k_agency: agency_code,
                k_sub: evs[0],
                k_acc: evs[C_ACCEPT] if accepted else None,
                k_due: due_s[i] if accepted else None,
                k_end: ended,
                k_ret: evs[C_RETURN] if status == 10 else None,
                k_status: status,
                k_channel: None if cols["channel_null"][i] else cols["channel"][i],
                k_fees: fees,
                k_paid: cols["pay_method"][i] if paid else 0,
                k_results: results,
                k_sups: sups,
                k_name: who["ChuHoSo"],
                k_id: who["MaDoiTuong"],
                k_phone: who["SoDienThoai"],
                k_mail: who["Email"],
                k_addr: who["DiaChi"],
                k_ltype: ltmap[lt] if ltmap else lt,
                k_hist: history,
                k_upd: evs[last],
            })
        return out
