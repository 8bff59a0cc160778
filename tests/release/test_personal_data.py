"""No personal data in any published file: the simulator's applicants (names, 12-digit ID
numbers, phones, e-mails, addresses) and their keyed hashes are searched for in every file of
the open-data folder, Parquet and SQLite decoded."""

from __future__ import annotations

import re
import sqlite3

import pyarrow.parquet as pq

from pipelines.lib.release.checks import PERSONAL_PATTERNS

PERSONAL_FIELDS = ("ChuHoSo", "MaDoiTuong", "SoDienThoai", "Email", "DiaChi")


def published_text(open_dir) -> dict[str, str]:
    texts = {}
    for path in sorted(p for p in open_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            texts[str(path)] = "\n".join(",".join(map(str, row.values())) for row in table.to_pylist())
        elif path.suffix == ".sqlite":
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                assert con.execute("pragma freelist_count").fetchone()[0] == 0  # no free page keeps old rows
                tables = [name for (name,) in con.execute("select name from sqlite_master where type = 'table'")]
                texts[str(path)] = "\n".join(",".join(map(str, row)) for t in tables for row in con.execute(f'select * from "{t}"'))
        else:
            texts[str(path)] = path.read_bytes().decode("utf-8")
    return texts


def test_no_applicant_data_in_any_published_file(pipeline_run):
    applicants = {field: set() for field in PERSONAL_FIELDS}
    for code in pipeline_run.agencies:
        for day in pipeline_run.days:
            for dossier in pipeline_run.sim.dossiers(code, day):
                for field in PERSONAL_FIELDS:
                    if dossier.applicant.get(field):
                        applicants[field].add(str(dossier.applicant[field]))
    assert all(len(values) > 20 for values in applicants.values()), {k: len(v) for k, v in applicants.items()}
    hashes = set(pq.read_table(pipeline_run.data / "raw" / "dossiers").column("applicant_id_hash").drop_null().to_pylist())
    assert hashes
    texts = published_text(pipeline_run.open_dir)
    assert len([p for p in texts if p.endswith(".parquet")]) >= 7
    for path, text in texts.items():
        for field, values in applicants.items():
            leaked = [v for v in values if v in text]
            assert not leaked, f"{path}: {field} {leaked[:3]}"
        assert not [h for h in hashes if h in text], f"{path}: hashed applicant IDs"
        assert not PERSONAL_PATTERNS["e-mail"].search(text.replace("opendata@egov-kpi.example.vn", "")), path
        assert not re.search(r"(?<![0-9A-Za-z.])\d{12}(?![0-9A-Za-z.])", text), f"{path}: a 12-digit number"
