"""Run a Great Expectations suite from expectations/ on a DataFrame.

Great Expectations is imported inside `validate_frame` only: the import costs seconds and
hundreds of MB, and the Dagster code location must load without paying it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache

from pipelines.settings import EXPECTATIONS_DIR

# Columns whose values never appear in check metadata, even hashed.
UNSHOWN_COLUMNS = frozenset({"applicant_id_hash", "status_history"})


@dataclass
class Failure:
    expectation: str
    column: str | None
    blocking: bool
    unexpected_count: int | None
    sample: list

    def describe(self) -> str:
        where = f" on {self.column}" if self.column else ""
        count = f", {self.unexpected_count} rows" if self.unexpected_count is not None else ""
        return f"{self.expectation}{where}{count}, e.g. {self.sample}"


@dataclass
class SuiteResult:
    suite: str
    rows: int
    evaluated: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def blocking_failures(self) -> list[Failure]:
        return [f for f in self.failures if f.blocking]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if not f.blocking]


@lru_cache(maxsize=None)
def load_suite(name: str) -> dict:
    with open(EXPECTATIONS_DIR / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


def _column_of(kwargs: dict) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_list" in kwargs:
        return ",".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return None


def _safe_sample(values, column: str | None) -> list:
    if column and any(c in UNSHOWN_COLUMNS for c in column.split(",")):
        return ["<not shown>"]
    return [str(v) for v in (values or [])[:5]]


@lru_cache(maxsize=None)
def _prepared(suite_name: str):
    """The GX context, suite and batch definition, built once per process and reused."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    spec = load_suite(suite_name)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    suite = ExpectationSuite(name=spec["name"])
    for item in spec["expectations"]:
        suite.add_expectation_configuration(
            ExpectationConfiguration(type=item["type"], kwargs=item["kwargs"], meta=item.get("meta", {}))
        )
    batch_definition = (
        context.data_sources.add_pandas("frames")
        .add_dataframe_asset(suite_name)
        .add_batch_definition_whole_dataframe("whole")
    )
    return batch_definition, suite


def validate_frame(frame, suite_name: str) -> SuiteResult:
    batch_definition, suite = _prepared(suite_name)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format="SUMMARY")
    outcome = SuiteResult(suite=suite_name, rows=len(frame), evaluated=len(result.results))
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        column = _column_of(config.kwargs)
        details = item.result or {}
        outcome.failures.append(
            Failure(
                expectation=config.type,
                column=column,
                blocking=bool((config.meta or {}).get("blocking", True)),
                unexpected_count=details.get("unexpected_count"),
                sample=_safe_sample(details.get("partial_unexpected_list"), column)
                if "partial_unexpected_list" in details
                else [str(details.get("observed_value"))[:200]],
            )
        )
    return outcome
