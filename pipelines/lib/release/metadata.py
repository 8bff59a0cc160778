"""What every release says about itself: titles, publisher, licence, update frequency.

One place, read by the Frictionless descriptor, the DCAT catalogue and the catalogue page, so
that the three never disagree. Vietnamese first, English beside it.
"""

from __future__ import annotations

import os

DATASET_NAME = "vn-egov-kpi"
TITLE = {
    "vi": "Chỉ số đánh giá dịch vụ công trực tuyến của các bộ, ngành và địa phương",
    "en": "Vietnam e-government service KPIs of ministries and provinces",
}
DESCRIPTION = {
    "vi": (
        "Hồ sơ đã xử lý, mức độ cung cấp dịch vụ công trực tuyến và khối lượng giao dịch của các "
        "bộ, ngành và tỉnh, thành phố theo từng cơ quan và ngày, tính từ nhật ký một cửa của các cơ "
        "quan (Quyết định 766/QĐ-TTg), kèm các danh mục mã cơ quan, tỉnh và thủ tục hành chính."
    ),
    "en": (
        "Processed records, online service coverage and transaction volumes of Vietnam's ministries "
        "and provinces per agency and day, computed from their one-stop-shop service logs "
        "(Decision 766/QĐ-TTg), with the code lists of agencies, provinces and procedures."
    ),
}
KEYWORDS = {
    "vi": ["dịch vụ công trực tuyến", "chính phủ điện tử", "thủ tục hành chính", "Quyết định 766"],
    "en": ["online public services", "e-government", "administrative procedures", "KPI"],
}
PUBLISHER = {
    "name": {"vi": "Nhóm dữ liệu mở chỉ số chính phủ điện tử", "en": "Vietnam e-government KPI open-data team"},
    "email": "opendata@egov-kpi.example.vn",
}
LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0 International",
}
ACCRUAL = {"frictionless": "daily", "eu": "http://publications.europa.eu/resource/authority/frequency/DAILY"}


def base_url() -> str:
    """Where the download server publishes `data/open/` (absolute IRIs in the DCAT catalogue)."""
    url = os.environ.get("EGOV_OPEN_DATA_URL", "http://127.0.0.1:8000/")
    return url if url.endswith("/") else url + "/"
