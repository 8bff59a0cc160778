"""The engineers' docs over HTTP, for `make ui`: Great Expectations Data Docs and dbt's docs.

    /data-docs/…   <data dir>/quality/data_docs (index.html: the last validation runs)
    /dbt-docs/…    <data dir>/dbt/docs (`make docs`: dbt docs generate)

Browsers will not open the `file://` links Dagster used to show; these are http links, served by
Starlette's StaticFiles (conditional requests, no traversal, index.html for a folder), reads only.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pipelines.serve.server import RunningServer, compressed, reads_only, start_in_thread
from pipelines.settings import data_dir

DOCS_PORT = 3001
FOLDERS = {"data-docs": ("quality", "data_docs"), "dbt-docs": ("dbt", "docs")}


def docs_base_url(host: str = "127.0.0.1", port: int = DOCS_PORT) -> str:
    """What check metadata should link to instead of file:// (`<base>/data-docs/<path in data_docs>`)."""
    return f"http://{host}:{port}"


def docs_app(data: Path) -> Starlette:
    routes = []
    for prefix, parts in FOLDERS.items():
        folder = data.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        routes.append(Mount(f"/{prefix}", app=StaticFiles(directory=folder, html=True, check_dir=False)))
    links = "".join(f'<li><a href="/{p}/">{p}</a> ({"/".join(parts)})</li>' for p, parts in FOLDERS.items())
    routes.append(Route("/", lambda request: HTMLResponse(f"<!doctype html><title>Docs</title><ul>{links}</ul>")))
    return Starlette(routes=routes)


def serve_docs(host: str = "127.0.0.1", port: int = DOCS_PORT, data: Path | None = None) -> RunningServer:
    """Start the docs server in a background thread (as `python -m pipelines ui` does)."""
    import uvicorn

    app = reads_only(compressed(docs_app(data or data_dir())))
    return start_in_thread(uvicorn.Config(app, host=host, port=port, lifespan="off", server_header=False, log_level="warning"))
