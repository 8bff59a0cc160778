"""The query API at /api/: Datasette over each release's SQLite database, read-only.

    /api/v1-2-0/kpi_scores.json?agency_level=province&_sort=rank_in_level&_size=50
    /api/v1-2-0/kpi_scores.csv?...&_stream=on      every matching row, as CSV
    /api/latest/<anything>                          302 to the current release's database

Each release that is not withdrawn is one immutable database, named `v<major>-<minor>-<patch>`
(`metadata.database_name`). Datasette gives filters on any column (`col=`, `col__gte=`, …),
`_col=` to choose columns, `_sort`, keyset paging with `next_url`, facets (`_facet=`), row pages
and a SQL endpoint, all under the limits in `metadata.API`, which every response states in its
headers. When a release is published or withdrawn, the next API request sees it: the Datasette
instance is rebuilt from releases.json (a stat per request, a rebuild per publication).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from datasette.app import Datasette
from datasette.database import Database
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from pipelines.lib.release import metadata
from pipelines.lib.release.database import DATABASE_FILE
from pipelines.lib.release.versioning import INDEX_FILE, RELEASES_DIR, WITHDRAWN, read_index
from pipelines.serve.files import current_version

PREFIX = "/" + metadata.API["path"]  # "/api/"
LATEST_DB = "latest"
SETTINGS = {
    "base_url": PREFIX,
    "max_returned_rows": metadata.API["max_page_size"],
    "default_page_size": metadata.API["default_page_size"],
    "sql_time_limit_ms": metadata.API["sql_time_limit_ms"],
    "facet_time_limit_ms": metadata.API["facet_time_limit_ms"],
    "max_csv_mb": metadata.API["max_csv_mb"],
    "allow_download": False,  # the database is a release file already, with its checksum
    "suggest_facets": False,  # facets on request only: no hidden queries on every page
    "num_sql_threads": 2,
}
LIMIT_HEADERS = [
    (b"x-max-page-size", str(metadata.API["max_page_size"]).encode()),
    (b"x-default-page-size", str(metadata.API["default_page_size"]).encode()),
    (b"x-query-time-limit-ms", str(metadata.API["sql_time_limit_ms"]).encode()),
    (b"link", b'</latest/open-data.md>; rel="describedby"'),
]


def api_metadata(root: Path, versions: list[str]) -> dict:
    """Datasette's metadata: title, licence, source, and each table's and column's description,
    from each release's own datapackage.json."""
    databases = {}
    for version in versions:
        package = json.loads((root / RELEASES_DIR / version / "datapackage.json").read_text(encoding="utf-8"))
        tables = {}
        for resource in package["resources"]:
            if resource.get("type") == "table" and resource.get("encoding") == "utf-8":
                tables[resource["name"]] = {
                    "description": resource.get("description", ""),
                    "columns": {f["name"]: f.get("description", "") for f in resource["schema"]["fields"]},
                }
        databases[metadata.database_name(version)] = {
            "title": f"Phiên bản / Release {version}",
            "description": f"Kỳ / period {package['period']['start']} … {package['period']['end']}; tính đến / data as of {package['dataAsOf']}.",
            "tables": tables,
        }
    return {
        "title": f"{metadata.TITLE['vi']} / {metadata.TITLE['en']}",
        "description": "API truy vấn (chỉ đọc) / Read-only query API. "
                       f"≤ {metadata.API['max_page_size']} dòng mỗi trang / rows a page; "
                       f"≤ {metadata.API['sql_time_limit_ms']} ms mỗi truy vấn / a query.",
        "license": metadata.LICENSE["title"],
        "license_url": metadata.LICENSE["path"],
        "source": metadata.PUBLISHER["name"]["en"],
        "source_url": metadata.base_url(),
        "databases": databases,
    }


def served_versions(root: Path) -> list[str]:
    """Releases whose database the API serves: not withdrawn, database present."""
    return [r["version"] for r in read_index(root)["releases"]
            if r["status"] != WITHDRAWN and (root / RELEASES_DIR / r["version"] / DATABASE_FILE).is_file()]


def build_datasette(root: Path) -> ASGIApp:
    versions = served_versions(root)
    ds = Datasette(metadata=api_metadata(root, versions), settings=SETTINGS)
    for version in versions:
        path = root / RELEASES_DIR / version / DATABASE_FILE
        ds.add_database(Database(ds, path=str(path), is_mutable=False), name=metadata.database_name(version))
    return ds.app()


class QueryAPI:
    """The ASGI app for everything under /api/: Datasette, rebuilt when releases.json changes,
    with `latest` redirected and the limits stated on every response."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._app: ASGIApp | None = None

    def current(self) -> ASGIApp:
        index = self.root / INDEX_FILE
        stamp = (index.stat().st_mtime_ns, index.stat().st_size) if index.exists() else None
        with self._lock:
            if self._app is None or stamp != self._stamp:
                self._app, self._stamp = build_datasette(self.root), stamp
            return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        latest = f"{PREFIX}{LATEST_DB}"
        if path == latest or path.startswith(latest + "/") or path.startswith(latest + "."):
            version = current_version(self.root)
            if version is not None:
                query = scope.get("query_string", b"").decode("latin-1")
                target = PREFIX + metadata.database_name(version) + path[len(latest):] + (f"?{query}" if query else "")
                await RedirectResponse(target, status_code=302, headers={"cache-control": "no-cache"})(scope, receive, send)
                return

        async def stating_limits(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *LIMIT_HEADERS]}
            await send(message)

        # Datasette expects the prefix removed, as a proxy does, and adds `base_url` to its links.
        inner = PREFIX.rstrip("/")
        raw = scope.get("raw_path") or path.encode()
        scope = {**scope, "path": path[len(inner):] or "/", "raw_path": raw[len(inner):] or b"/"}
        await self.current()(scope, receive, stating_limits)
