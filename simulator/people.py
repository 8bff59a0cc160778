"""Synthetic applicants: realistic Vietnamese names, ID numbers, phones, e-mails, addresses.

Personal data is generated per dossier from its own random stream, so it never has to be
stored and is identical whichever window first asks for it. None of it is real.
"""
from __future__ import annotations

import random

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


def applicant(rng: random.Random, province_name: str, wards: list[str], home_gso: str | None) -> dict:
    """One applicant: name, 12-digit citizen ID, phone, e-mail, address."""
    female = rng.random() < 0.5
    surname = rng.choices(SURNAMES, SURNAME_W)[0]
    middle = rng.choice(MIDDLE_F if female else MIDDLE_M)
    given = rng.choice(GIVEN_F if female else GIVEN_M)
    name = f"{surname} {middle} {given}"
    year = rng.randint(1950, 2006)
    century_sex = (0 if year < 2000 else 2) + (1 if female else 0)
    birth_place = home_gso.zfill(3) if home_gso and rng.random() < 0.8 else rng.choice(GSO_3)
    cid = f"{birth_place}{century_sex}{year % 100:02d}{rng.randrange(10**6):06d}"
    phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
    local = fold(given + surname).lower() if rng.random() < 0.5 else fold(given + middle[0] + surname[0]).lower()
    email = f"{local}{rng.randint(1, 9999) if rng.random() < 0.7 else year}@{rng.choice(MAIL_DOMAINS)}"
    ward = rng.choice(wards) if wards else f"Phường {rng.randint(1, 12)}"
    address = f"Số {rng.randint(1, 350)} {rng.choice(STREETS)}, {ward}, {province_name}"
    return {"ChuHoSo": name, "MaDoiTuong": cid, "SoDienThoai": phone, "Email": email, "DiaChi": address}
