"""The store: validate contract tables into an embedded DuckDB file and open it with Ibis.

Analysis code takes any :class:`StoreLike` (the DuckDB :class:`Store`, or the Spark store of
:func:`open_spark_store`) and speaks Ibis to it.

>>> from seemingly.store import ingest, open_data, open_store  # doctest: +SKIP
>>> report = ingest("data/", "work/store.duckdb")  # doctest: +SKIP
>>> store = open_store("work/store.duckdb")  # doctest: +SKIP
>>> store = open_data("data/", "work/")  # doctest: +SKIP
"""

from __future__ import annotations

from seemingly.store._compat import patch_duckdb
from seemingly.store.base import StoreLike
from seemingly.store.core import Store, open_store
from seemingly.store.dataset import dataset_label_settings, dataset_language
from seemingly.store.ingest import ingest, open_data, store_from_frames, validate
from seemingly.store.ingest_report import IngestReport, TableReport
from seemingly.store.rules import RULES

patch_duckdb()

__all__ = [
    "IngestReport",
    "RULES",
    "Store",
    "StoreLike",
    "TableReport",
    "dataset_label_settings",
    "dataset_language",
    "ingest",
    "open_data",
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
