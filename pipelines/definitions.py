"""The Dagster code location: assets, checks, jobs and resources, wired in one place."""

import os

import dagster as dg

from pipelines.defs import publish, sources, transform, validation
from pipelines.defs.freshness import agency_freshness, project_freshness_policy, with_freshness_policy
from pipelines.defs.partitions import DAILY_PARTITIONS
from pipelines.defs.resources import AgencyApi, DayLocks, HashKey
from pipelines.defs.schedules import SCHEDULES
from pipelines.defs.sensors import SENSORS

registry_job = dg.define_asset_job(
    # The agency_freshness check is the freshness sensor's (or a click in the UI), not the pull's.
    "registry_job", selection=dg.AssetSelection.assets(sources.agency_registry) - dg.AssetSelection.checks(agency_freshness),
    description="Pull the agency registry: which agencies each day pulls.",
)
ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets(sources.procedure_catalogue, sources.raw_dossiers, validation.validation),
    partitions_def=DAILY_PARTITIONS,
    description="A range of days for every agency reporting on them (or those the egov/agencies tag names): "
                "catalogues, dossiers, Great Expectations once per suite, and the validated hand-off to dbt.",
)
kpi_job = dg.define_asset_job(
    "kpi_job",
    selection=dg.AssetSelection.assets(transform.kpi_models) | dg.AssetSelection.assets(publish.open_data_export),
    description="dbt build of the KPI models and their tests, then the open-data export.",
)

defs = dg.Definitions(
    # Every run in one process (the backfills' runs too): steps share the run's day locks and
    # pay the code location's imports once.
    executor=dg.in_process_executor,
    # Project-wide policy, in one place: every asset is rebuilt daily (docs/operations.md).
    assets=with_freshness_policy(
        [
            sources.agency_registry,
            sources.procedure_catalogue,
            sources.raw_dossiers,
            validation.validation,
            *validation.validated_agency_days,
            transform.kpi_models,
            publish.open_data_export,
        ],
        project_freshness_policy(),
    ),
    asset_checks=[
        validation.agency_registry_expectations,
        agency_freshness,
    ],
    jobs=[registry_job, ingest_job, kpi_job],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources={
        "agency_api": AgencyApi(
            base_url=dg.EnvVar("EGOV_SOURCE_URL"), tokens_file=dg.EnvVar("EGOV_AGENCY_TOKENS_FILE")
        ),
        "hash_key": HashKey(allow_demo_key=os.environ.get("EGOV_ALLOW_DEMO_KEY") == "1"),
        "day_locks": DayLocks(),
        "dbt": transform.InstalledDbt.beside_this_python(transform.DBT_PROJECT),
    },
)
