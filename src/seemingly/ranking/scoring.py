"""Scoring candidates per query: the padded candidate matrix, score normalisation and the
top-k ranking metrics, shared by the models (held-out metrics, the service's fusion) and the
trade-off (its sweep).

Candidates of each query sit in one row; padding cells are masked. Every metric is computed
per query first (arrays of shape (queries,)) so means and bootstrap intervals come from the
same per-query values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["CandidateMatrix", "Normalization", "RankingEvaluator", "normalize_scores",
           "ranking_metrics"]

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
    # every cell real (a ranked candidate set, as in each service request): the scores as
    # they are, and plain min / max, not the NaN-aware ones, which copy the array twice
    full = bool(mask.all()) and not np.isnan(scores).any()
    s = np.asarray(scores, dtype=float) if full else np.where(mask, scores, np.nan).astype(float)
    if method == "min-max":
        lo = (np.min if full else np.nanmin)(s, axis=1, keepdims=True)
        span = (np.max if full else np.nanmax)(s, axis=1, keepdims=True) - lo
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
    return out if full else np.where(mask, out, 0.0)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


class RankingEvaluator:
    """Per-query quantities that do not depend on the scores, computed once for many score
    matrices over the same candidates (a sweep scores one matrix per weight)."""

    PAD = np.float32(-1e30)  # finite, so 0 * PAD stays PAD-like instead of NaN

    def __init__(self, cm: CandidateMatrix, k: int) -> None:
        self.k = min(k, cm.mask.shape[1])
        self.rows = np.arange(cm.mask.shape[0])
        self.rel = np.where(cm.mask, cm.relevant, 0.0)
        self.level = np.where(cm.mask, cm.level, 0.0)
        best = self.level.max(axis=1, initial=0.0) if cm.mask.size else np.zeros(0)
        self.inv_best = np.divide(1.0, best, out=np.zeros(len(best)), where=best > 0)
        self.disc = _discounts(self.k)
        if np.isin(self.rel, (0.0, 1.0)).all():
            # binary gains: the ideal DCG is the sum of the first n_relevant discounts
            csum = np.concatenate([[0.0], np.cumsum(self.disc)])
            idcg = csum[np.minimum(self.rel.sum(axis=1).astype(int), self.k)]
        else:
            idcg = (-np.sort(-self.rel, axis=1)[:, : self.k] * self.disc).sum(axis=1)
        self.inv_idcg = np.divide(1.0, idcg, out=np.zeros(len(idcg)), where=idcg > 0)
        self.pad = ~cm.mask

    def padded(self, s: np.ndarray) -> np.ndarray:
        """``s`` as float32 with padding cells pushed below every real score."""
        return np.where(self.pad, self.PAD, s).astype(np.float32)

    def metrics(self, s: np.ndarray, *, padded: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """relevance@1, level@1 and NDCG@k per query of the scores ``s`` (see
        :func:`ranking_metrics`); ``padded=True`` when ``s`` already went through
        :meth:`padded`."""
        if not padded:
            s = self.padded(s)
        kk = self.k
        if kk < s.shape[1]:
            part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        else:
            part = np.broadcast_to(np.arange(s.shape[1]), s.shape)
        sub = np.take_along_axis(s, part, 1)
        order = np.take_along_axis(part, np.argsort(-sub, axis=1, kind="stable"), 1)
        top = order[:, 0]
        rel1 = self.rel[self.rows, top]
        lvl1 = self.level[self.rows, top] * self.inv_best
        dcg = (np.take_along_axis(self.rel, order, 1) * self.disc).sum(axis=1)
        return rel1, lvl1, dcg * self.inv_idcg


def ranking_metrics(fused: np.ndarray, cm: CandidateMatrix, k: int) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """relevance@1, level@1 (level of the top product / the query's best level) and
    NDCG@k on binary relevance, per query, for one score matrix (higher = ranked first)."""
    return RankingEvaluator(cm, k).metrics(fused)
