"""store/_compat.py adds DuckDB's pre-2.0 fetch names back so Ibis 12 runs on DuckDB 2.

The patch is kept (rather than pinning DuckDB below 2) because DuckDB 2 is what constraints.txt
records; these tests say when it can go: the first fails once Ibis calls DuckDB 2's own names.
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

DUCKDB_MAJOR = int(duckdb.__version__.split(".")[0])

# Runs in a fresh interpreter so that no seemingly import has patched DuckDB yet.
_UNPATCHED = """
import ibis
con = ibis.duckdb.connect()
t = ibis.memtable({"a": [1, 2, 3]})
print(con.list_tables(), sum(b.num_rows for b in con.to_pyarrow_batches(t)))
"""


@pytest.mark.skipif(DUCKDB_MAJOR < 2, reason="the patch only matters on DuckDB 2")
def test_ibis_still_needs_the_patch_on_duckdb_2() -> None:
    proc = subprocess.run([sys.executable, "-c", _UNPATCHED], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0, (
        "Ibis now runs on DuckDB 2 without store/_compat.py: delete the module, its two calls "
        "(store/__init__.py, store/core.py) and this test")
    assert "fetch_" in proc.stderr  # it failed for the reason the patch exists, not another


def test_the_patch_makes_ibis_work_and_is_idempotent() -> None:
    import ibis

    from seemingly.store._compat import patch_duckdb

    patch_duckdb()
    patch_duckdb()  # a second call must not wrap the alias in itself
    con = ibis.duckdb.connect()
    t = ibis.memtable({"a": [1, 2, 3]})
    assert sum(b.num_rows for b in con.to_pyarrow_batches(t)) == 3
    assert isinstance(con.list_tables(), list)
    con.disconnect()
