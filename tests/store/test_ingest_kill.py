"""Killing an ingest mid-way leaves the previous store intact (atomic os.replace)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

from seemingly.store import ingest, open_store


def _big_input(folder: Path, n_offers: int) -> None:
    folder.mkdir()
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'p' || range AS product_id, 'title ' || range AS title, 'toys' AS category, "
        f"1.0 + range AS price FROM range(1000)) TO '{folder}/products.parquet'"
    )
    con.execute(
        f"COPY (SELECT 'o' || range AS offer_id, TIMESTAMP '2024-01-01' + to_seconds(range) "
        f"AS timestamp, 'u' || (range % 5000) AS user_id, 'query ' || (range % 3000) AS query, "
        f"'p' || (range % 1000) AS product_id, range % 7 = 0 AS engaged, range % 13 = 0 AS "
        f"purchased FROM range({n_offers})) TO '{folder}/offers.parquet'"
    )
    con.close()


def test_kill_mid_ingest_keeps_previous_store(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    (small / "products.csv").write_text("product_id,title,category,price\np1,Milk,grocery,1\n")
    db = tmp_path / "store.duckdb"
    ingest(small, db)
    before = open_store(db)
    products_before = before.table("products").to_pandas()
    report_before = before.report
    before.close()

    big = tmp_path / "big"
    _big_input(big, 2_000_000)
    code = "import sys; from seemingly.store import ingest; ingest(sys.argv[1], sys.argv[2])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(big), str(db)])
    tmp_file = db.with_name(f"{db.name}.tmp-{proc.pid}")
    deadline = time.monotonic() + 60
    while not tmp_file.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0.3)  # let it write for a moment
    assert proc.poll() is None, "ingest finished before it could be killed; make the input bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert tmp_file.exists()  # the half-built store is left behind, under its temporary name

    after = open_store(db)
    assert after.report == report_before
    assert not after.has("offers")
    pd.testing.assert_frame_equal(after.table("products").to_pandas(), products_before)
    after.close()

    # The next ingest removes the dead process's leftover and succeeds.
    ingest(small, db)
    assert not tmp_file.exists()
    assert not list(tmp_path.glob("store.duckdb.tmp-*"))
