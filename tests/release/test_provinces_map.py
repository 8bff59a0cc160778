"""The province map's data: the 63 provinces matched to their boundaries by name, today's 34
dissolved from them by the crosswalk, and a code list without the old provinces still mapped."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.lib.release.provinces_map import boundary_shapes, build_map, name_key
from simulator.registry import all_agencies


def code_list() -> pd.DataFrame:
    """The simulator's provinces in the shape of the published `provinces` code list."""
    provinces = [a for a in all_agencies() if a.level == "TINH"]
    rows = [{"agency_code": a.code, "name_vi": a.name_vi, "valid_from": a.valid_from, "valid_to": a.valid_to,
             "current_agency_code": a.successor or a.code} for a in provinces]
    return pd.DataFrame(rows)


def test_every_province_of_before_the_merger_has_a_boundary():
    assert len(boundary_shapes()) == 63
    assert name_key("Tỉnh Bà Rịa - Vũng Tàu") == name_key("Bà Rịa - Vũng Tàu") == "bariavungtau"


def test_63_then_34_with_rates_for_the_latest_months():
    month = date(2025, 6, 1)
    codes = code_list()
    kpi = pd.DataFrame({"period": "month", "geography": "as_was", "period_start": month, "agency_code": codes["agency_code"],
                        "online_dossier_rate": 0.5, "on_time_rate": 0.9})
    content = build_map(codes, {"kpi_transaction_volumes": kpi, "kpi_processed_records": kpi})
    assert len(content["maps"]["63"]["areas"]) == 63 and len(content["maps"]["34"]["areas"]) == 34
    assert content["maps"]["63"]["month"] == "2025-06-01" and content["maps"]["34"]["month"] is None
    assert set(content["maps"]["63"]["values"]["on_time_rate"].values()) == {0.9}
    assert all(area["path"].startswith("M") for area in content["maps"]["34"]["areas"])


def test_a_code_list_with_only_todays_provinces():
    codes = code_list()
    today = codes[codes["valid_from"] >= date(2025, 7, 1)]
    content = build_map(today, {})
    assert content["maps"]["63"]["areas"] == [] and content["height"] > 0


def test_an_unknown_province_name_is_named_in_the_error():
    codes = code_list()
    # A province of before the merger: the 63 are the ones drawn from the boundary set.
    older = codes.index[codes["valid_from"] < date(2025, 7, 1)][0]
    codes.loc[older, "name_vi"] = "Tỉnh Không Có"
    with pytest.raises(ValueError, match="khongco"):
        build_map(codes, {})
