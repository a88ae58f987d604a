"""The true probabilities behind a simulated world, for oracle rankings and checks.

``true_probabilities`` rebuilds a world's catalog, query pools and annotation draws from the
same seed (the same random stream as :func:`seemingly.simulate.simulate`, no offers are
simulated) and returns, per (query, product) of the candidate pools and per personal-history
state, the probabilities the simulator drew outcomes with:

- ``p_judged_relevant``: probability that the majority of the pair's annotators (ties
  follow ``tie``, as in :func:`seemingly.explain.labels.relevance`) says relevant, given the true
  relevance, whether the pair is ambiguous and how many annotators judged it; NaN when the
  pair was not judged.
- ``p_purchase`` and ``p_engagement`` (engaged = purchased OR an engagement draw) for an
  offer to a user who had / had not bought the product and the brand strictly before.

An offer's outcome probability depends on the user's history state, so the expected level
of a (query, product) over a set of offers is the offer-weighted mean over its states.

>>> t = true_probabilities("default", n_offers=2000, seed=7)  # doctest: +SKIP
>>> t.columns.tolist()[:3]  # doctest: +SKIP
['query', 'product_id', 'true_relevant']
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import binom

from seemingly.simulate.behaviour import _cell_probabilities
from seemingly.simulate.config import WorldConfig, load_world
from seemingly.simulate.core import build_world

__all__ = ["true_probabilities", "majority_probability", "examination_curve"]


def examination_curve(world: WorldConfig | str, k: int | None = None) -> np.ndarray | None:
    """Examination probability of positions 1..k (default: the world's list length) in a
    position-based world; all ones for a voice world; None for a cascade world, whose
    examination depends on what was engaged above (replay it request by request).

    A ranker's true expected outcome at position j of a request is ``curve[j - 1]`` times the
    offer's ``p_purchase`` (``p_engagement``) of :func:`true_probabilities`.

    >>> examination_curve("serp", 3).round(3).tolist()  # doctest: +SKIP
    [1.0, 0.5, 0.333]
    """
    cfg = load_world(world) if isinstance(world, str) else world
    n = k if k is not None else cfg.policy.offers_per_request
    exam = cfg.examination
    if exam.model == "none":
        return np.ones(n)
    if exam.model == "cascade":
        return None
    return np.asarray(exam.position_curve(n))


def majority_probability(n: np.ndarray, q: np.ndarray, *,
                         tie: Literal["not_relevant", "relevant"] = "not_relevant"
                         ) -> np.ndarray:
    """P(more than half of ``n`` independent votes say yes), each yes with probability ``q``;
    an exact tie counts as yes when ``tie == "relevant"``.

    >>> majority_probability(np.array([1, 2, 3]), np.array([0.9, 0.9, 0.9])).round(3).tolist()
    [0.9, 0.81, 0.972]
    """
    n = np.asarray(n, dtype=np.int64)
    q = np.asarray(q, dtype=float)
    # P(V > n/2) = P(V >= floor(n/2) + 1) = sf(floor(n/2))
    p = binom.sf(n // 2, n, q)
    if tie == "relevant":
        even = n % 2 == 0
        p = p + np.where(even, binom.pmf(n // 2, n, q), 0.0)
    return np.asarray(p, dtype=float)


def _annotation_draws(world: WorldConfig, pools_kind: np.ndarray, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(query index, slot, ambiguous, number of annotators) of the judged pairs.

    Replays the first draws of :func:`seemingly.simulate.judge.judge` in its order (a test
    checks the replay against the written judgments, so a change there fails loudly).
    """
    a = world.annotation
    qi, slot = np.nonzero(pools_kind >= 0)
    judged = rng.random(qi.size) < a.judged_share
    qi, slot = qi[judged], slot[judged]
    hard = rng.random(qi.size) < a.hard_share
    lo, hi = a.annotators
    n_ann = rng.integers(
        min(lo, a.n_annotators_pool), min(hi, a.n_annotators_pool) + 1, size=qi.size
    )
    return qi, slot, hard, n_ann


def true_probabilities(
    world: WorldConfig | str = "default",
    *,
    n_offers: int,
    seed: int,
    catalog_path: str | Path | None = None,
    tie: Literal["not_relevant", "relevant"] = "not_relevant",
) -> pd.DataFrame:
    """True relevance and outcome probabilities of every pool (query, product) of a world.

    ``world``, ``n_offers``, ``seed`` and ``catalog_path`` must be the ones the data was
    simulated with (the number of queries depends on ``n_offers``).

    Returns one row per (query, product, user_bought_product, user_bought_brand) with columns
    query, product_id, true_relevant, judged, n_annotators, p_judged_relevant, user_bought_product,
    user_bought_brand (0.0 / 1.0, as in the model data), p_purchase, p_engagement.
    """
    cfg = load_world(world) if isinstance(world, str) else world
    if catalog_path is not None:
        cfg = cfg.model_copy(update={"catalog_path": str(catalog_path)})
    rng = np.random.default_rng([seed, 0])
    cat, _, pools = build_world(cfg, n_offers, rng)
    qi, slot, hard, n_ann = _annotation_draws(cfg, pools.kind, rng)

    a = cfg.annotation
    truth = pools.relevant[qi, slot]
    flip = np.where(hard, a.hard_flip, a.flip)
    p_judged = np.full(pools.product.shape, np.nan)
    p_judged[qi, slot] = majority_probability(n_ann, np.where(truth, 1 - flip, flip), tie=tie)
    annotators = np.zeros(pools.product.shape, dtype=np.int64)
    annotators[qi, slot] = n_ann

    p_buy = _cell_probabilities(cfg.purchase, cfg.null_effects, cat, pools)  # (Q*P, 4)
    p_eng_draw = _cell_probabilities(cfg.engagement, cfg.null_effects, cat, pools)
    p_eng = p_buy + (1 - p_buy) * p_eng_draw

    qq, ss = np.nonzero(pools.kind >= 0)
    cell = qq * pools.product.shape[1] + ss
    n = qq.size
    # state index = 2 * bought product before + bought brand before (behaviour.py)
    state = np.tile(np.arange(4), n)
    rows = np.repeat(np.arange(n), 4)
    text = np.asarray(pools.text, dtype=object)
    pid = np.asarray(cat.product_ids, dtype=object)
    return pd.DataFrame({
        "query": text[qq[rows]],
        "product_id": pid[pools.product[qq, ss]][rows],
        "true_relevant": pools.relevant[qq, ss][rows],
        "judged": ~np.isnan(p_judged[qq, ss])[rows],
        "n_annotators": annotators[qq, ss][rows],
        "p_judged_relevant": p_judged[qq, ss][rows],
        "user_bought_product": (state // 2).astype(float),
        "user_bought_brand": (state % 2).astype(float),
        "p_purchase": p_buy[cell][rows, state],
        "p_engagement": p_eng[cell][rows, state],
    })

