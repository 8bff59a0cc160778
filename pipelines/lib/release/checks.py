"""The checks a release must pass before `latest` may point at it.

Any problem is a reason not to publish; each one is named so that the failure says what to fix.
"""

from __future__ import annotations

import copy
import hashlib
import json
import multiprocessing
import os
import re
import tempfile
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from itertools import repeat
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from rdflib import Graph
from rdflib.namespace import DCAT, RDF

from pipelines.lib.release.checksums import read_sums, verify_sums
from pipelines.lib.release.formats import BOM, CSV, EXCEL_CSV

# Shapes of personal data in a text cell: e-mail, 9-12 digit ID numbers, phone numbers, and the
# keyed hash of an ID (published tables may not carry it either). Codes and names never match.
PERSONAL_PATTERNS = {
    "e-mail": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "ID number": re.compile(r"(?<![\w.])\d{9}(\d{3})?(?![\w.])"),
    "phone number": re.compile(r"(?<![\w.])(\+84|0)\d{9,10}(?![\w.])"),
    "hashed ID": re.compile(r"\b[0-9a-f]{64}\b"),
}
# A worker process costs about a second to start (Frictionless imported): worth it past this much.
BYTES_PER_WORKER = 8 * 2**20
PERSONAL_COLUMNS = re.compile(r"applicant|chu_ho_so|phone|email|address|id_hash", re.IGNORECASE)


def frictionless_errors(package_file: Path, previous: Path | None = None) -> list[str]:
    """Frictionless on the package: its metadata, then every table's bytes, hash and rows
    against its schema, keys included. The rows of each CSV for Excel are not parsed a second
    time: that file is its CSV's bytes after a BOM (`excel_copy_problems`). A CSV whose schema
    the `previous` release (its folder) published too has only its new lines parsed
    (`new_rows_problems`). The rest runs in worker processes when large, largest first. A file
    with no schema (Parquet, JSON, SQLite, the documents) has only bytes and a hash to check:
    `stated_problems` holds them to SHA256SUMS, whose digests `verify_sums` takes from every
    file (Frictionless read a year's 300 MB of them again, 1.2 s)."""
    from frictionless import FrictionlessException, Package  # heavy import: only when a release is checked

    package = Package(str(package_file))
    try:
        package.to_descriptor(validate=True)
    except FrictionlessException as exception:
        return [error.message for error in exception.to_errors()]
    descriptor = json.loads(package_file.read_text(encoding="utf-8"))
    earlier = _resources(previous / package_file.name) if previous and (previous / package_file.name).exists() else {}
    problems, whole = [], {}
    for resource in descriptor["resources"]:
        if resource["path"].endswith(EXCEL_CSV.suffix) or "schema" not in resource:
            continue
        found = new_rows_problems(package_file.parent, resource, package.get_resource(resource["name"]), previous, descriptor) \
            if _same_table(resource, earlier.get(resource["name"])) else None
        if found is None:
            whole[resource["name"]] = (package_file.parent / resource["path"]).stat().st_size
        else:
            problems += found
    names = sorted(whole, key=lambda name: -whole[name])
    workers = min(os.cpu_count() or 1, 1 + sum(whole.values()) // BYTES_PER_WORKER)
    if workers == 1:
        return problems + [problem for name in names for problem in report_problems(package.get_resource(name))]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return problems + [problem for found in pool.map(resource_errors, repeat(package_file), names) for problem in found]


def resource_errors(package_file: Path, name: str) -> list[str]:
    """Frictionless on one resource of the package (its foreign keys resolved within it)."""
    from frictionless import Package

    return report_problems(Package(str(package_file)).get_resource(name))


def report_problems(resource, note: str = "") -> list[str]:
    """Frictionless's findings on a resource of a package, each named by its task."""
    report = resource.validate()
    return [f"{task.name}{note}: {error.message}" for task in report.tasks for error in task.errors] + \
        [error.message for error in report.errors]


def _resources(package_file: Path) -> dict[str, dict]:
    return {r["name"]: r for r in json.loads(package_file.read_text(encoding="utf-8"))["resources"]}


def _same_table(resource: dict, earlier: dict | None) -> bool:
    """A CSV the previous release published at the same path with the same schema, dialect and
    encoding, and no `unique` constraint (a check of some lines could not see a repeat)."""
    if earlier is None or resource.get("format") != "csv" or "schema" not in resource or resource["path"] != earlier["path"]:
        return False
    same = all(resource.get(k) == earlier.get(k) for k in ("schema", "dialect", "encoding"))
    return same and not any(f.get("constraints", {}).get("unique") for f in resource["schema"]["fields"])


def new_rows_problems(folder: Path, resource: dict, table, previous: Path, package: dict) -> list[str] | None:
    """A CSV checked against a previous release of it with the same schema, as Frictionless
    checks it whole, without parsing again what the previous release's check parsed: a year's
    CSVs took 22 s on one core, though a day changes a few of their lines.

    Frictionless parses the lines that are not in the previous file (header first) against the
    schema; the whole file is then held to what no single line shows: its size, hash and row
    count as the package states them, a unique primary key and foreign keys that resolve (both
    in DuckDB, over the cells as written). A line break inside a
    cell (a quoted field over two lines: more lines than the rows the package states), or a new
    header, sends the file to Frictionless whole (None)."""
    path = folder / resource["path"]
    data = path.read_bytes()
    problems = [] if as_stated(data, resource) else [f"{resource['name']}: size or hash differs from datapackage.json"]
    header, *lines = data.split(b"\n")
    old_header, *old_lines = (previous / resource["path"]).read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if header != old_header or len(lines) != resource.get("rows"):
        return None  # a line that is not a row (a cell over two lines, or a row lost): whole
    held = set(old_lines)
    new = [line for line in lines if line not in held]
    if new:
        with tempfile.TemporaryDirectory() as scratch:
            (Path(scratch) / path.name).write_bytes(b"\n".join([header, *new]) + b"\n")
            part = table.to_copy()
            part.basepath, part.path, part.hash, part.bytes, part.rows = scratch, path.name, None, None, None
            part.schema.primary_key, part.schema.foreign_keys = [], []  # over the whole file, below
            problems += report_problems(part, " (lines new since the previous release)")
    return problems + key_problems(folder, resource, package)


def key_problems(folder: Path, resource: dict, package: dict) -> list[str]:
    """The CSV's primary key is unique and its foreign keys resolve, over the cells as text."""
    import duckdb

    paths = {r["name"]: r["path"] for r in package["resources"]}
    schema = resource["schema"]
    problems = []
    with duckdb.connect() as con:
        tables: dict[str, str] = {}

        def csv(path: str) -> str:
            """The CSV's cells as text, read once."""
            if path not in tables:
                tables[path] = f"csv_{len(tables)}"
                con.execute(f"create temp table {tables[path]} as from read_csv('{folder / path}', header = true, all_varchar = true)")
            return tables[path]

        key = ", ".join(f'"{c}"' for c in schema.get("primaryKey", []))
        if key:
            [(repeated,)] = con.execute(
                f"select count(*) from (select {key} from {csv(resource['path'])} group by all having count(*) > 1)").fetchall()
            if repeated:
                problems.append(f"{resource['name']}: {repeated} primary key value(s) repeated")
        for foreign in schema.get("foreignKeys", []):
            fields, reference = foreign["fields"], foreign["reference"]
            target = paths.get(reference["resource"], resource["path"]) if reference["resource"] else resource["path"]
            on = " and ".join(f'r."{t}" = s."{f}"' for f, t in zip(fields, reference["fields"]))
            present = " and ".join(f's."{f}" is not null' for f in fields)
            [(missing,)] = con.execute(f"select count(*) from {csv(resource['path'])} s anti join {csv(target)} r on {on} "
                                       f"where {present}").fetchall()
            if missing:
                problems.append(f"{resource['name']}: {missing} row(s) whose {', '.join(fields)} is not in {reference['resource']}")
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
        if not as_stated(data, resource):
            problems.append(f"{excel.name}: size or hash differs from datapackage.json")
    return problems


def stated_problems(folder: Path, package: dict) -> list[str]:
    """Each resource has the size its file has and the hash SHA256SUMS lists for it (which
    `verify_sums` checks against the file's bytes)."""
    sums = read_sums(folder)
    return [f"{r['path']}: size or hash in datapackage.json differs from the file or SHA256SUMS"
            for r in package["resources"]
            if (folder / r["path"]).stat().st_size != r["bytes"] or r["hash"] != f"sha256:{sums.get(r['path'])}"]


def as_stated(data: bytes, resource: dict) -> bool:
    """Whether a file's bytes have the size and hash its resource in datapackage.json states."""
    return len(data) == resource["bytes"] and resource["hash"] == f"sha256:{hashlib.sha256(data).hexdigest()}"


def format_mismatches(tables: dict[str, tuple[pa.Table, Path]]) -> list[str]:
    """The Parquet and JSON files hold exactly the table that was exported."""
    problems = []
    for name, (table, parquet) in tables.items():
        if not pq.read_table(parquet).equals(table):
            problems.append(f"{parquet.name} differs from the exported table")
        # orjson: the same values as the json module, parsed in a third of the time
        if not json_holds(orjson.loads(parquet.with_suffix(".json").read_bytes()), table):
            problems.append(f"{name}.json differs from the exported table")
    return problems


def json_holds(records: list[dict], table: pa.Table) -> bool:
    """Whether the records are the table's rows, dates and times as ISO 8601. Compared column by
    column: building a dict per row of a year's tables was most of this check's 4 s."""
    names = table.column_names
    if len(records) != table.num_rows or any(len(record) != len(names) for record in records):
        return False
    for name in names:
        values = table.column(name).to_pylist()
        if pa.types.is_temporal(table.schema.field(name).type):
            values = [None if v is None else v.isoformat() for v in values]
        try:
            if [record[name] for record in records] != values:
                return False
        except KeyError:
            return False
    return True


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


def check_release(folder: Path, tables: dict[str, tuple[pa.Table, Path]], previous: Path | None = None) -> list[str]:
    """Every problem found in the release folder; empty when it may be published. `previous`:
    the folder of the release before it, whose checked rows need no parsing again."""
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    with ThreadPoolExecutor(1) as background:  # Frictionless, in its own processes, beside the other checks
        frictionless = background.submit(frictionless_errors, folder / "datapackage.json", previous)
        problems = excel_copy_problems(folder, package)
        problems += [f"SHA256SUMS: {name} does not match" for name in verify_sums(folder)]
        problems += stated_problems(folder, package)
        problems += format_mismatches(tables)
        problems += personal_data_findings({name: table for name, (table, _) in tables.items()})
        problems += dcat_problems(folder / "dcat.jsonld", len(package["resources"]) + 1)
        return [f"frictionless: {e}" for e in frictionless.result()] + problems
