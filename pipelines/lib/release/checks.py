"""The checks a release must pass before `latest` may point at it.

Any problem is a reason not to publish; each one is named so that the failure says what to fix.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from rdflib import Graph
from rdflib.namespace import DCAT, RDF

from pipelines.lib.release.checksums import verify_sums
from pipelines.lib.release.formats import BOM, CSV, EXCEL_CSV

# Shapes of personal data in a text cell: e-mail, 9-12 digit ID numbers, phone numbers, and the
# keyed hash of an ID (published tables may not carry it either). Codes and names never match.
PERSONAL_PATTERNS = {
    "e-mail": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "ID number": re.compile(r"(?<![\w.])\d{9}(\d{3})?(?![\w.])"),
    "phone number": re.compile(r"(?<![\w.])(\+84|0)\d{9,10}(?![\w.])"),
    "hashed ID": re.compile(r"\b[0-9a-f]{64}\b"),
}
PERSONAL_COLUMNS = re.compile(r"applicant|chu_ho_so|phone|email|address|id_hash", re.IGNORECASE)


def frictionless_errors(package_file: Path) -> list[str]:
    """Frictionless on the package: its metadata, then every resource's bytes, hash and (for a
    table) rows against its schema, keys included. The rows of each CSV for Excel are not parsed
    a second time: that file is its CSV's bytes after a BOM (`excel_copy_problems`), and on a
    year of history the second parse was a third of the release's time."""
    from frictionless import FrictionlessException, Package  # heavy import: only when a release is checked

    package = Package(str(package_file))
    try:
        package.to_descriptor(validate=True)
    except FrictionlessException as exception:
        return [error.message for error in exception.to_errors()]
    problems = []
    for resource in package.resources:
        if resource.path.endswith(EXCEL_CSV.suffix):
            continue
        report = resource.validate()
        problems += [f"{task.name}: {error.message}" for task in report.tasks for error in task.errors]
        problems += [error.message for error in report.errors]
    return problems


def excel_copy_problems(folder: Path, package: dict) -> list[str]:
    """Each CSV for Excel holds its CSV's bytes after a BOM, with the size and hash its resource states."""
    problems = []
    for resource in package["resources"]:
        if not resource["path"].endswith(EXCEL_CSV.suffix):
            continue
        excel = folder / resource["path"]
        plain = folder / (resource["path"].removesuffix(EXCEL_CSV.suffix) + CSV.suffix)
        data = excel.read_bytes()
        if data != BOM + plain.read_bytes():
            problems.append(f"{excel.name} is not {plain.name} after a BOM")
        if len(data) != resource["bytes"] or resource["hash"] != f"sha256:{hashlib.sha256(data).hexdigest()}":
            problems.append(f"{excel.name}: size or hash differs from datapackage.json")
    return problems


def format_mismatches(tables: dict[str, tuple[pa.Table, Path]]) -> list[str]:
    """The Parquet and JSON files hold exactly the table that was exported."""
    problems = []
    for name, (table, parquet) in tables.items():
        if not pq.read_table(parquet).equals(table):
            problems.append(f"{parquet.name} differs from the exported table")
        records = json.loads(parquet.with_suffix(".json").read_text(encoding="utf-8"))
        expected = [{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()} for row in table.to_pylist()]
        if records != expected:
            problems.append(f"{name}.json differs from the exported table")
    return problems


def personal_data_findings(tables: dict[str, pa.Table]) -> list[str]:
    """Personal data in any text cell or column name of the published tables."""
    findings = []
    for name, table in tables.items():
        findings += [f"{name}: column `{c}` looks personal" for c in table.column_names if PERSONAL_COLUMNS.search(c)]
        for column in table.column_names:
            if not pa.types.is_string(table.schema.field(column).type):
                continue
            for value in set(table.column(column).drop_null().to_pylist()):
                for kind, pattern in PERSONAL_PATTERNS.items():
                    if pattern.search(value):
                        findings.append(f"{name}.{column}: a value looks like a {kind}")
                        break
    return findings


def dcat_problems(dcat_file: Path, expected_distributions: int) -> list[str]:
    graph = Graph().parse(dcat_file, format="json-ld")
    found = len(set(graph.subjects(RDF.type, DCAT.Distribution)))
    return [] if found == expected_distributions else [f"dcat.jsonld: {found} distributions, expected {expected_distributions}"]


def check_release(folder: Path, tables: dict[str, tuple[pa.Table, Path]]) -> list[str]:
    """Every problem found in the release folder; empty when it may be published."""
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    problems = [f"frictionless: {e}" for e in frictionless_errors(folder / "datapackage.json")]
    problems += excel_copy_problems(folder, package)
    problems += [f"SHA256SUMS: {name} does not match" for name in verify_sums(folder)]
    problems += format_mismatches(tables)
    problems += personal_data_findings({name: table for name, (table, _) in tables.items()})
    problems += dcat_problems(folder / "dcat.jsonld", len(package["resources"]) + 1)
    return problems
