"""The dbt listing function gives what DuckDB's read_blob gave, so rows built before compare equal."""

import os

import duckdb

from pipelines.lib.landed_listing import landed_listing, register


def test_the_listing_is_read_blobs_names_and_times(tmp_path):
    folder = tmp_path / "validated" / "procedures"
    for day, agency in (("date=2025-01-01", "agency=G01"), ("date=2025-01-01", "agency=H29"), ("date=2025-01-02", "agency=G01")):
        (folder / day / agency).mkdir(parents=True)
        (folder / day / agency / "procedures.parquet").write_bytes(b"x")
    os.utime(folder / "date=2025-01-02" / "agency=G01" / "procedures.parquet", ns=(0, 1_796_290_435_460_237_801))
    (folder / "date=2025-01-02" / "agency=H29").mkdir()  # being written: no file yet
    (folder / "date=2025-01-02" / "agency=G01" / ".procedures.parquet.1.tmp").write_bytes(b"")  # a staging file
    (folder / "date=2025-01-02" / "notes.txt").write_text("not an agency folder")

    con = duckdb.connect()
    register(con)  # as the dbt-duckdb plugin does
    ours = con.sql(f"select unnest(landed_listing('{folder}', 'procedures.parquet'), recursive := true) order by 1").fetchall()
    theirs = con.sql(f"select filename, last_modified from read_blob('{folder}/*/*/procedures.parquet') order by 1").fetchall()
    assert len(ours) == 3
    assert ours == theirs
    assert landed_listing(str(tmp_path / "nothing-landed"), "procedures.parquet") == []
