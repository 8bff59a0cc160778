"""Shared fixtures: a data directory per test, and the simulator on loopback."""

import os

import pytest

# Before pipelines.definitions is imported anywhere: the tests hash with the demo key.
os.environ["EGOV_ALLOW_DEMO_KEY"] = "1"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data directory, used by every path the pipeline and dbt compute."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("EGOV_DATA_DIR", str(path))
    return path

