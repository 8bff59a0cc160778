"""Parsing agency payloads: every variant, broken records, and no personal data out."""

import json
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyarrow as pa

import orjson

from pipelines.lib.agency_api import _parse_page
from pipelines.lib.columnar import page_drift, parse_one_by_one, parse_page, parse_records
from pipelines.lib.payload import (
    DOSSIER_SCHEMA,
    QUARANTINE_SCHEMA,
    PayloadError,
    Rejected,
    parse_dossier,
    parse_timestamp,
    quarantine_rows,
    records_from_csv,
    schema_drift,
)
from pipelines.lib.pii import hash_personal_id

KEY = b"test-key"
DAY = date(2025, 3, 4)
AGENCY = "000.00.00.H26"


def v1_record(**overrides) -> dict:
    record = {
        "MaHoSo": f"{AGENCY}-250304-0007",
        "MaTTHC": "1.001234",
        "MaDonVi": AGENCY,
        "NgayNopHoSo": "20250304081500",
        "NgayTiepNhan": "20250304090000",
        "NgayHenTra": "20250311170000",
        "NgayKetThucXuLy": "20250312100000",
        "NgayTra": None,
        "TrangThaiHoSo": 9,
        "KenhThucHien": 2,
        "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP1", "Gia": 50000, "NgayThu": "20250304090000"}],
        "DuocThanhToanTrucTuyen": 1,
        "DanhSachGiayToKetQua": [{"TenGiayTo": "Giấy phép", "DuongDanTepTin": "https://x/1.pdf"}],
        "DanhSachHoSoBoSung": [
            {"NgayYeuCauBoSung": "20250305100000", "NgayNhanBoSung": "20250306100000",
             "NgayHenTraCu": "20250311170000", "NgayHenTraMoi": "20250312170000"}
        ],
        "ChuHoSo": "Nguyễn Văn An",
        "MaDoiTuong": "001203004567",
        "SoDienThoai": "0912345678",
        "Email": "an.nguyen@example.vn",
        "DiaChi": "12 Hàng Bài, Hoàn Kiếm, Hà Nội",
        "LoaiDoiTuong": 1,
        "QuaTrinhXuLy": [{"TrangThai": 1, "ThoiDiem": "20250304081500", "DonViXuLy": "Bộ phận một cửa"}],
        "NgayCapNhat": "20250312100000",
    }
    record.update(overrides)
    return record


def test_v1_record_becomes_a_canonical_row_without_personal_data():
    row = parse_dossier(v1_record(), AGENCY, DAY, KEY)
    assert row["dossier_code"] == f"{AGENCY}-250304-0007"
    assert row["accepted_at"] == datetime(2025, 3, 4, 9, 0)
    assert row["extended_due_at"] == datetime(2025, 3, 12, 17, 0)
    assert (row["status"], row["channel"], row["online_payment"]) == (9, 2, 1)
    assert row["fee_amount_vnd"] == 50000 and row["fee_count"] == 1
    assert row["has_electronic_result"] is True and row["supplement_count"] == 1
    assert row["applicant_type"] == "citizen"
    assert row["applicant_id_hash"] == hash_personal_id("001203004567", KEY)
    flat = json.dumps(row, default=str, ensure_ascii=False)
    for personal in ("Nguyễn Văn An", "001203004567", "0912345678", "an.nguyen@example.vn", "Hàng Bài"):
        assert personal not in flat


def test_iso_dates_and_text_applicant_types_read_the_same():
    iso = v1_record(NgayTiepNhan="2025-03-04T09:00:00", NgayCapNhat="2025-03-12T10:00:00+07:00",
                    LoaiDoiTuong="DOANH_NGHIEP")
    row = parse_dossier(iso, AGENCY, DAY, KEY)
    assert row["accepted_at"] == datetime(2025, 3, 4, 9, 0)
    assert row["updated_at"] == datetime(2025, 3, 12, 10, 0)
    assert row["applicant_type"] == "business"


def test_camel_case_fields_read_the_same():
    camel = {k[:1].lower() + k[1:]: v for k, v in v1_record(LoaiDoiTuong="HKD").items()}
    camel["danhSachLePhi"] = [{"tenPhiLePhi": "x", "gia": 70000}]
    row = parse_dossier(camel, AGENCY, DAY, KEY)
    assert row["dossier_code"] == f"{AGENCY}-250304-0007"
    assert row["fee_amount_vnd"] == 70000
    assert row["applicant_type"] == "household_business"


def test_csv_rows_with_json_cells_read_the_same():
    record = v1_record()
    header = list(record)
    cells = [json.dumps(v, ensure_ascii=False) if isinstance(v, list) else ("" if v is None else str(v))
             for v in record.values()]
    import csv
    import io
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, cells])
    (parsed,) = list(records_from_csv(buffer.getvalue()))
    assert parse_dossier(parsed, AGENCY, DAY, KEY) == parse_dossier(record, AGENCY, DAY, KEY)


def test_null_channel_means_in_person():
    assert parse_dossier(v1_record(KenhThucHien=None), AGENCY, DAY, KEY)["channel"] == 1


@pytest.mark.parametrize("value", ["20250231090000", "2025-13-01T00:00:00", "yesterday", "2025030409"])
def test_impossible_timestamps_are_errors_that_name_the_field(value):
    with pytest.raises(PayloadError, match="NgayTiepNhan"):
        parse_dossier(v1_record(NgayTiepNhan=value), AGENCY, DAY, KEY)


def test_rejects_keep_a_reason_and_no_personal_data():
    good = v1_record()
    broken = v1_record(MaHoSo=f"{AGENCY}-250304-0008", NgayTiepNhan="20250231090000")
    rows, rejected = parse_records([good, broken, dict(good), "junk"], AGENCY, DAY, KEY)
    assert rows.num_rows == 1
    reasons = sorted(r.reason.split(":")[0] for r in rejected)
    assert reasons == ["duplicate", "record is not an object", "unparseable"]
    quarantined = quarantine_rows(rejected, AGENCY, DAY, "parse")
    text = json.dumps(quarantined, default=str, ensure_ascii=False)
    assert "Nguyễn Văn An" not in text and "001203004567" not in text and "0912345678" not in text
    assert hash_personal_id("001203004567", KEY) in text


def test_a_dossier_of_another_agency_is_rejected_naming_both():
    with pytest.raises(PayloadError, match=f"MaDonVi: a dossier of agency '000.00.00.H31' in the feed of agency {AGENCY}"):
        parse_dossier(v1_record(MaDonVi="000.00.00.H31"), AGENCY, DAY, KEY)
    assert parse_dossier(v1_record(MaDonVi=None), AGENCY, DAY, KEY)["agency_code"] == AGENCY


def test_missing_required_fields_are_named():
    with pytest.raises(PayloadError, match="MaTTHC"):
        parse_dossier(v1_record(MaTTHC=None), AGENCY, DAY, KEY)


def test_timestamp_formats():
    assert parse_timestamp("20250101000000", "f") == datetime(2025, 1, 1)
    assert parse_timestamp("2025-01-01T07:00:00Z", "f") == datetime(2025, 1, 1, 14, 0)
    assert parse_timestamp(None, "f") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=10,
)
field_names = st.sampled_from(list(v1_record()) + ["maHoSo", "KenhNop", "MaBuuChinh", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.dictionaries(field_names, json_values, max_size=25),
    st.builds(lambda k, v: {**v1_record(), k: v}, field_names, json_values),
    st.builds(lambda k, v: {**v1_record(), k: v}, field_names, st.integers(min_value=-2**70, max_value=2**70)),
    json_values,
), max_size=8))
def test_random_and_broken_records_never_crash_and_are_each_accounted_for(records):
    rows, rejected = parse_records(records, AGENCY, DAY, KEY)
    assert rows.num_rows + len(rejected) == len(records)
    assert all(r.reason for r in rejected)
    # What is rejected can be quarantined; and the page, read by column, is what the record
    # parser makes of each record.
    pa.Table.from_pylist(quarantine_rows(rejected, AGENCY, DAY, "parse"), schema=QUARANTINE_SCHEMA)
    assert_read_as_records(records, rows, rejected)


def assert_read_as_records(records: list, rows: pa.Table, rejected: list[Rejected]) -> None:
    # The record parser, one record at a time: what a page read by column must equal.
    expected_rows, expected_rejected = parse_one_by_one(records, AGENCY, DAY, KEY)
    assert rows.to_pylist() == expected_rows.to_pylist()
    assert rejected == expected_rejected


def camel_cased(value):
    """v3: camelCase names at every level."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel_cased(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_cased(v) for v in value]
    return value


def csv_cells(record: dict) -> dict:
    """v4: every value as CSV text, lists as JSON text, null empty."""
    return {k: ("" if v is None else json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else str(v))
            for k, v in record.items()}


timestamps = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda t: t.strftime("%Y%m%d%H%M%S") if t.year >= 1000 else t.isoformat()),
    st.datetimes(min_value=datetime(1000, 1, 1)).map(lambda t: t.replace(microsecond=0).isoformat()),
    st.sampled_from(["20250230000000", "00000101000000", "20251301000000", "2025-02-29T00:00:00",
                     "2025-01-01 07:00:00", "2025-01-01T07:00:00+07:00", "2025-01-01T07:00", " 20250101000000",
                     "20250101235960", "", None, 20250101000000]),
)
steps = st.fixed_dictionaries({"TrangThai": st.one_of(st.integers(-3, 12), st.sampled_from(["2", 2.0, True, None])),
                               "ThoiDiem": timestamps, "DonViXuLy": st.one_of(st.text(max_size=8), st.none())})
# One or two fields of a good record changed: odd but readable values, and bad ones.
changed_fields = {
    "NgayTiepNhan": timestamps, "NgayCapNhat": timestamps, "NgayTra": timestamps,
    "TrangThaiHoSo": st.one_of(st.integers(-2, 40000), st.sampled_from(["9", " 9", "9.0", 9.5, False])),
    "KenhThucHien": st.sampled_from([None, "", 1, 2, 3, "2", 2.0]),
    "LoaiDoiTuong": st.sampled_from([1, 2, 3, "1", "DN", "CONG_DAN", "hkd", "2.0", 9, None, ""]),
    "MaDoiTuong": st.one_of(st.text(max_size=14), st.integers(0, 10**12), st.none()),
    "MaDonVi": st.sampled_from([AGENCY, None, "", " " + AGENCY, "000.00.00.H31"]),
    "MaHoSo": st.sampled_from([f"{AGENCY}-1", f" {AGENCY}-2", f"{AGENCY}-3\x1c", f"{AGENCY}-4\u3000", "\n", 17, ""]),
    "DanhSachLePhi": st.lists(st.fixed_dictionaries({"Gia": st.one_of(st.integers(-10, 10**16),
                                                                      st.sampled_from(["500", None, 1.5])),
                                                     "TenPhiLePhi": st.text(max_size=4)},
                                                    optional={"MaHoSo": st.just("nested")}), max_size=3),
    # A field the record does not send at all.
    "dropped": st.sampled_from(["MaHoSo", "KenhThucHien", "NgayTra", "DanhSachLePhi", "MaDoiTuong"]),
    "DanhSachGiayToKetQua": st.lists(st.fixed_dictionaries(
        {"DuongDanTepTin": st.sampled_from(["", None, "https://x/1.pdf", 0, 1])}), max_size=2),
    "DanhSachHoSoBoSung": st.lists(st.fixed_dictionaries({"NgayHenTraMoi": timestamps}), max_size=3),
    "QuaTrinhXuLy": st.lists(steps, max_size=4),
}
changes = st.lists(st.one_of(*(st.fixed_dictionaries({k: v}) for k, v in changed_fields.items())), max_size=2)
def changed_record(number: int, changed: list[dict]) -> dict:
    record = v1_record(**{"MaHoSo": f"{AGENCY}-250304-{number:04d}",
                          **{k: v for c in changed for k, v in c.items() if k != "dropped"}})
    for change in changed:
        record.pop(change.get("dropped"), None)
    return record


changed_records = st.builds(changed_record, st.integers(0, 20), changes)
# A page comes from one agency's system: one variant for all its records.
variant_pages = st.builds(lambda variant, records: [variant(r) for r in records],
                          st.sampled_from([lambda r: r, camel_cased, csv_cells]), st.lists(changed_records, max_size=10))


@settings(max_examples=400, deadline=None)
@given(variant_pages)
def test_a_page_read_by_column_is_each_record_read_alone(records):
    rows, rejected = parse_records(records, AGENCY, DAY, KEY)
    assert_read_as_records(records, rows, rejected)


@settings(max_examples=300, deadline=None)
@given(st.lists(changed_records, max_size=10), st.booleans())
def test_a_json_page_read_by_arrow_is_each_record_read_alone(records, camel):
    records = [camel_cased(r) for r in records] if camel else records
    body = orjson.dumps({"items": records, "total": len(records), "next_page_token": None})
    page = _parse_page(body, {"Content-Type": "application/json"})
    rows, rejected = parse_page(page.records, AGENCY, DAY, KEY)
    assert_read_as_records(records, rows, rejected)
    assert page_drift(page.records) == schema_drift(records)


def iso_dated(value):
    """`value` with every `yyyyMMddHHmmss` text inside it written as ISO 8601."""
    if isinstance(value, str) and len(value) == 14 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:8]}T{value[8:10]}:{value[10:12]}:{value[12:]}"
    if isinstance(value, dict):
        return {k: iso_dated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [iso_dated(v) for v in value]
    return value


def test_a_page_of_iso_8601_times_is_read_by_column_as_the_text_sent():
    """Arrow's JSON reader types ISO 8601 text as timestamps, which sent such a page (a whole
    agency's, every page of it) to the record parser one record at a time. It is read again
    with those fields as text, so the columns settle every record."""
    records = [iso_dated(v1_record(MaHoSo=f"{AGENCY}-250304-{n:04}")) for n in range(3)]
    body = orjson.dumps({"items": records, "total": len(records), "next_page_token": None})
    page = _parse_page(body, {"Content-Type": "application/json"})
    rows, rejected = parse_page(page.records, AGENCY, DAY, KEY)
    assert page.records._records is None  # no record was decoded to be read alone
    assert not rejected and rows.equals(parse_one_by_one(records, AGENCY, DAY, KEY)[0])
    assert rows.column("updated_at")[0].as_py() == datetime(2025, 3, 12, 10, 0)


def test_a_field_name_sent_also_inside_a_list_is_not_miscounted_for_drift():
    lacking = v1_record(MaHoSo=f"{AGENCY}-1")
    del lacking["KenhThucHien"]
    nesting = v1_record(MaHoSo=f"{AGENCY}-2", DanhSachLePhi=[{"Gia": 1, "KenhThucHien": 2}])
    body = orjson.dumps({"items": [lacking, nesting], "total": 2, "next_page_token": None})
    page = _parse_page(body, {"Content-Type": "application/json"})
    assert page.records.columns is not None  # read by Arrow: the body's "KenhThucHien": count is 2
    assert page_drift(page.records) == schema_drift([lacking, nesting]) == ([], ["KenhThucHien"])


def test_schema_drift_names_added_and_renamed_fields():
    renamed = {("KenhNop" if k == "KenhThucHien" else k): v for k, v in v1_record().items()}
    renamed["MaBuuChinh"] = "100000"
    camel = {k[:1].lower() + k[1:]: v for k, v in v1_record().items()}
    assert schema_drift([v1_record(), camel]) == ([], [])
    assert schema_drift([v1_record(), renamed]) == (["KenhNop", "MaBuuChinh"], ["KenhThucHien"])
