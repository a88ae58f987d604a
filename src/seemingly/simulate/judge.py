"""Annotators: 1-3 per judged (query, product) pair, with flip noise.

A share of pairs is ambiguous (``hard_share``); on those each annotator flips the true label
with probability ``hard_flip``, on the rest with ``flip``. Agreement is therefore high but
not perfect, and a few majority labels are wrong, as with real annotation. With ``flip`` and
``hard_flip`` both 0 (the ``perfect_labels`` world) every judgment is the true label.
"""

from __future__ import annotations

import numpy as np

from seemingly.simulate.config import WorldConfig
from seemingly.simulate.queries import Pools

__all__ = ["judge", "label_truth"]


def judge(
    world: WorldConfig, pools: Pools, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (query index, product index, label 0/1, annotator number, true relevance 0/1)
    per judgment row."""
    a = world.annotation
    qi, slot = np.nonzero(pools.kind >= 0)
    judged = rng.random(qi.size) < a.judged_share
    qi, slot = qi[judged], slot[judged]
    truth = pools.relevant[qi, slot]
    hard = rng.random(qi.size) < a.hard_share
    lo, hi = a.annotators
    n_ann = rng.integers(
        min(lo, a.n_annotators_pool), min(hi, a.n_annotators_pool) + 1, size=qi.size
    )
    first = rng.integers(0, a.n_annotators_pool, size=qi.size)
    row = np.repeat(np.arange(qi.size), n_ann)
    j = np.arange(row.size) - np.repeat(np.cumsum(n_ann) - n_ann, n_ann)
    annotator = (first[row] + j) % a.n_annotators_pool  # distinct annotators per pair
    flip_p = np.where(hard[row], a.hard_flip, a.flip)
    label = truth[row] ^ (rng.random(row.size) < flip_p)
    return (qi[row], pools.product[qi[row], slot[row]], label.astype(np.int8), annotator,
            truth[row].astype(np.int8))


def label_truth(qi: np.ndarray, pi: np.ndarray, label: np.ndarray,
                true_rel: np.ndarray) -> dict[str, np.ndarray]:
    """Per judged pair: its true relevance and its majority label (ties not relevant, the
    analysis default), so truth.json can say which aggregated labels are wrong.

    Judgment rows of one pair are contiguous (``judge`` repeats each pair's rows), which the
    run-length grouping below relies on.
    """
    if qi.size == 0:
        empty = np.zeros(0, np.int64)
        return {"query": empty, "product": empty, "n": empty, "votes": empty,
                "true": empty, "majority": empty}
    new = np.r_[True, (qi[1:] != qi[:-1]) | (pi[1:] != pi[:-1])]
    start = np.flatnonzero(new)
    n = np.diff(np.r_[start, qi.size])
    votes = np.add.reduceat(label.astype(np.int64), start)
    return {"query": qi[start], "product": pi[start], "n": n, "votes": votes,
            "true": true_rel[start].astype(np.int64),
            "majority": (2 * votes > n).astype(np.int64)}
