"""Purchase history per offer, summed into *history cells* once at ingest.

Whether the user bought the offered product (or its brand) strictly before the offer is the
only factor of the hypothesis tests that needs every offer joined to the purchase log: two
hash joins of every offer on (user, product) and (user, brand), then a group-by. Every other
factor belongs to the (query, product) pair or the product. The joins depend on the offers,
orders and product brands alone (no analysis setting), so the store computes them once, when
it is written, and keeps the result: one row per (query, product, query length, purchased,
history, history brand) with ``offers`` and ``engagements`` counts, a few hundred thousand
rows for 10M offers. Each later analysis (hypotheses, the study's corrected re-run) reads that
table instead of joining the offers again; a store without it (written by an older release,
or on Spark) computes the same expression on the fly.

The expressions are plain Ibis, so the ingest and the on-the-fly path are one definition:
:mod:`seemingly.explain.factors` builds its purchases and history cells from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
from ibis import _

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "HISTORY_TABLE",
    "HISTORY_VERSION",
    "Purchases",
    "history_cells",
    "offer_purchases",
    "offer_rows",
    "stored_history_cells",
    "sum_cells",
    "with_history",
    "write_history_cells",
]

#: The store table of history cells (not a contract table: derived, rebuilt by every ingest).
HISTORY_TABLE = "history_cells"
#: Bumped whenever the cells' definition changes: a store with another version (or none)
#: is read as if it had no cells, and the analysis computes them itself.
HISTORY_VERSION = "1"
#: The cells' grouping keys, then their counts.
CELL_KEYS = ("query", "product_id", "query_length", "purchased", "history", "history_brand")


@dataclass(frozen=True)
class Purchases:
    """Every purchase once: the offers' own and the orders' others."""

    buys: ir.Table  # purchased offers: user_id, product_id, timestamp
    outside: ir.Table | None  # order rows that are not an offer's purchase (all order columns)
    all: ir.Table  # buys and outside: user_id, product_id, timestamp


def offer_purchases(offers: ir.Table, orders: ir.Table | None) -> Purchases:
    """The offers' purchases and the orders' rows that are not one of them.

    Order histories often hold the search purchases too (the simulator writes each one as an
    order). Counted twice, an offer's own purchase would survive the leave-one-out popularity
    and sit in the baskets its co-purchase relation is read from; so an order row matching an
    offer purchase (user, product, timestamp) is that same purchase.
    """
    buys = offers.filter(_.purchased).select("user_id", "product_id", "timestamp")
    if orders is None:
        return Purchases(buys=buys, outside=None, all=buys)
    # (the select makes it one node, so the SQL computes the anti-join once for all its uses
    # instead of once each)
    outside = orders.anti_join(buys, ["user_id", "product_id", "timestamp"]).select(
        *orders.columns
    )
    return Purchases(
        buys=buys, outside=outside,
        all=buys.union(outside.select("user_id", "product_id", "timestamp")),
    )


def with_history(offers: ir.Table, purchases: ir.Table, products: ir.Table) -> ir.Table:
    """Offers (user_id, product_id, timestamp, ...) plus ``history`` and ``history_brand``.

    The only joins made once per offer: whether the user bought the product, or its brand,
    strictly before the offer depends on the offer's own timestamp (the offer's own purchase
    has that same timestamp, so it never counts).
    """
    brands = products.filter(_.brand.notnull()).select("product_id", "brand")
    first_buy = purchases.group_by(["user_id", "product_id"]).agg(first_buy=_.timestamp.min())
    # a brand's first purchase is the earliest first purchase of any of its products: grouping
    # the (user, product) firsts again is cheaper than a second pass over every purchase
    first_brand = (
        first_buy.join(brands, "product_id")
        .group_by(["user_id", "brand"])
        .agg(first_brand=_.first_buy.min())
    )
    cols = offers.columns
    x = offers.left_join(first_buy, ["user_id", "product_id"]).select(
        *cols, history=(_.first_buy < _.timestamp).fill_null(False).cast("int64")
    )
    x = x.left_join(brands, "product_id").select(*cols, "history", "brand")
    return x.left_join(first_brand, ["user_id", "brand"]).select(
        *cols, "history",
        history_brand=(_.first_brand < _.timestamp).fill_null(False).cast("int64"),
    )


def offer_rows(offers: ir.Table, **extra: Any) -> ir.Table:
    """The offer columns the factors use, outcomes as 0/1 integers (engaged includes
    purchased); ``extra`` are further named columns (``offer_id=_.offer_id``)."""
    return offers.select(
        "query", "user_id", "product_id", "timestamp", "query_length",
        purchased=_.purchased.cast("int64"), engaged=(_.engaged | _.purchased).cast("int64"),
        **extra,
    )


def sum_cells(hist: ir.Table, **extra: Any) -> ir.Table:
    """Offers with history (:func:`with_history`) summed per cell: ``offers`` and
    ``engagements`` counts, plus the ``extra`` aggregates."""
    return hist.group_by(list(CELL_KEYS)).agg(
        offers=_.count(), engagements=_.engaged.sum(), **extra
    )


def history_cells(offers: ir.Table, products: ir.Table, orders: ir.Table | None) -> ir.Table:
    """Offers summed per (query, product, query length, purchased, history, history brand):
    ``offers`` and ``engagements`` counts (``purchases`` is ``purchased * offers``)."""
    purchases = offer_purchases(offers, orders).all
    return sum_cells(with_history(offer_rows(offers), purchases, products))


def stored_history_cells(store: object) -> ir.Table | None:
    """The history cells a store keeps (``store.history_cells()``), or None: a store of an
    older release, a Spark store, or a wrapper that does not vouch for them."""
    getter = getattr(store, "history_cells", None)
    return getter() if callable(getter) else None


def write_history_cells(con: duckdb.DuckDBPyConnection) -> bool:
    """``CREATE TABLE history_cells`` in a store being built (offers and products written);
    False when there are no offers.

    Row order carries no meaning here, so DuckDB may keep none (faster, less memory).
    """
    import ibis

    backend = ibis.duckdb.from_connection(con)
    # the store's own tables: an ingest from a DuckDB file has the input attached beside it
    names = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND database_name = current_database()").fetchall()}
    if "offers" not in names:
        return False
    orders = backend.table("orders") if "orders" in names else None
    expr = history_cells(backend.table("offers"), backend.table("products"), orders)
    con.execute("SET preserve_insertion_order = false")
    try:
        # DuckDB sums BIGINTs into a HUGEINT; the table keeps the int64 that Ibis reads
        con.execute(
            f"CREATE TABLE main.{HISTORY_TABLE} AS SELECT * REPLACE "
            f"(CAST(engagements AS BIGINT) AS engagements) FROM ({backend.compile(expr)})"
        )
    finally:
        con.execute("SET preserve_insertion_order = true")
    return True
