"""One row per judged offer with every factor of the WSDM 2020 hypotheses, as an Ibis expression.

Offers never leave the engine. Three small tables are computed outside and joined back as
in-memory tables: the product-level popularity percentiles, and the text similarity of each
distinct (offered product, relevant product) pair. Everything else is joins and group-bys.

Factor definitions (the contract's, made precise):

- ``popularity``: purchases of the product over the whole data (offer purchases + orders; an
  order row equal to an offer purchase in user, product and timestamp is that purchase, not a
  second one), minus the offer's own purchase, as a mid-rank percentile (0-100) of the
  catalog's purchase counts (so an unsold product sits at the share of unsold products / 2);
  ``popularity_log2`` is log2(1 + the same leave-one-out count), the scale the models use:
  an effect linear in log purchases is what a multiplicative popularity gives, and the
  percentile squeezes the long tail of rarely bought products into a few points.
- ``price_ratio``: log2(price / median price of the query's judged-relevant products with a
  price > 0); null when the offered product has no positive price or the query has fewer than
  ``min_relevant_priced`` priced relevant products.
- ``semantic``: the largest text similarity (TF-IDF cosine by default) between the offered
  product and any *other* product judged relevant for the query; null when there is none.
- ``copurchase``: log2(1 + the largest smoothed co-purchase lift with those products); null
  likewise. Baskets come from orders other than the offer purchases; without orders, from
  offer purchases per user window (then an offer's own purchase can sit in the basket it is
  measured by: a warning says so).
- ``history`` / ``history_brand``: the user bought this product / this brand strictly before
  the offer's timestamp (offer purchases and orders); the offer's own purchase has the same
  timestamp and so never counts.
- ``length_bin``: ``short`` (<= short_max tokens), ``long`` (>= long_min), else ``medium``.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import _

from seemingly.config import AnalysisSettings, HypothesisSettings
from seemingly.relations import copurchase_lift, purchase_baskets, semantic_similarity

__all__ = ["offer_factors", "build_offer_factors", "FactorTable"]

FACTOR_COLUMNS = (
    "popularity", "popularity_log2", "price_ratio", "semantic", "copurchase", "history",
    "history_brand",
)


@dataclass(frozen=True)
class FactorTable:
    """The per-offer factor expression plus what the caller must know about how it was built."""

    table: ir.Table
    copurchase_source: str  # "orders" or "offer purchases (user window)"
    warnings: tuple[str, ...]


def offer_factors(store: object, settings: AnalysisSettings | None = None) -> ir.Table:
    """Per judged offer: ids, ``relevant``, outcomes, category, ``length_bin`` and every factor.

    Parameters
    ----------
    store : a ``seemingly.store.Store`` holding products, offers and judgments (orders optional).
    settings : analysis settings; ``settings.hypotheses`` holds the factor knobs.

    Returns
    -------
    Ibis table, one row per offer whose (query, product) was judged; see the module docstring.
    """
    return offer_factor_table(store, settings).table


def offer_factor_table(store: object, settings: AnalysisSettings | None = None) -> FactorTable:
    """Like :func:`offer_factors`, also telling where co-purchases came from and any warning."""
    from seemingly.labels import relevance

    settings = settings or AnalysisSettings()
    for name in ("offers", "judgments"):
        if not store.has(name):  # type: ignore[attr-defined]
            raise ValueError(
                f"the store has no {name!r} table; the hypothesis tests need offers and "
                "judgments (ingest a folder with offers.* and judgments.*)"
            )
    orders = store.table("orders") if store.has("orders") else None  # type: ignore[attr-defined]
    return build_offer_factors(
        offers=store.table("offers"),  # type: ignore[attr-defined]
        products=store.table("products"),  # type: ignore[attr-defined]
        relevance=relevance(store, settings),
        orders=orders,
        settings=settings.hypotheses,
    )


def _midrank_percentiles(counts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Percentile (0-100) of each value in ``at`` within ``counts``, ties counted half."""
    srt = np.sort(counts)
    below = np.searchsorted(srt, at, side="left")
    upto = np.searchsorted(srt, at, side="right")
    return 100.0 * (below + 0.5 * (upto - below)) / max(len(srt), 1)


def _popularity(purchases: ir.Table, products: ir.Table) -> ir.Table:
    totals = purchases.group_by("product_id").agg(n=_.count())
    catalog = (
        products.select("product_id")
        .left_join(totals, "product_id")
        .select("product_id", n=_.n.fill_null(0))
        .to_pandas()
    )
    n = catalog["n"].to_numpy(dtype=np.int64)
    frame = pd.DataFrame({
        "product_id": catalog["product_id"].astype(str),
        "pop_n": n,
        "pop_keep": _midrank_percentiles(n, n),
        # the percentile the product would have without the offer's own purchase
        "pop_drop": _midrank_percentiles(n, np.maximum(n - 1, 0)),
    })
    return ibis.memtable(frame)


def _relation_factors(
    judged_pairs: ir.Table,
    relevant: ir.Table,
    products: ir.Table,
    baskets: ir.Table,
    settings: HypothesisSettings,
) -> ir.Table:
    """Per (query, product_id): max similarity and max lift to the query's other relevant ones."""
    qpairs = (
        judged_pairs.join(relevant.select("query", product_b="product_id"), "query")
        .filter(_.product_id != _.product_b)
        .select("query", product_a=_.product_id, product_b=_.product_b)
    )
    pairs = qpairs.select("product_a", "product_b").distinct()
    pairs_df = pairs.to_pandas()
    ids = pd.unique(pd.concat([pairs_df.product_a, pairs_df.product_b], ignore_index=True))
    text_cols = [c for c in ("product_id", "title", "product_type", "brand")
                 if c in products.columns]
    wanted = ibis.memtable(pd.DataFrame({"product_id": pd.Series(ids, dtype="string")}))
    text = products.select(*text_cols).semi_join(wanted, "product_id").to_pandas()
    sims = semantic_similarity(pairs_df, text, backend=settings.semantic_backend)
    sim_t = ibis.memtable(sims.astype({"product_a": "string", "product_b": "string"}))
    lift_t = copurchase_lift(pairs, baskets).select("product_a", "product_b", "lift")
    scored = (
        qpairs.left_join(sim_t, ["product_a", "product_b"])
        .select("query", "product_a", "product_b", "similarity")
        .left_join(lift_t, ["product_a", "product_b"])
        .select("query", "product_a", "similarity", "lift")
    )
    return scored.group_by(["query", "product_a"]).agg(
        semantic=_.similarity.max(),
        copurchase=(_.lift.fill_null(0.0).max() + 1.0).log2(),
    ).rename(product_id="product_a")


def build_offer_factors(
    *,
    offers: ir.Table,
    products: ir.Table,
    relevance: ir.Table,
    orders: ir.Table | None,
    settings: HypothesisSettings | None = None,
) -> FactorTable:
    """Engine-generic core of :func:`offer_factors` on contract-shaped Ibis tables.

    ``relevance`` needs ``query``, ``product_id``, ``relevant`` (see ``seemingly.labels``).
    """
    settings = settings or HypothesisSettings()
    warnings: list[str] = []
    prod = products.select("product_id", "category", "price", "brand")
    rel = relevance.select("query", "product_id", "relevant")
    relevant = rel.filter(_.relevant)

    buys = offers.filter(_.purchased).select("user_id", "product_id", "timestamp")
    if orders is not None:
        # Order histories often hold the search purchases too (the simulator writes each one
        # as an order). Counted twice, an offer's own purchase would survive the leave-one-out
        # popularity and sit in the baskets its co-purchase relation is read from; so an order
        # row matching an offer purchase (user, product, timestamp) is that same purchase.
        outside = orders.anti_join(buys, ["user_id", "product_id", "timestamp"])
        purchases = buys.union(outside.select("user_id", "product_id", "timestamp"))
        baskets = purchase_baskets(
            outside, basket=settings.copurchase_basket, window_days=settings.copurchase_window_days
        )
        source = "orders"
    else:
        purchases = buys
        baskets = purchase_baskets(
            buys, basket="user_window", window_days=settings.copurchase_window_days
        )
        source = "offer purchases (user window)"
        warnings.append(
            "no orders table: co-purchases are read from offer purchases, so an offer's own "
            "purchase can raise its co-purchase relation; add orders for a clean test"
        )

    judged = offers.join(rel, ["query", "product_id"]).select(
        "offer_id", "query", "user_id", "product_id", "timestamp", "query_length", "relevant",
        purchased=_.purchased.cast("int64"), engaged=(_.engaged | _.purchased).cast("int64"),
    )
    judged = judged.join(prod, "product_id").select(
        *judged.columns, category=_.category.fill_null("unknown"), price=_.price, brand=_.brand
    )

    pop = _popularity(purchases, products)
    judged = judged.left_join(pop, "product_id").select(
        *judged.columns,
        popularity=ibis.cases((_.purchased == 1, _.pop_drop), else_=_.pop_keep),
        popularity_log2=((_.pop_n - _.purchased).cast("float64") + 1.0).log2(),
    )

    priced = relevant.join(prod.filter(_.price.notnull() & (_.price > 0)), "product_id")
    medians = priced.group_by("query").agg(median_price=_.price.median(), n_priced=_.count())
    judged = judged.left_join(medians, "query").select(
        *judged.columns,
        price_ratio=ibis.cases(
            (
                (_.price > 0) & (_.n_priced >= settings.min_relevant_priced),
                (_.price / _.median_price).log2(),
            ),
            else_=ibis.null("float64"),
        ),
    )

    judged_pairs = judged.select("query", "product_id").distinct()
    rels = _relation_factors(judged_pairs, relevant, products, baskets, settings)
    judged = judged.left_join(rels, ["query", "product_id"]).select(
        *judged.columns, "semantic", "copurchase"
    )

    first_buy = purchases.group_by(["user_id", "product_id"]).agg(first_buy=_.timestamp.min())
    judged = judged.left_join(first_buy, ["user_id", "product_id"]).select(
        *judged.columns, history=(_.first_buy < _.timestamp).fill_null(False).cast("int64")
    )
    brand_buys = purchases.join(prod.filter(_.brand.notnull()), "product_id")
    first_brand = brand_buys.group_by(["user_id", "brand"]).agg(first_brand=_.timestamp.min())
    judged = judged.left_join(first_brand, ["user_id", "brand"]).select(
        *judged.columns,
        history_brand=(_.first_brand < _.timestamp).fill_null(False).cast("int64"),
    )
    length_bin = ibis.cases(
        (_.query_length <= settings.short_max, "short"),
        (_.query_length >= settings.long_min, "long"),
        else_="medium",
    )
    judged = judged.mutate(length_bin=length_bin)
    return FactorTable(table=judged, copurchase_source=source, warnings=tuple(warnings))
