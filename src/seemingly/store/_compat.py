"""Keep Ibis 10-12 working on DuckDB 2.x.

DuckDB 2.0 renamed ``DuckDBPyConnection.fetch_arrow_table`` / ``fetch_record_batch`` to
``to_arrow_table`` / ``to_arrow_reader``; Ibis <= 12 still calls the old names from
``list_tables``, ``Backend.sql`` and ``to_pyarrow_batches``. We add the old names back as thin
aliases (only when missing) instead of pinning DuckDB below 2.
"""

from __future__ import annotations

import warnings
from typing import Any

import duckdb

__all__ = ["patch_duckdb"]


def _fetch_arrow_table(self: Any) -> Any:
    with warnings.catch_warnings():
        # DuckDB warns that DB-API arrow output copies rows; Ibis chose this path, not us.
        warnings.simplefilter("ignore", UserWarning)
        return self.to_arrow_table()


def _fetch_record_batch(self: Any, rows_per_batch: int = 1_000_000) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return self.to_arrow_reader(rows_per_batch)


def patch_duckdb() -> None:
    """Add the pre-2.0 fetch method names to DuckDB connections if they are missing."""
    cls: Any = duckdb.DuckDBPyConnection
    if not hasattr(cls, "fetch_arrow_table") and hasattr(cls, "to_arrow_table"):
        cls.fetch_arrow_table = _fetch_arrow_table
    if not hasattr(cls, "fetch_record_batch") and hasattr(cls, "to_arrow_reader"):
        cls.fetch_record_batch = _fetch_record_batch
