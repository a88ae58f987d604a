"""The store: validate contract tables into an embedded DuckDB file and open it with Ibis.

>>> from seemingly.store import ingest, open_store  # doctest: +SKIP
>>> report = ingest("data/", "work/store.duckdb")  # doctest: +SKIP
>>> store = open_store("work/store.duckdb")  # doctest: +SKIP
"""

from __future__ import annotations

from seemingly.store._compat import patch_duckdb
from seemingly.store.core import Store, open_store
from seemingly.store.ingest import ingest, store_from_frames, validate
from seemingly.store.ingest_report import IngestReport, TableReport
from seemingly.store.rules import RULES

patch_duckdb()

__all__ = [
    "IngestReport",
    "RULES",
    "Store",
    "TableReport",
    "ingest",
    "open_store",
    "store_from_frames",
    "validate",
]


def __getattr__(name: str) -> object:
    # The Spark store needs pyspark (the `spark` extra): import it only when asked for.
    if name in ("open_spark_store", "write_spark_store"):
        from seemingly.store import spark

        return getattr(spark, name)
    raise AttributeError(f"module 'seemingly.store' has no attribute {name!r}")
