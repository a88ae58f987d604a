"""Concrete cases for the report: the irrelevant (query, product) pairs customers bought most.

These are the "burger press" rows: judged irrelevant, yet bought. Only the top ``n`` pairs per
outcome leave the engine, with the titles of the query's relevant products beside them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from seemingly.config import AnalysisSettings
from seemingly.contract import OUTCOME_COUNTS
from seemingly.results.explain import Example, ExamplesBlock

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["top_irrelevant_examples"]


def top_irrelevant_examples(
    store: StoreLike,
    settings: AnalysisSettings | None = None,
    *,
    n: int = 10,
    n_relevant_titles: int = 3,
) -> ExamplesBlock:
    """The ``examples`` block: the ``n`` judged-irrelevant pairs with the most purchases (and
    engagements), among queries that have at least one judged-relevant product.

    Pairs need ``settings.min_offers`` offers (as every level does). Ties break on the level,
    then on query and product id, so the list is reproducible.
    """
    from seemingly.explain.labels import relevance
    from seemingly.explain.measures import levels

    s = settings or AnalysisSettings()
    lv = levels(store, s)
    rel = relevance(store, s.labels)
    # The paper's situation: a relevant product existed for the query, customers chose another.
    # Queries with no judged-relevant product would mostly show annotation slips instead.
    with_relevant = rel.filter(rel.relevant).select("query").distinct()
    irrelevant = lv.filter(lv.relevant == False)  # noqa: E712 - Ibis needs the comparison
    irrelevant = irrelevant.semi_join(with_relevant, "query")
    products = store.table("products").select("product_id", "title", "category", "price")
    tops: dict[str, pd.DataFrame] = {}
    for outcome, count in OUTCOME_COUNTS.items():
        top = (
            irrelevant.order_by(
                [
                    irrelevant[count].desc(),
                    irrelevant[f"{outcome}_level"].desc(),
                    "query",
                    "product_id",
                ]
            )
            .limit(n)
            .left_join(products, "product_id")
        )
        tops[outcome] = top.to_pandas().sort_values(
            [count, f"{outcome}_level", "query", "product_id"],
            ascending=[False, False, True, True],
        )
    queries = sorted({q for rows in tops.values() for q in rows["query"]})
    titles: dict[str, list[str]] = {}
    if queries:
        picked = rel.filter(rel.relevant & rel.query.isin(queries)).join(products, "product_id")
        rel_rows = picked.select("query", "title").order_by(["query", "title"]).to_pandas()
        titles = {q: list(t)[:n_relevant_titles] for q, t in rel_rows.groupby("query")["title"]}
    return ExamplesBlock({
        outcome: [
            Example(
                query=r["query"],
                product_id=r["product_id"],
                title=r["title"],
                category=r["category"],
                price=None if r["price"] != r["price"] else float(r["price"]),
                offers=int(r["offers"]),
                purchases=int(r["purchases"]),
                engagements=int(r["engagements"]),
                purchase_level=float(r["purchase_level"]),
                engagement_level=float(r["engagement_level"]),
                relevant_titles=titles.get(r["query"], []),
            )
            for _, r in rows.iterrows()
        ]
        for outcome, rows in tops.items()
    })
