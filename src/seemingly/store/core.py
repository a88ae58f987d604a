"""The opened DuckDB store: an Ibis DuckDB backend over the accepted tables plus the ingest
report. It is the DuckDB engine's :class:`~seemingly.store.base.StoreLike`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from seemingly.contract import CONTRACT_VERSION
from seemingly.errors import ContractError
from seemingly.store.base import missing_table
from seemingly.store.ingest_report import IngestReport

if TYPE_CHECKING:
    from ibis.backends.duckdb import Backend as DuckDBBackend

__all__ = ["Store", "default_memory_limit", "open_store"]

_GIB = 1024**3


def default_memory_limit() -> str:
    """The DuckDB memory limit seemingly sets when none is given: 4 GB, or half the RAM of a
    smaller machine.

    DuckDB's own default (80 % of RAM) lets one hash join of a large store take most of a
    shared machine; with the limit, DuckDB spills what does not fit to its temp directory
    (beside the store), and the process stays under about 6 GB at 100M offers.
    """
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: assume enough RAM
        ram = 16 * _GIB
    mib = min(4 * _GIB, ram // 2) // 2**20
    return f"{mib}MiB"


class Store:
    """An ingested data set in a DuckDB file. ``con`` is an Ibis DuckDB backend; query with
    Ibis expressions.

    Examples
    --------
    >>> store = open_store("work/store.duckdb")  # doctest: +SKIP
    >>> store.table("offers").purchased.mean().execute()  # doctest: +SKIP
    """

    def __init__(self, path: Path, con: DuckDBBackend, report: IngestReport) -> None:
        self.path = path
        self.con = con
        self.report = report

    def has(self, name: str) -> bool:
        """Whether the store holds table ``name`` (offers, judgments, orders are optional)."""
        rows = self.con.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?", [name]
        ).fetchall()
        return bool(rows)

    def table(self, name: str) -> ir.Table:
        """The Ibis table ``name``; a ContractError says how to add a missing one."""
        if not self.has(name):
            raise missing_table(self.path, name)
        return self.con.table(name)

    def history_cells(self) -> ir.Table | None:
        """The purchase-history cells written at ingest (:mod:`seemingly.store.history`), or
        None for a store written before they existed or under another definition."""
        from seemingly.store.history import HISTORY_TABLE, HISTORY_VERSION

        if not self.has(HISTORY_TABLE):
            return None
        rows = self.con.con.execute(
            "SELECT value FROM seemingly_meta WHERE key = ?", [HISTORY_TABLE]
        ).fetchall()
        if not rows or json.loads(rows[0][0]) != HISTORY_VERSION:
            return None
        return self.con.table(HISTORY_TABLE)

    def close(self) -> None:
        self.con.disconnect()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def open_store(
    path: str | os.PathLike[str], *, read_only: bool = True, memory_limit: str | None = None
) -> Store:
    """Open a store file written by :func:`seemingly.store.ingest`.

    Read-only by default, so several processes (the report, the service) can open it at once.
    DuckDB's memory limit is ``memory_limit`` (default :func:`default_memory_limit`); beyond
    it DuckDB spills to its temp directory (``<store>.tmp`` beside a read-only store).

    Examples
    --------
    >>> with open_store("work/store.duckdb") as store:  # doctest: +SKIP
    ...     store.table("offers").count().execute()
    200000
    """
    from seemingly.store._compat import patch_duckdb

    patch_duckdb()
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"{p}: no store file. Create one with `seemingly ingest DATA --db {p}` "
            f"or seemingly.store.ingest(data, {str(p)!r})."
        )
    con = ibis.duckdb.connect(str(p), read_only=read_only)
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql(f"SET memory_limit = '{memory_limit or default_memory_limit()}'")
    rows = (
        con.con.execute("SELECT value FROM seemingly_meta WHERE key = 'report'").fetchall()
        if _has_meta(con)
        else []
    )
    if not rows:
        con.disconnect()
        raise ContractError(
            f"{p}: not a seemingly store (no seemingly_meta table). Ingest the data with "
            f"`seemingly ingest DATA --db {p}`; a DuckDB database of raw contract tables can "
            f"itself be passed as DATA."
        )
    report = IngestReport.from_dict(json.loads(rows[0][0]))
    if report.contract_version != CONTRACT_VERSION:
        con.disconnect()
        raise ContractError(
            f"{p}: store written for contract v{report.contract_version}, this seemingly speaks "
            f"v{CONTRACT_VERSION}. Ingest the data again."
        )
    return Store(p, con, report)


def _has_meta(con: Any) -> bool:
    return bool(
        con.con.execute(
            "SELECT 1 FROM duckdb_tables() "
            "WHERE schema_name = 'main' AND table_name = 'seemingly_meta'"
        ).fetchall()
    )
