"""Vectorised score fusion and top-k metrics over a padded (queries x candidates) matrix.

Candidates of each query sit in one row; padding cells are masked. Every metric is computed
per query first (arrays of shape (weights, queries)) so means and bootstrap intervals come
from the same per-query values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["CandidateMatrix", "normalize_scores", "sweep"]

Normalization = Literal["min-max", "z-score", "rank"]


@dataclass(frozen=True)
class CandidateMatrix:
    """Per-query candidate labels, padded to a rectangle.

    Attributes
    ----------
    queries : (Q,) query keys, in row order.
    mask : (Q, C) True where a candidate exists.
    relevant : (Q, C) 1.0 judged relevant, 0.0 not (0 in padding).
    level : (Q, C) outcome level (purchase or engagement level; 0 in padding).
    product_ids : (Q, C) object array (None in padding).
    """

    queries: np.ndarray
    mask: np.ndarray
    relevant: np.ndarray
    level: np.ndarray
    product_ids: np.ndarray

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, level: str = "level", relevant: str = "relevant",
                   query: str = "query") -> CandidateMatrix:
        """One row per (query, product) -> padded matrices; rows keep their order in a query."""
        codes, uniq = pd.factorize(df[query], sort=True)
        pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()
        q, c = len(uniq), int(pos.max()) + 1 if len(df) else 0
        mask = np.zeros((q, c), bool)
        mask[codes, pos] = True
        rel = np.zeros((q, c))
        rel[codes, pos] = df[relevant].astype(float).to_numpy()
        lev = np.zeros((q, c))
        lev[codes, pos] = df[level].astype(float).to_numpy()
        pids = np.full((q, c), None, dtype=object)
        if "product_id" in df:
            pids[codes, pos] = df["product_id"].to_numpy()
        return cls(np.asarray(uniq), mask, rel, lev, pids)

    def scatter(self, df: pd.DataFrame, column: str, *, query: str = "query") -> np.ndarray:
        """Place a per-row column of ``df`` (same rows and order as ``from_frame``)."""
        codes = pd.Index(self.queries).get_indexer(df[query])
        pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()
        out = np.zeros(self.mask.shape)
        out[codes, pos] = df[column].astype(float).to_numpy()
        return out

    def subset(self, rows: np.ndarray) -> CandidateMatrix:
        return CandidateMatrix(self.queries[rows], self.mask[rows], self.relevant[rows],
                               self.level[rows], self.product_ids[rows])


def normalize_scores(scores: np.ndarray, mask: np.ndarray,
                     method: Normalization = "min-max") -> np.ndarray:
    """Normalise each row's scores over its real candidates; padding becomes 0.

    min-max maps a row to [0, 1] (a constant row to 0); z-score subtracts the row mean and
    divides by its standard deviation (0 when constant); rank maps the best to 1 and the
    worst to 0, evenly spaced (ties share their average rank).
    """
    s = np.where(mask, scores, np.nan).astype(float)
    if method == "min-max":
        lo = np.nanmin(s, axis=1, keepdims=True)
        span = np.nanmax(s, axis=1, keepdims=True) - lo
        out = np.where(span > 0, (s - lo) / np.where(span > 0, span, 1.0), 0.0)
    elif method == "z-score":
        mu = np.nanmean(s, axis=1, keepdims=True)
        sd = np.nanstd(s, axis=1, keepdims=True)
        out = np.where(sd > 0, (s - mu) / np.where(sd > 0, sd, 1.0), 0.0)
    elif method == "rank":
        ranks = pd.DataFrame(s).rank(axis=1, method="average").to_numpy()
        n = mask.sum(axis=1, keepdims=True)
        out = np.where(n > 1, (ranks - 1) / np.maximum(n - 1, 1), 0.0)
    else:
        raise ValueError(f"unknown normalisation {method!r}; use one of "
                         f"{sorted(('min-max', 'z-score', 'rank'))}")
    return np.where(mask, out, 0.0)


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


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ranking_metrics(fused: np.ndarray, cm: CandidateMatrix, k: int) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """relevance@1, level@1 (level of the top product / the query's best level) and
    NDCG@k on binary relevance, per query, for one score matrix (higher = ranked first)."""
    s = np.where(cm.mask, fused, -np.inf)
    rows = np.arange(s.shape[0])
    top = np.argmax(s, axis=1)
    rel1 = cm.relevant[rows, top]
    best = np.where(cm.mask, cm.level, -np.inf).max(axis=1)
    lvl1 = np.divide(cm.level[rows, top], best, out=np.zeros(len(rows)), where=best > 0)
    kk = min(k, s.shape[1])
    if kk < s.shape[1]:
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
    else:
        part = np.tile(np.arange(s.shape[1]), (s.shape[0], 1))
    order = np.take_along_axis(part, np.argsort(-np.take_along_axis(s, part, 1), axis=1,
                                                kind="stable"), 1)
    disc = _discounts(kk)
    dcg = (cm.relevant[rows[:, None], order] * disc).sum(axis=1)
    ideal = -np.sort(-np.where(cm.mask, cm.relevant, 0.0), axis=1)[:, :kk]
    idcg = (ideal * disc).sum(axis=1)
    ndcg = np.divide(dcg, idcg, out=np.zeros(len(rows)), where=idcg > 0)
    return rel1, lvl1, ndcg


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
    out = [ranking_metrics(wi * r + (1.0 - wi) * o, cm, k) for wi in w]
    return SweepResult(w, np.stack([x[0] for x in out]), np.stack([x[1] for x in out]),
                       np.stack([x[2] for x in out]), k)
