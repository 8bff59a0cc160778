"""Run a Great Expectations suite from expectations/ on a DataFrame, and render the result.

Great Expectations is imported inside functions only: the import costs seconds and hundreds
of MB, and the Dagster code location must load without paying it.

Each expectation's `meta.on_failure` says what a failure does (docs/data-quality.md):
"quarantine" (row-level: the failing rows leave the agency-day), "block" (the agency-day is
kept out of the KPIs) or "warn". Rows are found by position (GX's unexpected_index_list on
the frame's RangeIndex), which also works when a key column is itself null.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipelines.settings import EXPECTATIONS_DIR

ON_FAILURE = ("quarantine", "block", "warn")
# Columns whose values never appear in check metadata, reasons or Data Docs, even hashed.
UNSHOWN_COLUMNS = frozenset({"applicant_id_hash", "status_history"})
SAMPLE_SIZE = 5
# Result keys that grow with the failing rows: read once, then dropped before anything keeps them.
_FULL_LISTS = ("unexpected_list", "unexpected_index_list", "unexpected_index_query", "unexpected_rows")


@dataclass
class Failure:
    expectation: str
    column: str | None
    on_failure: str
    unexpected_count: int | None
    sample: list[str]
    # Column-map expectations: the failing rows' positions and their offending values.
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return self.on_failure == "block"

    @property
    def name(self) -> str:
        return f"{self.expectation} on {self.column}" if self.column else self.expectation

    # The failing rows' keys (e.g. dossier codes), for samples of any subset of them.
    keys: list[str] = field(default_factory=list)

    def restricted(self, start: int, stop: int) -> "Failure":
        """The failure on rows [start, stop) alone, renumbered from 0."""
        picked = [i for i, r in enumerate(self.rows) if start <= r < stop]
        keys = [self.keys[i] for i in picked] if self.keys else []
        values = [self.values[i] for i in picked]
        sample = [f"{k}: {v}" if v else k for k, v in zip(keys[:SAMPLE_SIZE], values)] if keys else self.sample
        return replace(self, rows=[self.rows[i] - start for i in picked], values=values, keys=keys,
                       unexpected_count=len(picked), sample=sample)

    def describe(self) -> str:
        count = f", {self.unexpected_count} rows" if self.unexpected_count is not None else ""
        return f"{self.name}{count}, e.g. {self.sample}"


@dataclass
class SuiteResult:
    suite: str
    rows: int
    evaluated: int
    failures: list[Failure] = field(default_factory=list)
    # The GX validation result with the full lists dropped: what Data Docs render.
    document: Any = None
    # Row-level expectations with their failing rows, passed or not (a `mostly` expectation
    # can pass over a run's rows and fail on one agency-day's): what `part` judges anew.
    row_findings: list[tuple[Failure, float]] = field(default_factory=list)

    def part(self, start: int, stop: int) -> "SuiteResult":
        """The outcome on rows [start, stop) alone (one agency-day of a frame validated once for
        a run): table-level failures apply to every part; row-level ones to the rows they name,
        renumbered from 0, failing where more than 1 − mostly of the part's rows fail."""
        rows = stop - start
        row_level = {id(finding) for finding, _ in self.row_findings}
        failures = [f for f in self.failures if id(f) not in row_level]
        for finding, mostly in self.row_findings:
            mine = finding.restricted(start, stop)
            if mine.rows and len(mine.rows) > (1 - mostly) * rows:
                failures.append(mine)
        return SuiteResult(suite=self.suite, rows=rows, evaluated=self.evaluated, failures=failures,
                           document=self.document)

    def by_action(self, on_failure: str) -> list[Failure]:
        return [f for f in self.failures if f.on_failure == on_failure]

    @property
    def blocking_failures(self) -> list[Failure]:
        return self.by_action("block")

    @property
    def warnings(self) -> list[Failure]:
        return self.by_action("warn")


@lru_cache(maxsize=None)
def load_suite(name: str) -> dict:
    with open(EXPECTATIONS_DIR / f"{name}.json", encoding="utf-8") as fh:
        spec = json.load(fh)
    for item in spec["expectations"]:
        action = item.get("meta", {}).get("on_failure")
        if action not in ON_FAILURE:
            raise ValueError(f"expectations/{name}.json: {item['type']} has meta.on_failure {action!r}; use one of {ON_FAILURE}")
    return spec


def _columns_read(spec: dict) -> frozenset[str]:
    """The columns whose values some expectation of the suite reads."""
    names = set()
    for item in spec["expectations"]:
        kwargs = item["kwargs"]
        names.update(kwargs.get("column_list", ()))
        names.update(kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs)
    return frozenset(names)


def _placeholder(rows: int):
    import numpy as np
    import pandas as pd

    return pd.Categorical.from_codes(np.zeros(rows, dtype=np.int8), categories=["<not validated>"])


def _unread_as_placeholder(frame, read: frozenset[str]):
    """The frame with the columns no expectation reads replaced by a one-category placeholder.

    Their names still count for the column-set expectation, but GX's row filtering (a copy of
    the frame per expectation) no longer drags hundreds of MB of status history along, and
    values derived from personal data (applicant_id_hash) never enter GX's results.
    """
    unread = [c for c in frame.columns if c not in read]
    if not unread:
        return frame
    placeholder = _placeholder(len(frame))
    return frame.assign(**{c: placeholder for c in unread})


def read_for_suite(paths: list, suite_name: str):
    """Parquet files of one schema as one frame for `suite_name`, rows in the files' order: the
    columns it reads loaded, the others never read from disk, present as placeholders (a large
    agency-day's status history stays on disk). One conversion to pandas for all the files: a
    run's agency-days are many small files, and the per-file cost was most of validating them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    read = _columns_read(load_suite(suite_name))
    files = [pq.ParquetFile(path) for path in paths]
    names = files[0].schema_arrow.names
    table = pa.concat_tables([f.read(columns=[c for c in names if c in read]) for f in files])
    frame = table.to_pandas()
    placeholder = _placeholder(len(frame))
    return frame.assign(**{c: placeholder for c in names if c not in read})[names]


def _column_of(kwargs: dict) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_list" in kwargs:
        return ",".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return None


def _shown(column: str | None) -> bool:
    return not (column and any(c in UNSHOWN_COLUMNS for c in column.split(",")))


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)[:200]


@lru_cache(maxsize=None)
def _prepared(suite_name: str):
    """The GX context, suite and batch definition, built once per process and reused."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.execution_engine import pandas_execution_engine
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    # GX fingerprints every in-memory batch (a hash of every cell) for its batch markers: 40 %
    # of validating a million rows. The landed file's SHA-256 identifies the batch instead.
    pandas_execution_engine.HASH_THRESHOLD = 0
    spec = load_suite(suite_name)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    suite = ExpectationSuite(name=spec["name"], meta=spec.get("meta", {}))
    for item in spec["expectations"]:
        suite.add_expectation_configuration(
            ExpectationConfiguration(type=item["type"], kwargs=item["kwargs"], meta=item["meta"])
        )
    batch_definition = (
        context.data_sources.add_pandas("frames")
        .add_dataframe_asset(suite_name)
        .add_batch_definition_whole_dataframe("whole")
    )
    return batch_definition, suite


def validate_frame(
    frame, suite_name: str, *, parameters: dict | None = None, key_column: str | None = "dossier_code",
    run_name: str | None = None,
) -> SuiteResult:
    """Validate `frame` (a RangeIndex is assumed: positions are row numbers) with one suite.

    `parameters` fill the suite's `$PARAMETER` kwargs; samples name the row by `key_column`.
    """
    batch_definition, suite = _prepared(suite_name)
    checked = _unread_as_placeholder(frame, _columns_read(load_suite(suite_name)))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": checked})
    result = batch.validate(
        suite,
        result_format={"result_format": "COMPLETE", "partial_unexpected_count": SAMPLE_SIZE,
                       "return_unexpected_index_query": False},
        expectation_parameters=parameters or {},
    )
    keys = frame[key_column] if key_column in getattr(frame, "columns", ()) else None
    outcome = SuiteResult(suite=suite_name, rows=len(frame), evaluated=len(result.results), document=result)
    for item in result.results:
        details = item.result or {}
        config = item.expectation_config
        row_level = "unexpected_index_list" in details
        failure = _failure(config, details, keys, frame) if row_level or not item.success else None
        if not item.success:
            outcome.failures.append(failure)
        if row_level:
            outcome.row_findings.append((failure, config.kwargs.get("mostly", 1.0)))
        for key in _FULL_LISTS:
            details.pop(key, None)
        if not _shown(_column_of(item.expectation_config.kwargs)):
            details.pop("partial_unexpected_list", None)
            details.pop("partial_unexpected_counts", None)
    result.meta["run_id"] = {"run_name": run_name or suite_name, "run_time": datetime.now(timezone.utc).isoformat()}
    return outcome


def _failure(config, details: dict, keys, frame=None) -> Failure:
    column = _column_of(config.kwargs)
    shown = _shown(column)
    rows = [int(i) for i in details.get("unexpected_index_list") or []]
    if shown and rows and frame is not None and config.kwargs.get("column") in getattr(frame, "columns", ()):
        # Read from the frame: GX caps unexpected_list (200 values) but not the index list.
        values = [_text(v) for v in frame[config.kwargs["column"]].iloc[rows]]
    else:
        values = [_text(v) for v in details.get("unexpected_list") or []]
    if not shown or len(values) != len(rows):
        values = [""] * len(rows)
    row_keys = [str(keys.iloc[r]) for r in rows] if keys is not None else []
    if rows and row_keys:
        sample = [f"{k}: {v}" if v else k for k, v in zip(row_keys[:SAMPLE_SIZE], values)]
    elif not shown:
        sample = ["<not shown>"]
    elif "partial_unexpected_list" in details:
        sample = [_text(v) for v in details["partial_unexpected_list"][:SAMPLE_SIZE]]
    else:
        sample = [_text(details.get("observed_value"))]
    return Failure(
        expectation=config.type,
        column=column,
        on_failure=(config.meta or {}).get("on_failure", "block"),
        unexpected_count=details.get("unexpected_count"),
        sample=sample,
        rows=rows,
        values=values,
        keys=row_keys,
    )


@lru_cache(maxsize=None)
def _page_view():
    """GX's page view, built once per process (its templates compile on first use)."""
    from great_expectations.render.view.view import DefaultJinjaPageView

    return DefaultJinjaPageView()


# GX's page template loads 15 stylesheets and scripts from CDNs (Bootstrap, jQuery, Vega…), so
# Data Docs rendered unstyled offline. They are replaced by one small local stylesheet, inlined:
# smaller than the tags it replaces, so a page weighs no more, and no relative path to get wrong
# at any folder depth. What is lost is only script-driven: table sorting and Vega charts.
CDN_TAG = re.compile(r'<(?:link[^>]+href|script[^>]+src)="https?://[^"]*"[^>]*>(?:\s*</script>)?\s*', re.IGNORECASE)
OFFLINE_CSS = Path(__file__).with_name("expectations_offline.css")


REMOTE_LOGO = re.compile(r'src="https://great-expectations-web-assets[^"]*/(logo-long\.png)[^"]*"')
STATIC_PREFIX = re.compile(r'href="((?:\.\./|\./)*)static/images/favicon\.ico"')


def offline(page: str) -> str:
    """A GX page with no network resource: its CDN tags out, the local stylesheet in, the logo
    from the site's own static folder (at the depth GX computed for the favicon)."""
    style = " ".join(OFFLINE_CSS.read_text(encoding="utf-8").split())
    prefix = STATIC_PREFIX.search(page)
    page = REMOTE_LOGO.sub(lambda m: f'src="{prefix.group(1) if prefix else ""}static/images/{m.group(1)}"', page)
    return CDN_TAG.sub("", page).replace("</head>", f"<style>{style}</style></head>", 1)


def render_validation_html(outcome: SuiteResult) -> str:
    """The validation result as a Great Expectations Data Docs page, readable offline."""
    from great_expectations.render.renderer.page_renderer import ValidationResultsPageRenderer

    return offline(_page_view().render(ValidationResultsPageRenderer().render(outcome.document)))


def render_suite_html(suite_name: str) -> str:
    """The suite itself as a Data Docs page (what each expectation asks), readable offline."""
    from great_expectations.render.renderer.page_renderer import ExpectationSuitePageRenderer

    _batch_definition, suite = _prepared(suite_name)
    return offline(_page_view().render(ExpectationSuitePageRenderer().render(suite)))


def static_assets_dir() -> Path:
    """Data Docs' fonts, images and styles, as shipped inside the GX package."""
    import great_expectations

    return Path(great_expectations.__file__).parent / "render" / "view" / "static"
