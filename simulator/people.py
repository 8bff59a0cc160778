"""Synthetic applicants: realistic Vietnamese names, ID numbers, phones, e-mails, addresses.

Personal data is generated per dossier from its own random stream, so it never has to be
stored and is identical whichever window first asks for it. None of it is real.
"""
from __future__ import annotations

import numpy as np

from .registry import fold

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
            "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trương", "Lâm", "Mai", "Tạ", "Cao", "Lương"]
SURNAME_W = [38, 11, 9.5, 7, 5.1, 2.5, 4.5, 3.9, 2.5, 2.1, 2, 1.4, 1.3, 1.3, 1, 0.5, 0.8, 0.7, 0.5, 0.5, 0.3, 0.4, 0.3]
MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân", "Đình", "Ngọc", "Tuấn", "Trọng", "Quang", "Anh"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Thùy", "Phương", "Bảo", "Hồng", "Mỹ", "Khánh"]
GIVEN_M = ["Anh", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy", "Khang",
           "Khoa", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng",
           "Thành", "Toàn", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ"]
GIVEN_F = ["An", "Anh", "Châu", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương",
           "Huyền", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương",
           "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Trâm", "Uyên", "Vân", "Yến"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
           "Nguyễn Trãi", "Lê Duẩn", "Phan Chu Trinh", "Hùng Vương", "Điện Biên Phủ", "Nguyễn Du",
           "Bà Triệu", "Lê Thánh Tông", "Trần Phú", "Võ Thị Sáu", "Nguyễn Văn Cừ", "Phạm Văn Đồng"]
MAIL_DOMAINS = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "icloud.com"]
MOBILE_PREFIXES = ["032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078",
                   "079", "081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093",
                   "094", "096", "097", "098"]
GSO_3 = ["001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020",
         "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038",
         "040", "042", "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060",
         "062", "064", "066", "067", "068", "070", "072", "074", "075", "077", "079", "080", "082",
         "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096"]



def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a counter-based hash, so any subset of rows can be drawn alone."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


N_FIELDS = 17
_SUR_CUM = np.cumsum(SURNAME_W) / sum(SURNAME_W)
FOLDED = {w: fold(w).lower() for w in SURNAMES + MIDDLE_M + MIDDLE_F + GIVEN_M + GIVEN_F}


def draw(base: int, rows: np.ndarray) -> np.ndarray:
    """Applicant draws for the given rows of one receive day: (len(rows), N_FIELDS) int32.

    `base` identifies (seed, agency, day); each row's values depend on nothing else, so a
    window can draw only the rows it serves and the ground truth gets the same people.
    """
    rows = np.asarray(rows, dtype=np.uint64)
    keys = (rows[:, None] * np.uint64(64) + np.arange(N_FIELDS, dtype=np.uint64)[None, :])
    u = (_mix(np.uint64(base & (2**64 - 1)) ^ _mix(keys)) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    out = np.empty(u.shape, dtype=np.int32)
    female = u[:, 0] < 0.5
    out[:, 0] = female
    out[:, 1] = np.searchsorted(_SUR_CUM, u[:, 1], side="right").clip(0, len(SURNAMES) - 1)
    out[:, 2] = (u[:, 2] * np.where(female, len(MIDDLE_F), len(MIDDLE_M))).astype(np.int64)
    out[:, 3] = (u[:, 3] * np.where(female, len(GIVEN_F), len(GIVEN_M))).astype(np.int64)
    out[:, 4] = 1950 + (u[:, 4] * 57).astype(np.int64)
    out[:, 5] = u[:, 5] < 0.8                                   # born in the agency's province
    out[:, 6] = (u[:, 6] * len(GSO_3)).astype(np.int64)
    out[:, 7] = (u[:, 7] * 1e6).astype(np.int64)
    out[:, 8] = (u[:, 8] * len(MOBILE_PREFIXES)).astype(np.int64)
    out[:, 9] = (u[:, 9] * 1e7).astype(np.int64)
    out[:, 10] = u[:, 10] < 0.5                                 # e-mail style
    out[:, 11] = np.where(u[:, 11] < 0.7, 1 + (u[:, 12] * 9999).astype(np.int64), -1)
    out[:, 12] = (u[:, 13] * len(MAIL_DOMAINS)).astype(np.int64)
    out[:, 13] = 1 + (u[:, 14] * 350).astype(np.int64)
    out[:, 14] = (u[:, 15] * len(STREETS)).astype(np.int64)
    out[:, 15] = (u[:, 16] * 1e9).astype(np.int64)              # ward pick
    out[:, 16] = 0
    return out


def compose(v: list[int], province_name: str, wards: list[str], home_gso: str | None) -> dict:
    """The five personal-data fields from one row of `draw`."""
    female = v[0]
    surname = SURNAMES[v[1]]
    middle = (MIDDLE_F if female else MIDDLE_M)[v[2]]
    given = (GIVEN_F if female else GIVEN_M)[v[3]]
    year = v[4]
    place = home_gso.zfill(3) if (home_gso and v[5]) else GSO_3[v[6]]
    cid = f"{place}{(0 if year < 2000 else 2) + female}{year % 100:02d}{v[7]:06d}"
    if v[10]:
        local = FOLDED[given] + FOLDED[surname]
    else:
        local = FOLDED[given] + FOLDED[middle][0] + FOLDED[surname][0]
    email = f"{local}{v[11] if v[11] > 0 else year}@{MAIL_DOMAINS[v[12]]}"
    ward = wards[v[15] % len(wards)] if wards else f"Phường {v[15] % 12 + 1}"
    return {"ChuHoSo": f"{surname} {middle} {given}", "MaDoiTuong": cid,
            "SoDienThoai": f"{MOBILE_PREFIXES[v[8]]}{v[9]:07d}", "Email": email,
            "DiaChi": f"Số {v[13]} {STREETS[v[14]]}, {ward}, {province_name}"}
