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
SUMMARY = {  # one line each, for the first view of the catalogue page
    "vi": "Chỉ số chính phủ điện tử (Quyết định 766/QĐ-TTg) của các bộ, ngành và tỉnh, theo ngày và tháng: tải về, truy vấn, trích dẫn.",
    "en": "Vietnam's e-government KPIs (Decision 766/QĐ-TTg) of ministries and provinces, per day and month: download, query, cite.",
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

# The query API's limits (`make serve`, /api/): one place, read by the server, the responses'
# headers, datapackage.json, the DCAT catalogue and docs/open-data.md's figures.
API = {
    "path": "api/",
    "max_page_size": 1000,  # rows per page at most (`_size=max`); every page links to the next
    "default_page_size": 100,
    "sql_time_limit_ms": 3000,  # a query (filter, sort, SQL) is stopped after this
    "facet_time_limit_ms": 1000,
    "max_csv_mb": 100,  # a CSV export with `_stream=on` returns every row, up to this size
}


def database_name(version: str) -> str:
    """The API's name for a release's database: `v1-2-0` (Datasette would tilde-encode dots)."""
    return "v" + version.replace(".", "-")


def data_service(version: str) -> dict:
    """The query API as datapackage.json describes it (DCAT: a dcat:DataService)."""
    endpoint = f"{base_url()}{API['path']}{database_name(version)}"
    return {
        "title": "API truy vấn / Query API (Datasette)",
        "endpointURL": endpoint,
        "latestURL": f"{base_url()}{API['path']}latest",
        "documentation": f"{base_url()}releases/{version}/open-data.md",
        "formats": ["json", "csv"],
        "limits": {k: v for k, v in API.items() if k != "path"},
        "example": f"{endpoint}/kpi_scores.json?period=month&agency_level=province&_sort=rank_in_level&_size=50",
    }

# Human titles of the published tables (catalogue page, API), Vietnamese and English.
TABLE_TITLES = {
    "kpi_processed_records": ("Hồ sơ đã tiếp nhận và giải quyết", "Dossiers received and processed"),
    "kpi_service_coverage": ("Mức độ cung cấp dịch vụ công trực tuyến", "Online service coverage"),
    "kpi_transaction_volumes": ("Giao dịch trực tuyến và thanh toán", "Online transactions and payments"),
    "kpi_scores": ("Điểm và xếp hạng", "Scores and ranks"),
    "agencies": ("Danh mục cơ quan", "Agencies (code list)"),
    "provinces": ("Danh mục tỉnh, thành phố", "Provinces (code list)"),
    "procedures": ("Danh mục thủ tục hành chính", "Administrative procedures (code list)"),
}


def table_title(name: str) -> tuple[str, str]:
    """(vi, en) title of a table; a table added later shows its name until it is given one."""
    return TABLE_TITLES.get(name, (name, name))
