"""The code location loads without Great Expectations, and registers the checks it should, with
dbt test severities mapped to blocking checks (error) and warnings (warn)."""

import os
import subprocess
import sys

from pipelines.settings import REPO_ROOT

CHECK_IMPORT = """
import sys
import pipelines.definitions
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "great_expectations")
print(len(loaded))
assert not loaded, loaded[:5]
"""


def test_loading_the_code_location_does_not_import_great_expectations():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-c", CHECK_IMPORT], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0"


def test_the_validation_checks_are_registered_with_their_blocking_flags():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    blocking = {(key.asset_key.to_user_string(), key.name): graph.get_check_spec(key).blocking
                for key in graph.asset_check_keys}
    sources = ("raw_dossiers", "procedure_catalogue", "agency_registry", "validated_dossiers", "validated_procedures")
    assert {k: v for k, v in blocking.items() if k[0] in sources} == {
        # What a run pulled: a report (blocking them would stop every agency-day of the run).
        ("raw_dossiers", "raw_dossiers_pulled"): False,
        ("procedure_catalogue", "procedure_catalogue_pulled"): False,
        # What validation decided, per agency-day inside the run (the gate blocks agency-days itself).
        ("validated_dossiers", "raw_dossiers_expectations"): True,
        ("validated_dossiers", "raw_dossiers_partition_expectations"): True,
        ("validated_dossiers", "raw_dossiers_volume"): False,
        ("validated_procedures", "procedure_catalogue_expectations"): True,
        ("agency_registry", "agency_registry_expectations"): True,
        ("agency_registry", "agency_freshness"): False,  # the freshness report in the UI: a warning
    }
    # dbt tests: severity warn -> a non-blocking check, error (the default) -> a blocking one.
    assert blocking["int_dossier_state_intervals",
                    "relationships_int_dossier_state_intervals_procedure_code__procedure_code__ref_stg_procedures_"] is False
    assert blocking["stg_dossier_versions", "unique_combination_stg_dossier_versions_dossier_code__updated_at"] is True
    assert blocking["stg_validated_partitions", "not_greater_than_stg_validated_partitions_landed__source_total"] is True
