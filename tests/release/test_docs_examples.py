"""docs/open-data.md's curl, pandas and DuckDB examples, run as written against the server
(only the host is changed). DuckDB's httpfs example is the one left out: its extension cannot
be installed offline."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import duckdb

DOC = Path(__file__).resolve().parents[2] / "docs" / "open-data.md"
BLOCK = re.compile(r"```(sh|python|sql)\n(.*?)```", re.DOTALL)
HOST = "http://127.0.0.1:8000"


def blocks(kind: str, base: str) -> list[str]:
    return [code.replace(HOST, base) for lang, code in BLOCK.findall(DOC.read_text(encoding="utf-8")) if lang == kind]


def test_the_docs_examples_run(http_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    curls = [b for b in blocks("sh", http_server) if "curl" in b]
    assert len(curls) >= 2
    for block in curls:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    for name in ("kpi_transaction_volumes.parquet", "provinces.csv", "page.json", "online.csv", "counts.json"):
        assert (tmp_path / name).stat().st_size > 0, name  # no 0-byte file from an unfollowed redirect
    namespace: dict = {}
    pythons = blocks("python", http_server)
    assert any("api/latest" in b for b in pythons)
    for block in pythons:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - the documentation's own code
    assert len(namespace["provinces"]) > 0 and not namespace["levels"].empty
    queries = [b for b in blocks("sql", http_server) if "httpfs" not in b]
    assert len(queries) >= 2
    with duckdb.connect() as con:
        for block in queries:
            for statement in (re.sub(r"--[^\n]*", "", s).strip() for s in block.split(";")):
                if statement:
                    assert con.sql(statement).fetchall()
