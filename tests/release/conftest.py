"""One small run of the whole graph (simulator → Dagster → dbt → release) shared by the release tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import run_graph

FIRST_DAY = date(2025, 3, 3)  # a Monday and a Tuesday: ordinary working days
DAYS = [FIRST_DAY, FIRST_DAY + timedelta(days=1)]
SEED = 7


@dataclass
class PipelineRun:
    data: Path
    sim: object
    agencies: list[str]
    days: list[date]

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse" / "kpi.duckdb"

    @property
    def open_dir(self) -> Path:
        return self.data / "open"


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> PipelineRun:
    """The graph for two days × two ministries and three provinces; its kpi_job publishes 1.0.0."""
    from simulator import Simulation

    sim = Simulation(seed=SEED, scale=0.02, faults="none", now=datetime(2025, 3, 5, 6, 0))
    codes = [a["MaDonVi"] for a in sim.agencies() if a["HieuLucDen"] is None or a["HieuLucDen"] >= "2025-03-05"]
    chosen = [c for c in codes if ".G" in c][:2] + [c for c in codes if ".H" in c][:3]
    data, report = run_graph(sim, tmp_path_factory.mktemp("release"), DAYS, chosen)
    assert report.kpi_ok and not report.failed, report
    return PipelineRun(data, sim, chosen, DAYS)


@pytest.fixture
def workspace(pipeline_run, tmp_path) -> PipelineRun:
    """A private copy of the warehouse and an empty open-data folder, to publish into freely."""
    data = tmp_path / "data"
    (data / "warehouse").mkdir(parents=True)
    shutil.copyfile(pipeline_run.warehouse, data / "warehouse" / "kpi.duckdb")
    return PipelineRun(data, pipeline_run.sim, pipeline_run.agencies, pipeline_run.days)


@pytest.fixture(scope="module")
def http_server(pipeline_run):
    """The open-data server (uvicorn, as `make serve` runs it) on a free loopback port."""
    from pipelines.serve.server import serve

    running = serve(pipeline_run.open_dir, port=0, quiet=True)
    yield running.url
    running.stop()
