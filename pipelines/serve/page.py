"""The catalogue page at `/`, rendered on the server from the current release's own files.

Everything a person needs is in the HTML itself, so the page works with JavaScript off: what the
data is and how fresh (Vietnamese and English), the downloads, the data dictionary, the releases,
"cite this" and the contact, and schema.org `Dataset` markup for dataset search engines. The
script (static/app.js) only adds what needs a request: the first rows of each table (from the
API), the charts (charts.json) and the map (map.json), all small whatever the history.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipelines.lib.release import metadata
from pipelines.lib.release.companions import CHARTS, DATABASE, DOCS, MAP
from pipelines.lib.release.versioning import RELEASES_DIR, read_index
from pipelines.serve.files import STATIC_DIR, current_version

TEMPLATES = Path(__file__).parent / "templates"
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
FORMATS = [("", ".csv", "CSV"), ("-excel", ".excel.csv", "CSV (Excel)"), ("-parquet", ".parquet", "Parquet"), ("-json", ".json", "JSON")]


def _moment(value: str | date | datetime) -> datetime | date:
    if isinstance(value, (date, datetime)):
        return value
    return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)


def day_vi(value) -> str:
    d = _moment(value)
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def day_en(value) -> str:
    d = _moment(value)
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def moment_vi(value) -> str:
    m = _moment(value)
    return f"{m:%H:%M} ngày {day_vi(m)}" if isinstance(m, datetime) else day_vi(m)


def moment_en(value) -> str:
    m = _moment(value)
    if not isinstance(m, datetime):
        return day_en(m)
    offset = m.utcoffset()
    zone = "" if offset is None else f" (UTC{'+' if offset.total_seconds() >= 0 else '-'}{abs(int(offset.total_seconds())) // 3600})"
    return f"{day_en(m)}, {m:%H:%M}{zone}"


def count(value: int) -> str:
    """12345 → '12 345' (a narrow no-break space groups thousands, read the same in both languages)."""
    return f"{value:,}".replace(",", "\u202f")


def size(value: int) -> str:
    for unit, step in (("MB", 1 << 20), ("kB", 1 << 10)):
        if value >= step:
            return f"{value / step:.1f} {unit}"
    return f"{value} B"


def table_cards(package: dict) -> list[dict]:
    """One card per table: titles, description, rows, key, downloads with sizes, dictionary."""
    resources = {r["name"]: r for r in package["resources"]}
    cards = []
    for table in package["tables"]:
        resource = resources[table["name"]]
        vi, en = metadata.table_title(table["name"])
        downloads = [{"label": label, "path": resources[table["name"] + suffix]["path"],
                      "bytes": resources[table["name"] + suffix]["bytes"]}
                     for suffix, _, label in FORMATS if table["name"] + suffix in resources]
        cards.append({"name": table["name"], "kind": table["kind"], "title_vi": vi, "title_en": en,
                      "description": resource.get("description", ""), "rows": resource.get("rows", 0),
                      "key": resource["schema"].get("primaryKey", []), "fields": resource["schema"]["fields"],
                      "downloads": downloads})
    return cards


def dataset_jsonld(package: dict, version: str) -> str:
    """schema.org Dataset markup (what dataset search engines read)."""
    base = metadata.base_url()
    release = f"{base}{RELEASES_DIR}/{version}/"
    data = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": metadata.TITLE["en"],
        "alternateName": metadata.TITLE["vi"],
        "description": f"{metadata.DESCRIPTION['en']} {metadata.DESCRIPTION['vi']}",
        "url": base,
        "version": version,
        "identifier": f"{metadata.DATASET_NAME}/{version}",
        "keywords": metadata.KEYWORDS["vi"] + metadata.KEYWORDS["en"],
        "license": metadata.LICENSE["path"],
        "isAccessibleForFree": True,
        "inLanguage": ["vi", "en"],
        "creator": {"@type": "Organization", "name": metadata.PUBLISHER["name"]["en"], "email": metadata.PUBLISHER["email"]},
        "publisher": {"@type": "Organization", "name": metadata.PUBLISHER["name"]["en"], "email": metadata.PUBLISHER["email"]},
        "datePublished": package["published"],
        "dateModified": package["dataAsOf"],
        "temporalCoverage": f"{package['period']['start']}/{package['period']['end']}",
        "spatialCoverage": {"@type": "Place", "name": "Việt Nam / Vietnam"},
        "distribution": [
            {"@type": "DataDownload", "encodingFormat": r["mediatype"], "contentUrl": release + r["path"], "name": r["title"]}
            for r in package["resources"] if r["format"] in ("csv", "parquet", "sqlite") and r.get("encoding") != "utf-8-sig"
        ],
    }
    # `</` cannot close the script element from inside a string.
    return json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")


def citation(package: dict, version: str) -> str:
    year = _moment(package["published"]).year
    return (f"{metadata.PUBLISHER['name']['en']} ({year}). {metadata.TITLE['en']} "
            f"[{metadata.TITLE['vi']}], version {version}. {metadata.base_url()}{RELEASES_DIR}/{version}/. "
            f"{metadata.LICENSE['title']}.")


class CataloguePage:
    """Renders `/` for an open-data folder; the HTML is kept until `latest` or the index changes."""

    def __init__(self, root: Path):
        self.root = Path(root)
        env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        env.filters.update(day_vi=day_vi, day_en=day_en, moment_vi=moment_vi, moment_en=moment_en, count=count, size=size)
        self.template = env.get_template("index.html")
        self._cache: tuple[tuple, str] | None = None

    def _stamp(self, version: str | None) -> tuple:
        files = [self.root / "releases.json"] + ([self.root / RELEASES_DIR / version / "freshness.json"] if version else [])
        return (version, STATIC_DIR.stat().st_mtime_ns, TEMPLATES.stat().st_mtime_ns,
                *((f.stat().st_mtime_ns if f.exists() else None) for f in files))

    def render(self) -> str:
        version = current_version(self.root)
        stamp = self._stamp(version)
        if self._cache and self._cache[0] == stamp:
            return self._cache[1]
        html = self.template.render(**self.context(version))
        self._cache = (stamp, html)
        return html

    def context(self, version: str | None) -> dict:
        index = read_index(self.root)
        context = {"meta": metadata, "version": version, "releases": index["releases"]}
        if version is None:
            return context
        folder = self.root / RELEASES_DIR / version
        package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        freshness = folder / "freshness.json"
        names = {r["path"] for r in package["resources"]}
        context.update(
            package=package,
            release=next((r for r in index["releases"] if r["version"] == version), {}),
            database=metadata.database_name(version),
            api=metadata.API,
            cards=table_cards(package),
            freshness=json.loads(freshness.read_text(encoding="utf-8")) if freshness.exists() else None,
            jsonld=dataset_jsonld(package, version),
            citation=citation(package, version),
            companions=[c for c in (DATABASE, *DOCS.values()) if c.name in names],
            has_map=MAP.name in names,
            has_charts=CHARTS.name in names,
            resources={r["path"]: r for r in package["resources"]},
        )
        return context
