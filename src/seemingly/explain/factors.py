"""One row per judged offer with every factor of the WSDM 2020 hypotheses, as an Ibis expression.

Offers never leave the engine. One small table is computed outside and joined back in memory:
the text similarity of each distinct (judged product, relevant product of the same query) pair.
Everything else is joins, group-bys and window functions.

Cost at scale: every factor except the two purchase histories is a property of the (query,
product) pair or of the product, so the hypothesis tests ask for *offer cells*
(``cells=True``): offers are grouped by (query, product, query length, purchased, history,
history brand) right after the two history joins, and the pair factors are joined onto the
few hundred thousand cells instead of the millions of offers.

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
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis import _

from seemingly.config import AnalysisSettings, HypothesisSettings
from seemingly.explain.relations import copurchase_lift, purchase_baskets, semantic_similarity
from seemingly.store.history import (
    CELL_KEYS,
    offer_purchases,
    offer_rows,
    stored_history_cells,
    sum_cells,
    with_history,
)

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["offer_factors", "build_offer_factors", "FactorTable"]

@dataclass(frozen=True)
class FactorTable:
    """The per-offer factor expression plus what the caller must know about how it was built."""

    table: ir.Table
    copurchase_source: str  # "orders" or "offer purchases (user window)"
    warnings: tuple[str, ...]


def offer_factors(store: StoreLike, settings: AnalysisSettings | None = None) -> ir.Table:
    """Per judged offer: ids, ``relevant``, outcomes, category, ``length_bin`` and every factor.

    Parameters
    ----------
    store : ``seemingly.store.StoreLike`` with products, offers, judgments (orders optional).
    settings : analysis settings; ``settings.hypotheses`` holds the factor knobs.

    Returns
    -------
    Ibis table, one row per offer whose (query, product) was judged; see the module docstring.
    """
    return offer_factor_table(store, settings).table


def offer_factor_table(
    store: StoreLike, settings: AnalysisSettings | None = None, *, cells: bool = False
) -> FactorTable:
    """Like :func:`offer_factors`, also telling where co-purchases came from and any warning.

    ``cells=True``: offers summed per cell instead of one row each (see
    :func:`build_offer_factors`).
    """
    from seemingly.explain.labels import relevance

    settings = settings or AnalysisSettings()
    for name in ("offers", "judgments"):
        if not store.has(name):
            raise ValueError(
                f"the store has no {name!r} table; the hypothesis tests need offers and "
                "judgments (ingest a folder with offers.* and judgments.*)"
            )
    orders = store.table("orders") if store.has("orders") else None
    return build_offer_factors(
        offers=store.table("offers"),
        products=store.table("products"),
        relevance=relevance(store, settings),
        orders=orders,
        settings=settings.hypotheses,
        cells=cells,
        stored_cells=stored_history_cells(store) if cells else None,
    )


def _popularity(purchases: ir.Table, products: ir.Table) -> ir.Table:
    """Per catalog product: purchase count and mid-rank percentiles with and without one sale.

    The percentile of a value v among the catalog's counts is 100 * (#below v + #equal / 2) / N.
    For the product's own count n, #below is its rank and #equal the size of its tie group;
    for n - 1 (the leave-one-out count of a purchased offer) the products below n - 1 are those
    below n minus those exactly at n - 1, and #equal is that same tie group. All of it stays
    an expression (window functions and one small self-join), so no catalog pass runs early.
    """
    totals = purchases.group_by("product_id").agg(n=_.count())
    catalog = (
        products.select("product_id")
        .left_join(totals, "product_id")
        .select("product_id", n=_.n.fill_null(0))
    )
    ranked = catalog.mutate(
        below=ibis.rank().over(order_by=_.n),
        ties=_.count().over(group_by=_.n),
        total=_.count().over(),
    )
    prev = catalog.group_by("n").agg(ties_prev=_.count())
    prev = prev.select(n_prev=_.n + 1, ties_prev=_.ties_prev)
    ranked = ranked.left_join(prev, ranked.n == prev.n_prev).select(
        "product_id", "n", "below", "ties", "total", ties_prev=_.ties_prev.fill_null(0)
    )
    total = ibis.greatest(_.total, 1).cast("float64")
    keep = 100.0 * (_.below.cast("float64") + 0.5 * _.ties.cast("float64")) / total
    drop = 100.0 * (_.below.cast("float64") - 0.5 * _.ties_prev.cast("float64")) / total
    return ranked.select(
        "product_id",
        pop_n=_.n,
        pop_keep=keep,
        # the percentile the product would have without the offer's own purchase
        pop_drop=ibis.cases((_.n > 0, drop), else_=keep),
    )


def _relation_factors(
    rel: ir.Table,
    relevant: ir.Table,
    products: ir.Table,
    baskets: ir.Table,
    settings: HypothesisSettings,
) -> ir.Table:
    """Per judged (query, product_id): max similarity and max lift to the query's other
    relevant products.

    The pairs come from the judgments alone (every judged product against the query's relevant
    ones), not from the offers: that keeps this a judgment-sized computation, and the TF-IDF
    vocabulary no longer depends on which judged products happened to be offered.
    """
    qpairs = (
        rel.select("query", "product_id")
        .join(relevant.select("query", product_b="product_id"), "query")
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
    # the distinct pairs go back as an in-memory table: the lift then joins baskets with a
    # small known table instead of re-deriving the pairs from the judgments
    pairs_t = ibis.memtable(pairs_df.astype({"product_a": "string", "product_b": "string"}))
    lift_t = copurchase_lift(pairs_t, baskets).select("product_a", "product_b", "lift")
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


@dataclass(frozen=True)
class _Parts:
    """Everything of the factor table that is not one row per offer."""

    pairs: ir.Table  # per judged (query, product): relevant, category, brand, price & relations
    pop: ir.Table  # per catalog product: pop_n, pop_keep, pop_drop
    purchases: ir.Table  # every purchase once: user_id, product_id, timestamp
    source: str
    warnings: tuple[str, ...]


def _parts(
    offers: ir.Table,
    products: ir.Table,
    relevance: ir.Table,
    orders: ir.Table | None,
    settings: HypothesisSettings,
) -> _Parts:
    warnings: list[str] = []
    prod = products.select("product_id", "category", "price", "brand")
    rel = relevance.select("query", "product_id", "relevant")
    relevant = rel.filter(_.relevant)

    bought = offer_purchases(offers, orders)
    if bought.outside is not None:
        baskets = purchase_baskets(
            bought.outside, basket=settings.copurchase_basket,
            window_days=settings.copurchase_window_days,
        )
        source = "orders"
    else:
        baskets = purchase_baskets(
            bought.buys, basket="user_window", window_days=settings.copurchase_window_days
        )
        source = "offer purchases (user window)"
        warnings.append(
            "no orders table: co-purchases are read from offer purchases, so an offer's own "
            "purchase can raise its co-purchase relation; add orders for a clean test"
        )

    priced = relevant.join(prod.filter(_.price.notnull() & (_.price > 0)), "product_id")
    medians = priced.group_by("query").agg(median_price=_.price.median(), n_priced=_.count())
    pairs = rel.join(prod, "product_id").select(
        "query", "product_id", "relevant", category=_.category.fill_null("unknown"),
        price=_.price,
    )
    pairs = pairs.left_join(medians, "query").select(
        "query", "product_id", "relevant", "category",
        price_ratio=ibis.cases(
            (
                (_.price > 0) & (_.n_priced >= settings.min_relevant_priced),
                (_.price / _.median_price).log2(),
            ),
            else_=ibis.null("float64"),
        ),
    )
    rels = _relation_factors(rel, relevant, products, baskets, settings)
    pairs = pairs.left_join(rels, ["query", "product_id"]).select(
        *pairs.columns, "semantic", "copurchase"
    )
    return _Parts(
        pairs=pairs,
        pop=_popularity(bought.all, products),
        purchases=bought.all,
        source=source,
        warnings=tuple(warnings),
    )


def _finish(table: ir.Table, parts: _Parts, settings: HypothesisSettings) -> ir.Table:
    """Join the (query, product) factors and popularity onto offers or offer cells."""
    cols = [c for c in table.columns if c not in ("query", "product_id")]
    x = table.join(parts.pairs, ["query", "product_id"]).select(
        "query", "product_id", *cols,
        *[c for c in parts.pairs.columns if c not in ("query", "product_id")],
    )
    x = x.left_join(parts.pop, "product_id").select(
        *x.columns,
        popularity=ibis.cases((_.purchased == 1, _.pop_drop), else_=_.pop_keep),
        popularity_log2=((_.pop_n - _.purchased).cast("float64") + 1.0).log2(),
    )
    length_bin = ibis.cases(
        (_.query_length <= settings.short_max, "short"),
        (_.query_length >= settings.long_min, "long"),
        else_="medium",
    )
    return x.mutate(length_bin=length_bin)


def _offer_history(offers: ir.Table, products: ir.Table, parts: _Parts, cells: bool,
                   position_weights: ir.Table | None) -> ir.Table:
    """Offers with their purchase history (summed into cells with ``cells=True``)."""
    base = offer_rows(
        offers,
        **({} if cells else {"offer_id": _.offer_id}),
        **({} if position_weights is None else {"position": _.position}),
    )
    if position_weights is not None:
        cols = [c for c in base.columns if c != "position"]
        base = base.left_join(position_weights, "position").select(
            *cols, weight=_.weight.fill_null(1.0))
    hist = with_history(base, parts.purchases, products)
    if position_weights is None:
        return sum_cells(hist) if cells else hist
    if cells:
        return sum_cells(hist, purchases_ipw=(_.purchased * _.weight).sum(),
                         engagements_ipw=(_.engaged * _.weight).sum())
    return hist.mutate(purchases_ipw=_.purchased * _.weight,
                       engagements_ipw=_.engaged * _.weight)


def build_offer_factors(
    *,
    offers: ir.Table,
    products: ir.Table,
    relevance: ir.Table,
    orders: ir.Table | None,
    settings: HypothesisSettings | None = None,
    cells: bool = False,
    position_weights: ir.Table | None = None,
    stored_cells: ir.Table | None = None,
) -> FactorTable:
    """Engine-generic core of :func:`offer_factors` on contract-shaped Ibis tables.

    ``relevance`` needs ``query``, ``product_id``, ``relevant`` (see ``seemingly.explain.labels``).
    With ``cells=True`` the table is not one row per offer but one per *offer cell*: offers
    of one (query, product, query_length, purchased, history, history_brand) summed into
    ``offers``, ``purchases`` and ``engagements`` counts (every factor is constant within a
    cell). Offers are grouped before any (query, product) factor is joined on, so the only
    per-offer work is one scan, the history joins and one group-by: what the hypothesis tests
    use, several times cheaper than the per-offer table on large logs.

    ``stored_cells``: those cells as the store keeps them (:mod:`seemingly.store.history`,
    written at ingest); with ``cells=True`` and no position weights they replace the per-offer
    work, which then never runs.

    ``position_weights`` (columns ``position``, ``weight``; :mod:`seemingly.explain.position`)
    adds ``purchases_ipw`` and ``engagements_ipw``: each offer's outcome times the weight of
    its position (offers at an unlisted position weigh 1), summed like the counts.
    """
    settings = settings or HypothesisSettings()
    parts = _parts(offers, products, relevance, orders, settings)
    if cells and position_weights is None and stored_cells is not None:
        hist = stored_cells.select(*CELL_KEYS, "offers", "engagements")
    else:
        hist = _offer_history(offers, products, parts, cells, position_weights)
    if cells:
        hist = hist.mutate(purchases=_.purchased * _.offers)
    table = _finish(hist, parts, settings)
    return FactorTable(table=table, copurchase_source=parts.source, warnings=parts.warnings)
