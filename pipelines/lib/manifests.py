"""The landed agency-days' manifests, each file read once.

After a year the raw tree holds some 30,000 manifests, and reading all of them was most of the
freshness report's time (about 6 s in the registry's check, 3 s more in every release). So the
rows read are kept in a memo beside the tree, each under its file's identity (path, inode,
modification time in ns, size): a manifest rewritten by a re-landing has a new inode and time,
so it is read again, and one removed drops out. The memo is derived state: deleting it costs
one full read, never a wrong answer.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.lib.landing import partition_files, write_table_atomic

IDENTITY = pa.schema([("path", pa.string()), ("inode", pa.int64()), ("mtime_ns", pa.int64()), ("size", pa.int64())])
COLUMNS = ("agency_code", "day", "source_total")


def memo_file(root: Path) -> Path:
    return root.parent / f".{root.name}-manifests.parquet"


def _identities(root: Path, name: str) -> pa.Table:
    files = partition_files(root, name)
    return pa.table([[f[0] for f in files], [f[3].st_ino for f in files], [f[3].st_mtime_ns for f in files],
                     [f[3].st_size for f in files]], schema=IDENTITY)


def manifest_rows(root: Path, name: str) -> list[tuple[str, date, int]]:
    """(agency_code, day, source_total) of every manifest `root/date=*/agency=*/<name>`, reading
    only the files the memo does not know as they are now; the memo is rewritten when it changed."""
    identities = _identities(root, name)
    memo = memo_file(root)
    with duckdb.connect() as con:
        con.register("found", identities)
        con.execute("create table kept (path varchar, inode bigint, mtime_ns bigint, size bigint, "
                    "agency_code varchar, day date, source_total bigint)")
        con.execute("create table remembered as from kept")
        if memo.exists():
            con.execute(f"insert into remembered from read_parquet('{memo}')")
            con.execute("insert into kept select m.* from remembered m join found using (path, inode, mtime_ns, size)")
        unread = [r[0] for r in con.execute("select path from found anti join kept using (path) order by path").fetchall()]
        if unread:
            con.execute(
                "insert into kept select f.path, f.inode, f.mtime_ns, f.size, r.agency_code, r.day, r.source_total "
                "from read_parquet($files, filename = true) r join found f on f.path = r.filename", {"files": unread})
        [(kept, remembered)] = con.execute("select (select count(*) from kept), (select count(*) from remembered)").fetchall()
        if unread or kept != remembered:
            write_table_atomic(con.sql("select * from kept order by path").to_arrow_table(), memo)
        return con.execute(f"select {', '.join(COLUMNS)} from kept order by path").fetchall()

