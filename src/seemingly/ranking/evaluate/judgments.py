"""What a run is scored against: the study's judged candidates with their relevance and
purchase / engagement levels, per objective.

The trade-off ranks, per query, the judged products with at least ``min_offers`` offers in
the *label window* (offers after the ``window_split`` time quantile; the earlier offers feed
the models' features), in queries with two or more of them and a positive best level
(:func:`seemingly.ranking.tradeoff.run.eligible`). That set is the pool here too, so an
external ranker is measured on the same queries, with the same levels, as the study's frontier
points. A product outside the pool is *unjudged*: it earns nothing, as in trec_eval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
from ibis import _

from seemingly.contract import OUTCOME_COUNTS, Outcome

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["Judgments", "judgments_from_store", "judgments_from_candidates"]

COLUMNS = ["query", "product_id", "relevant", "level"]


@dataclass(frozen=True)
class Judgments:
    """Per objective, one row per judged candidate: ``query, product_id, relevant`` (0/1)
    and ``level`` (the objective's count / offers in the label window), sorted by query
    and product."""

    pools: dict[Outcome, pd.DataFrame]

    def queries(self, objective: Outcome | None = None) -> np.ndarray:
        """Sorted evaluation queries of one objective, or of either (None)."""
        frames = [self.pools[objective]] if objective else list(self.pools.values())
        return np.array(sorted(set().union(*(set(f["query"]) for f in frames))), dtype=object)

    def relevance_pool(self) -> pd.DataFrame:
        """Candidates of either objective's queries, for relevance@1 and NDCG@k (a query's
        candidate set does not depend on the objective, only whether it is evaluated)."""
        both = pd.concat([f[["query", "product_id", "relevant"]] for f in self.pools.values()])
        return (both.drop_duplicates(["query", "product_id"])
                .sort_values(["query", "product_id"]).reset_index(drop=True))


def judgments_from_candidates(candidates: pd.DataFrame, min_offers: int) -> Judgments:
    """Pools from one row per (query, product) with ``relevant`` (NaN = unjudged),
    ``offers``, ``purchases``, ``engagements`` of the label window: the trade-off's rule."""
    pools: dict[Outcome, pd.DataFrame] = {}
    judged = candidates[candidates["relevant"].notna() & (candidates["offers"] >= min_offers)]
    for objective, count in OUTCOME_COUNTS.items():
        f = judged.assign(level=judged[count] / judged["offers"])
        g = f.groupby("query")["level"]
        f = f[(g.transform("size") >= 2) & (g.transform("max") > 0)]
        f = f.assign(relevant=f["relevant"].astype(float))
        pools[objective] = (f[COLUMNS].sort_values(["query", "product_id"])
                            .reset_index(drop=True))
    return Judgments(pools)


def _label_window(store: StoreLike, window_split: float) -> ibis.Table:
    """Offers after the ``window_split`` time quantile, as build_model_data cuts them."""
    offers = store.table("offers")
    secs = offers.timestamp.epoch_seconds().quantile(window_split).execute()
    cutoff = pd.Timestamp(float(secs), unit="s").floor("us")  # DuckDB keeps microseconds
    lit = ibis.literal(cutoff.to_pydatetime(), type="timestamp")
    return offers.filter(_.timestamp >= lit)


def judgments_from_store(store: StoreLike, settings: Any, *,
                         queries: str = "auto") -> Judgments:
    """The pools of a store under ``settings`` (an AnalysisSettings), computed in the engine.

    Parameters
    ----------
    queries : "all" (every eligible query), "test split" (the held-out queries of a single
        split, ``settings.models.test_fraction``, as the study's frontier uses when
        ``eval_folds == 1``) or "auto" (whichever the study's settings use).
    """
    from seemingly.explain.labels import relevance
    from seemingly.ranking.models.data import split_queries

    for table in ("offers", "judgments"):
        if not store.has(table):
            raise ValueError(f"evaluating a run needs the {table} table in the data; "
                             f"add {table}.parquet")
    m = settings.models
    rel = relevance(store, settings).select("query", "product_id", "relevant")
    counts = _label_window(store, m.window_split).group_by(["query", "product_id"]).agg(
        offers=_.count(), purchases=_.purchased.cast("int64").sum(),
        engagements=_.engaged.cast("int64").sum())
    # only judged pairs with enough offers can enter a pool: filter before leaving the engine
    cands = (rel.join(counts, ["query", "product_id"])
             .filter(_.offers >= settings.min_offers)
             .select("query", "product_id", "relevant", "offers", "purchases", "engagements")
             .to_pandas())
    cands = cands.assign(relevant=cands["relevant"].astype(float))
    j = judgments_from_candidates(cands, settings.min_offers)
    mode = ("all" if m.eval_folds > 1 else "test split") if queries == "auto" else queries
    if mode == "test split":
        # the same draw as build_model_data: over every query of offers and judgments
        every = (store.table("offers").select("query")
                 .union(store.table("judgments").select("query")).distinct()
                 .to_pandas()["query"].to_numpy())
        test = split_queries(every, m.test_fraction, settings.seed)
        j = Judgments({o: f[f["query"].isin(test)].reset_index(drop=True)
                       for o, f in j.pools.items()})
    elif mode != "all":
        raise ValueError(f"queries must be 'auto', 'all' or 'test split'; got {queries!r}")
    return j
