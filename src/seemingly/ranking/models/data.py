"""Training and evaluation data for the models, built in the store without leakage.

Time: offers are split at a timestamp quantile (``window_split``). Everything the features
use (product popularity and rates, co-purchase lift, purchase histories) comes from the
*statistics window* before the cutoff (plus orders before it); labels (purchase and
engagement levels) come from the *label window* after it, so no row's outcome feeds its own
features. Queries: split into train / test groups with a seeded draw (:func:`split_queries`,
the one rule for every held-out split of queries); the relevance model learns from train
queries' judgments only and every metric is measured on test queries.
Offers stay in the engine; only per (query, product[, history pattern]) aggregates and the
statistics snapshot leave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
from ibis import _

from seemingly.ranking.features import FeatureSnapshot, compute_features

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["ModelData", "build_model_data", "split_queries"]


@dataclass(frozen=True)
class ModelData:
    """Everything the three models and the trade-off need.

    candidates : one row per (query, product): features, relevant (float, NaN unjudged),
        offers / purchases / engagements in the label window, split ("train" / "test").
    outcome_rows : label-window aggregates per (query, product, user history pattern) with
        features (history columns set), for the outcome models.
    snapshot : the statistics snapshot the features were computed with.
    fingerprint : hash of the data the models are trained on.
    """

    candidates: pd.DataFrame
    outcome_rows: pd.DataFrame
    snapshot: FeatureSnapshot
    cutoff: Any
    fingerprint: str


def split_queries(queries: np.ndarray, test_fraction: float, seed: int) -> set[str]:
    """The held-out queries: ``round(test_fraction * n)`` of them (at least one when there
    are two or more, so tiny data sets still get a test set), drawn with ``seed``."""
    q = np.array(sorted(queries))
    if len(q) < 2:
        return set()
    n_test = min(max(1, round(test_fraction * len(q))), len(q) - 1)
    return set(q[np.random.default_rng(seed).permutation(len(q))[:n_test]].tolist())


def _relevance(store: StoreLike, settings: Any) -> pd.DataFrame:
    from seemingly.explain.labels import relevance

    rel = relevance(store, settings).to_pandas()
    return rel[["query", "product_id", "relevant"]]


def _purchases(store: StoreLike, offers: ibis.Table) -> ibis.Table:
    """All purchases (user, product, timestamp): purchased offers plus orders."""
    bought = offers.filter(_.purchased).select("user_id", "product_id", "timestamp")
    if store.has("orders"):
        bought = bought.union(store.table("orders").select("user_id", "product_id",
                                                           "timestamp"))
    return bought


def _snapshot(store: StoreLike, products: pd.DataFrame, offers: ibis.Table, cutoff: Any,
              candidate_pairs: ibis.Table, language: str = "english") -> FeatureSnapshot:
    from seemingly.explain.relations import copurchase_lift, purchase_baskets

    before = offers.filter(_.timestamp < cutoff)
    stats = before.group_by("product_id").agg(
        offers=_.count(), purchases=_.purchased.cast("int64").sum(),
        engagements=_.engaged.cast("int64").sum()).to_pandas()
    bought = _purchases(store, offers).filter(_.timestamp < cutoff)
    pop = bought.group_by("product_id").agg(n=_.count()).to_pandas()
    stats = stats.merge(pop, on="product_id", how="outer").fillna(0.0)
    # popularity counts every purchase (offers + orders); rates use offers only
    stats = stats.assign(popularity=stats["n"])
    if store.has("orders"):
        baskets = purchase_baskets(store.table("orders").filter(_.timestamp < cutoff),
                                   basket="order")
    else:
        baskets = purchase_baskets(bought, basket="user_window")
    cp = copurchase_lift(candidate_pairs, baskets).filter(_.lift > 0).select(
        "product_a", "product_b", "lift").to_pandas()
    brand = ibis.memtable(products[["product_id", "brand"]])
    hist = (bought.select("user_id", "product_id").distinct()
            .left_join(brand, "product_id").select("user_id", "product_id", "brand")
            .to_pandas())
    return FeatureSnapshot.from_catalog(products, product_stats=stats, copurchase=cp,
                                        history=hist, language=language)


def _history_patterns(store: StoreLike, offers: ibis.Table, products: pd.DataFrame,
                      cutoff: Any) -> pd.DataFrame:
    """Label-window offers aggregated to (query, product, bought product / brand before)."""
    bought = _purchases(store, offers)
    first_p = bought.group_by(["user_id", "product_id"]).agg(first_p=_.timestamp.min())
    brand = ibis.memtable(products[["product_id", "brand"]].dropna())
    first_b = (bought.join(brand, "product_id").group_by(["user_id", "brand"])
               .agg(first_b=_.timestamp.min()))
    after = offers.filter(_.timestamp >= cutoff).left_join(brand, "product_id").select(
        "query", "product_id", "user_id", "timestamp", "engaged", "purchased", "brand")
    x = after.left_join(first_p, ["user_id", "product_id"]).select(
        "query", "product_id", "user_id", "timestamp", "engaged", "purchased", "brand",
        "first_p")
    x = x.left_join(first_b, ["user_id", "brand"]).select(
        "query", "product_id", "engaged", "purchased",
        # strictly earlier purchases only: a purchase at the offer itself is the outcome
        user_bought_product=(_.first_p.notnull() & (_.first_p < _.timestamp)).cast("float64"),
        user_bought_brand=(_.first_b.notnull() & (_.first_b < _.timestamp)).cast("float64"))
    keys = ["query", "product_id", "user_bought_product", "user_bought_brand"]
    rows = x.group_by(keys).agg(
        offers=_.count(), purchases=_.purchased.cast("int64").sum(),
        engagements=_.engaged.cast("int64").sum()).to_pandas()
    # the engine returns groups in no fixed order, and LightGBM's fit depends on row order:
    # sorted, the same data gives the same models and frontiers run after run
    return rows.sort_values(keys).reset_index(drop=True)


def build_model_data(store: StoreLike, settings: Any, *, window_split: float = 0.5,
                     test_fraction: float = 0.3, seed: int = 7) -> ModelData:
    """Build candidates, outcome rows and the snapshot from a store (see the module doc)."""
    if not 0 < window_split < 1:
        raise ValueError("window_split must be in (0, 1)")
    products = store.table("products").to_pandas()
    if not store.has("offers"):
        raise ValueError("training purchase/engagement models needs an offers table; for a "
                         "relevance model alone use seemingly.ranking.models.train_relevance")
    offers = store.table("offers")
    secs = offers.timestamp.epoch_seconds().quantile(window_split).execute()
    cutoff = pd.Timestamp(float(secs), unit="s").floor("us")  # DuckDB keeps microseconds
    cutoff_lit = ibis.literal(cutoff.to_pydatetime(), type="timestamp")
    rel = _relevance(store, settings) if store.has("judgments") else pd.DataFrame(
        columns=["query", "product_id", "relevant"])
    qp_off = offers.select("query", "product_id").distinct()
    qp = qp_off.union(ibis.memtable(rel[["query", "product_id"]].astype(str))).distinct()
    pairs = (qp.join(qp.rename(product_b="product_id"), "query")
             .filter(_.product_id != _.product_b)
             .select(product_a=_.product_id, product_b=_.product_b).distinct())
    snapshot = _snapshot(store, products, offers, cutoff_lit, pairs,
                         getattr(settings, "language", "english"))
    patterns = _history_patterns(store, offers, products, cutoff_lit)
    cands = qp.to_pandas().sort_values(["query", "product_id"]).reset_index(drop=True)
    level = patterns.groupby(["query", "product_id"], as_index=False)[
        ["offers", "purchases", "engagements"]].sum()
    cands = cands.merge(level, on=["query", "product_id"], how="left").fillna(
        {"offers": 0, "purchases": 0, "engagements": 0})
    cands = cands.merge(rel, on=["query", "product_id"], how="left")
    cands["relevant"] = cands["relevant"].astype("float64")
    test = split_queries(cands["query"].unique(), test_fraction, seed)
    cands["split"] = np.where(cands["query"].isin(test), "test", "train")
    feats = compute_features(cands[["query", "product_id"]].assign(
        user_bought_product=0.0, user_bought_brand=0.0), snapshot)
    cands = pd.concat([cands, feats], axis=1)
    rows = patterns.merge(cands.drop(columns=["offers", "purchases", "engagements",
                                              "user_bought_product", "user_bought_brand"]),
                          on=["query", "product_id"], how="left")
    fp = store.report.fingerprint if getattr(store, "report", None) is not None else ""
    return ModelData(cands, rows, snapshot, cutoff, str(fp))
