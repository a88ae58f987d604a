"""What the analysis asks of a store, whatever engine holds the tables: :class:`StoreLike`.

The DuckDB :class:`~seemingly.store.core.Store` and the Spark store both satisfy it; analysis
code types its ``store`` parameters with it and uses nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from seemingly.contract import TABLES
from seemingly.errors import ContractError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

    from seemingly.store.ingest_report import IngestReport

__all__ = ["StoreLike", "STORE_TABLES", "missing_table"]

#: Every table a store can hold: the contract's, the rejected rows, the report and the
#: purchase-history cells derived at ingest (:mod:`seemingly.store.history`).
STORE_TABLES = (*TABLES, "quarantine", "seemingly_meta", "history_cells")


@runtime_checkable
class StoreLike(Protocol):
    """An opened data set: Ibis tables on one engine, plus the report of their ingest.

    Queries are Ibis expressions over :meth:`table`; ``con`` (the Ibis backend) runs them
    and exports results (``store.con.to_csv(expr, path)``).

    Examples
    --------
    >>> def n_offers(store: StoreLike) -> int:
    ...     return int(store.table("offers").count().execute()) if store.has("offers") else 0
    """

    @property
    def path(self) -> str | Path:
        """Where the data lives: a store file, a folder, or a storage URL (Spark)."""
        ...

    @property
    def con(self) -> BaseBackend:
        """The Ibis backend the tables live on."""
        ...

    @property
    def report(self) -> IngestReport:
        """The ingest report: rows accepted and quarantined, warnings, input fingerprint."""
        ...

    def has(self, name: str) -> bool:
        """Whether the store holds table ``name`` (offers, judgments, orders are optional)."""
        ...

    def table(self, name: str) -> ir.Table:
        """The Ibis table ``name``; raise :func:`missing_table`'s error when absent."""
        ...

    def close(self) -> None:
        """Release the engine's resources; the store is unusable afterwards."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


def missing_table(path: str | Path, name: str) -> ContractError | KeyError:
    """The error for asking a store at ``path`` for a table it lacks: how to add a contract
    table, or which names exist for an unknown one."""
    if name in TABLES:
        return ContractError(
            f"the store {path} has no {name!r} table: the input had no {name}.* "
            f"file. Add {name}.parquet (or .csv/.jsonl) to the data folder and ingest "
            f"again, or check store.has({name!r}) and skip this analysis."
        )
    return KeyError(f"no table {name!r} in store {path}; known: {', '.join(STORE_TABLES)}")
