"""The fusion sweep: ``w * norm(relevance) + (1 - w) * norm(outcome)`` for a grid of weights,
measured per query over a padded (queries x candidates) matrix.

Every metric is computed per query first (arrays of shape (weights, queries)) so means and
bootstrap intervals come from the same per-query values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from seemingly.ranking.scoring import (
    CandidateMatrix,
    Normalization,
    RankingEvaluator,
    normalize_scores,
)

__all__ = ["SweepResult", "sweep", "top_picks"]


@dataclass(frozen=True)
class SweepResult:
    """Per-weight, per-query metrics of a fused ranking (arrays shaped (W, Q))."""

    weights: np.ndarray
    relevance_at_1: np.ndarray
    level_at_1: np.ndarray
    ndcg: np.ndarray
    k: int

    def means(self) -> pd.DataFrame:
        return pd.DataFrame({"weight": self.weights,
                             "relevance_at_1": self.relevance_at_1.mean(axis=1),
                             "level_at_1": self.level_at_1.mean(axis=1),
                             "ndcg_at_k": self.ndcg.mean(axis=1)})


def sweep(relevance_scores: np.ndarray, outcome_scores: np.ndarray, cm: CandidateMatrix, *,
          weights: np.ndarray | None = None, normalization: Normalization = "min-max",
          k: int = 10) -> SweepResult:
    """Fuse ``w * norm(relevance) + (1 - w) * norm(outcome)`` for every weight and measure.

    Normalisation happens once; each weight costs one multiply-add, an argmax and a top-k
    partition over the whole matrix (no Python loop over queries).
    """
    w = np.round(np.arange(0, 1.0 + 1e-9, 0.05), 10) if weights is None else np.asarray(
        weights, float)
    r = normalize_scores(relevance_scores, cm.mask, normalization).astype(np.float32)
    o = normalize_scores(outcome_scores, cm.mask, normalization).astype(np.float32)
    prep = RankingEvaluator(cm, k)
    r, o = prep.padded(r), prep.padded(o)
    out = [prep.metrics(np.float32(wi) * r + np.float32(1.0 - wi) * o, padded=True)
           for wi in w]
    return SweepResult(w, np.stack([x[0] for x in out]), np.stack([x[1] for x in out]),
                       np.stack([x[2] for x in out]), k)


def top_picks(relevance_scores: np.ndarray, outcome_scores: np.ndarray, cm: CandidateMatrix, *,
              weights: np.ndarray, normalization: Normalization = "min-max") -> np.ndarray:
    """Column of ``cm`` each weight's fused ranking puts first, per query: shape (W, Q).

    The same fused scores as :func:`sweep` (float32); a tie goes to the first candidate. The
    off-policy estimates of the frontier (:mod:`seemingly.ranking.tradeoff.offpolicy`)
    evaluate these picks.
    """
    w = np.asarray(weights, float)
    r = normalize_scores(relevance_scores, cm.mask, normalization).astype(np.float32)
    o = normalize_scores(outcome_scores, cm.mask, normalization).astype(np.float32)
    prep = RankingEvaluator(cm, 1)
    r, o = prep.padded(r), prep.padded(o)
    return np.stack([np.argmax(np.float32(wi) * r + np.float32(1.0 - wi) * o, axis=1)
                     for wi in w]) if len(w) else np.zeros((0, len(cm.queries)), np.int64)
