"""Helpers the tests share."""

import json

import duckdb

def serve(sim, tmp_path, monkeypatch):
    """Start `sim` on 127.0.0.1 and point the pipeline at it, as `make run` does."""
    from simulator import start_server

    server, base_url = start_server(sim)
    tokens_file = tmp_path / "tokens.json"
    tokens_file.write_text(json.dumps({a["MaDonVi"]: sim.token(a["MaDonVi"]) for a in sim.agencies()}))
    monkeypatch.setenv("EGOV_SOURCE_URL", base_url)
    monkeypatch.setenv("EGOV_AGENCY_TOKENS_FILE", str(tokens_file))
    return server


def read_marts(data_dir, names) -> dict:
    """KPI marts straight from the warehouse (read-only), codes kept as strings."""
    with duckdb.connect(str(data_dir / "warehouse" / "kpi.duckdb"), read_only=True) as con:
        return {name: con.execute(f"select * from {name}").df() for name in names}


def run_graph(sim, root, days, agencies) -> tuple:
    """The whole graph (registry, agency-days, KPIs) against `sim` on loopback, on an ephemeral
    Dagster instance, into `root`/data; returns (data directory, run report)."""
    import dagster as dg
    import pytest

    monkeypatch = pytest.MonkeyPatch()
    data = root / "data"
    data.mkdir()
    monkeypatch.setenv("EGOV_DATA_DIR", str(data))
    server = serve(sim, root, monkeypatch)
    try:
        from pipelines.definitions import defs
        from pipelines.runner import run_days

        with dg.DagsterInstance.ephemeral() as instance:
            report = run_days(defs, instance, days, agencies=agencies)
    finally:
        server.shutdown()
        monkeypatch.undo()
    return data, report
