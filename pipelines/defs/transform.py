"""The dbt project as Dagster assets: every model an asset, every dbt test an asset check."""

import sys
from collections.abc import Mapping, Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging.version import Version

from pipelines.lib import dbt_runs
from pipelines.settings import DBT_PROJECT_DIR, warehouse_path

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class InstalledDbt(DbtCliResource):
    """The dbt-core installed beside this Python, started once per build.

    Before each build dagster-dbt runs `dbt --version` (a second start of dbt, about 5 s, which
    also asks PyPI for the latest release: a call beyond loopback) and opens dbt's adapter in
    the run's own process (about 2 s) for the row counts and column metadata it can fetch, which
    these assets do not ask for. Here the version is the installed package's, and no adapter is
    opened: the build itself is unchanged (tests/validation/test_dbt_rules.py)."""

    @classmethod
    def beside_this_python(cls, project: DbtProject) -> "InstalledDbt":
        """The dbt next to this interpreter, so a run works without the venv on PATH."""
        return cls(project_dir=project, dbt_executable=str(Path(sys.executable).parent / "dbt"))

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


class FolderTranslator(DagsterDbtTranslator):
    """Asset groups follow the dbt folders (staging, intermediate, marts): one picture, two views."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] != "model":
            return super().get_group_name(dbt_resource_props)
        folders = dbt_resource_props["fqn"][1:-1]
        return folders[0] if folders else "models"


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=FolderTranslator(),
    pool="duckdb_writer",
)
def kpi_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build`: models and their data tests, in dependency order; dbt is the warehouse's only
    writer. dbt's unit tests (fixed inputs, the KPI rules) test the SQL, not the data: they run in
    the test suite (tests/validation/test_dbt_rules.py), not in every build, where they were two
    thirds of a day's build."""
    warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    target = dbt_runs.build_dir(context.run.run_id)
    dbt_runs.reuse_parse_state(target)
    try:
        yield from dbt.cli(["build", "--exclude-resource-type", "unit_test"], context=context, target_path=target).stream()
    finally:
        dbt_runs.keep_parse_state(target)
        dbt_runs.prune_builds()
