"""The relevance model from judgments alone, for data without offers (issue 9).

Without offers there is no time window, no purchase statistics and no outcome to learn; the
relevance model still learns from the judgments, with the text features of the catalogue
(popularity, rates, co-purchase and history features stay at their no-data values). Queries
are split into train / test with a seeded draw; the model learns from train queries only and
is compared with BM25 (one of its own features) by NDCG@k on the held-out queries.

>>> trained = train_relevance(store, AnalysisSettings(), "out/models")  # doctest: +SKIP
>>> trained.metrics["relevance"]["ndcg_at_10"]  # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from seemingly.config import AnalysisSettings
from seemingly.ranking.features import FEATURE_NAMES, FeatureSnapshot, compute_features
from seemingly.ranking.models.data import ModelData, split_queries
from seemingly.ranking.models.estimators import RelevanceModel
from seemingly.ranking.models.training import TrainedModels, save_models
from seemingly.ranking.scoring import CandidateMatrix, ranking_metrics

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["train_relevance"]

FEATURES = list(FEATURE_NAMES)


def _per_query_ndcg(frame: pd.DataFrame, score: np.ndarray, k: int) -> np.ndarray:
    """NDCG@k on binary relevance of each query that has a relevant product."""
    f = frame.assign(level=0.0, _s=score)
    cm = CandidateMatrix.from_frame(f)
    ndcg = ranking_metrics(cm.scatter(f, "_s"), cm, k)[2]
    has_rel = (cm.relevant * cm.mask).sum(axis=1) > 0
    return np.asarray(ndcg[has_rel], dtype=float)


def _metrics(test: pd.DataFrame, score: np.ndarray, n_train: int, k: int,
             confidence: float) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    nan = float("nan")
    out: dict[str, Any] = {"n_train": n_train, "n_test": int(len(test)),
                           "n_test_queries": int(test["query"].nunique())}
    if test.empty:
        return {**out, "auc": nan, f"ndcg_at_{k}": nan, f"ndcg_at_{k}_bm25": nan}
    y = test["relevant"].to_numpy(float)
    model = _per_query_ndcg(test, score, k)
    bm25 = _per_query_ndcg(test, test["bm25"].to_numpy(float), k)
    diff = model - bm25
    half = nan
    if len(diff) >= 2:  # normal interval of the mean paired difference over test queries
        half = float(stats.norm.ppf(0.5 + confidence / 2)) * diff.std(ddof=1) / math.sqrt(
            len(diff))
    gain = float(diff.mean()) if len(diff) else nan
    return {**out,
            "auc": float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else nan,
            f"ndcg_at_{k}": float(model.mean()) if len(model) else nan,
            f"ndcg_at_{k}_bm25": float(bm25.mean()) if len(bm25) else nan,
            # flat numbers (not a list) so every metric renders as one value in the report
            f"ndcg_at_{k}_minus_bm25": gain,
            f"ndcg_at_{k}_minus_bm25_ci_low": gain - half,
            f"ndcg_at_{k}_minus_bm25_ci_high": gain + half,
            "n_test_queries_with_relevant": int(len(model))}


def train_relevance(
    store: StoreLike, settings: AnalysisSettings, out_dir: str | Path
) -> TrainedModels:
    """Fit the relevance model on judgments (no offers needed), measure it on held-out
    queries against BM25, and write a model directory (relevance model + text snapshot).

    Returns the fitted model with metrics (``auc``, ``ndcg_at_K``, ``ndcg_at_K_bm25``,
    ``ndcg_at_K_minus_bm25`` with ``_ci_low`` / ``_ci_high``) and gain importances.
    """
    from seemingly.explain.labels import relevance

    if not store.has("judgments"):
        raise ValueError("the relevance model learns from judgments; the data has no "
                         "judgments table (add judgments.parquet)")
    m = settings.models
    products = store.table("products").to_pandas()
    rel = relevance(store, settings.labels).select("query", "product_id", "relevant").to_pandas()
    rel = rel.sort_values(["query", "product_id"]).reset_index(drop=True)
    rel["relevant"] = rel["relevant"].astype("float64")
    test_q = split_queries(rel["query"].unique(), m.test_fraction, settings.seed)
    rel["split"] = np.where(rel["query"].isin(test_q), "test", "train")
    # catalogue text statistics only: no label enters the snapshot
    snapshot = FeatureSnapshot.from_catalog(products, language=settings.language)
    feats = compute_features(rel[["query", "product_id"]], snapshot)
    cands = pd.concat([rel, feats], axis=1)
    tr, te = cands[cands["split"] == "train"], cands[cands["split"] == "test"]
    tr_queries = tr["query"].nunique()
    model = RelevanceModel(n_estimators=m.n_estimators, learning_rate=m.learning_rate,
                           seed=settings.seed).fit(
        tr[FEATURES], tr["relevant"].to_numpy())
    score = model.predict(te[FEATURES]) if len(te) else np.zeros(0)
    metrics = _metrics(te.reset_index(drop=True), score, int(len(tr)), m.ndcg_k,
                       settings.confidence)
    metrics["n_train_queries"] = int(tr_queries)
    trained = TrainedModels({"relevance": model}, {"relevance": metrics},
                            {"relevance": model.feature_importance()})
    fp = store.report.fingerprint if getattr(store, "report", None) is not None else ""
    data = ModelData(cands, pd.DataFrame(), snapshot, None, str(fp))
    save_models(trained, data, out_dir, normalization=m.normalization,
                extra={"test_fraction": m.test_fraction, "offers": False})
    return trained
