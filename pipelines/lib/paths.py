"""The data directory's layout, in one place.

    raw/agencies/agencies.parquet
    raw/procedures/date=D/agency=A/procedures.parquet
    validated/procedures/date=D/agency=A/procedures.parquet  once its checks passed; what dbt reads
    raw/dossiers/date=D/agency=A/dossiers.parquet         landed, before checks
    raw/.dossiers-manifests.parquet                       a memo of the manifests (manifests.py)
    quarantine/dossiers/date=D/agency=A/quarantine.parquet   rejected at parse
    quarantine/dossiers/date=D/agency=A/validation.parquet   taken out by validation
    validated/dossiers/date=D/agency=A/dossiers.parquet   what dbt reads
    validated/partitions/date=D/agency=A/partition.parquet
    warehouse/kpi.duckdb                                  dbt's, and only dbt writes it
    open/                                                 the published downloads
    open/.suppression-memo.parquet                        a memo of the suppression's solves (release/memo.py)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.lib.landing import partition_path
from pipelines.settings import data_dir

PROCEDURES_FILE = "procedures.parquet"
DOSSIERS_FILE = "dossiers.parquet"
QUARANTINE_FILE = "quarantine.parquet"
# Beside the parse quarantine: the rows validation took out, and which landing it judged.
VALIDATION_QUARANTINE_FILE = "validation.parquet"
PARTITION_FILE = "partition.parquet"


def agencies_file() -> Path:
    return data_dir() / "raw" / "agencies" / "agencies.parquet"


def procedures_root() -> Path:
    return data_dir() / "raw" / "procedures"


def validated_procedures_root() -> Path:
    return data_dir() / "validated" / "procedures"


def raw_dossiers_root() -> Path:
    return data_dir() / "raw" / "dossiers"


def quarantine_root() -> Path:
    return data_dir() / "quarantine" / "dossiers"


def validated_dossiers_root() -> Path:
    return data_dir() / "validated" / "dossiers"


def validated_partitions_root() -> Path:
    return data_dir() / "validated" / "partitions"


def unpublish_validated(agency_code: str, day: date) -> None:
    """The agency-day's dossiers leave validated/ (a re-ingest must pass its checks again)."""
    for root, name in ((validated_dossiers_root(), DOSSIERS_FILE), (validated_partitions_root(), PARTITION_FILE)):
        partition_path(root, day, agency_code, name).unlink(missing_ok=True)


def discard_landed_dossiers(agency_code: str, day: date) -> None:
    """An agency-day whose pull failed keeps nothing landed: no stale landing is validated later."""
    unpublish_validated(agency_code, day)
    for root, name in ((raw_dossiers_root(), DOSSIERS_FILE), (raw_dossiers_root(), PARTITION_FILE),
                       (quarantine_root(), QUARANTINE_FILE), (quarantine_root(), VALIDATION_QUARANTINE_FILE)):
        partition_path(root, day, agency_code, name).unlink(missing_ok=True)


def is_validated(agency_code: str, day: date) -> bool:
    """Whether the agency-day is in validated/, what dbt reads."""
    return partition_path(validated_partitions_root(), day, agency_code, PARTITION_FILE).exists()


def validation_quarantine_file(agency_code: str, day: date) -> Path:
    return partition_path(quarantine_root(), day, agency_code, VALIDATION_QUARANTINE_FILE)


def validated_procedures_file(agency_code: str, day: date) -> Path:
    return partition_path(validated_procedures_root(), day, agency_code, PROCEDURES_FILE)
