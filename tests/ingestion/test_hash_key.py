"""Applicants' ID numbers are hashed with a secret key: without one, production refuses to run."""

from datetime import date

import dagster as dg
import pytest

from pipelines.defs.resources import AgencyApi, DayLocks, HashKey
from pipelines.defs.sources import raw_dossiers
from pipelines.lib.pii import DEMO_HASH_KEY, MissingHashKey, hash_key_from_env, hash_personal_id


def test_without_a_key_production_refuses_with_a_clear_message(monkeypatch):
    monkeypatch.delenv("EGOV_HASH_KEY", raising=False)
    with pytest.raises(MissingHashKey, match="EGOV_HASH_KEY"):
        hash_key_from_env(allow_demo=False)
    monkeypatch.setenv("EGOV_HASH_KEY", DEMO_HASH_KEY)
    with pytest.raises(MissingHashKey, match="demo key"):
        hash_key_from_env(allow_demo=False)
    monkeypatch.setenv("EGOV_HASH_KEY", "a-real-secret")
    assert hash_key_from_env(allow_demo=False) == b"a-real-secret"


def test_a_run_without_a_key_stops_before_pulling_anything(monkeypatch, data_dir):
    monkeypatch.delenv("EGOV_HASH_KEY", raising=False)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [raw_dossiers],
            instance=instance,
            partition_key=date(2025, 3, 3).isoformat(),
            # Port 9 (discard) on loopback: nothing listens, so any request would fail loudly.
            resources={"agency_api": AgencyApi(base_url="http://127.0.0.1:9"), "hash_key": HashKey(),
                       "day_locks": DayLocks()},
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_failure)
    assert "EGOV_HASH_KEY" in str(failure.event_specific_data)
    assert not list(data_dir.rglob("*.parquet"))


def test_the_hash_depends_on_the_key():
    assert hash_personal_id("001203004567", b"k1") != hash_personal_id("001203004567", b"k2")
    assert len(hash_personal_id("001203004567", b"k1")) == 64
