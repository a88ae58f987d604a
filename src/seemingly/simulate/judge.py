"""Annotators: 1-3 per judged (query, product) pair, with flip noise.

A share of pairs is ambiguous (``hard_share``); on those each annotator flips the true label
with probability ``hard_flip``, on the rest with ``flip``. Agreement is therefore high but
not perfect, and a few majority labels are wrong, as with real annotation.
"""

from __future__ import annotations

import numpy as np

from seemingly.simulate.config import WorldConfig
from seemingly.simulate.queries import Pools

__all__ = ["judge"]


def judge(
    world: WorldConfig, pools: Pools, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (query index, product index, label 0/1, annotator number) per judgment row."""
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
    return qi[row], pools.product[qi[row], slot[row]], label.astype(np.int8), annotator
