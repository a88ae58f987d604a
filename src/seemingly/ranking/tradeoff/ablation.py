"""Factor ablation: does a ranker that knows the paper's factors trade off better?

The paper closes: "the models we used to assess the trade-off ... were fairly crude. A more
complex machine learning model should be able to achieve better results, particularly if it
is explicitly trained to consider some of the factors we identified previously". Here the
relevance and outcome models are fitted on several feature sets and each set's fusion
frontier is measured on the same held-out queries:

- ``full``: every feature (the factor-aware set, the models the study saves);
- ``crude``: text match only (:data:`TEXT_MATCH`, what a plain search engine knows about the
  query and the title);
- ``without_<group>``: the full set minus one factor group (:data:`FACTOR_GROUPS`).

Each variant is compared with ``full`` by the hypervolume difference (full - variant: what
the left-out features buy) and by the level@1 gained at equal relevance@1, both with a paired
bootstrap over queries (one set of draws for every variant, so the intervals are comparable).

Fitting is the cost, so a model is fitted only when a variant changes it: a variant whose
dropped features are constant in a model's training rows (the purchase history is 0 on every
relevance-model row, for example) gets the full model, because a tree cannot split on a
constant column and the fit is the same. Each model's training rows are binned once for
all of its variants (a variant's dropped features get a zero split-gain penalty, which
grows the trees a fit on its own columns would). The fits run on ``n_jobs`` threads
(LightGBM releases the GIL while it trains, and each fit uses one thread).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from seemingly.contract import OUTCOME_COUNTS
from seemingly.ranking.features import FEATURE_NAMES
from seemingly.ranking.models.data import ModelData
from seemingly.ranking.models.estimators import OutcomeModel, RelevanceModel
from seemingly.ranking.tradeoff.pareto import frontier_level, hypervolume
from seemingly.ranking.tradeoff.sweep import SweepResult

__all__ = ["FACTOR_GROUPS", "TEXT_MATCH", "VARIANTS", "fit_variants", "compare_variants",
           "VariantComparison"]

#: The paper's factors, as named groups of ranking features.
FACTOR_GROUPS: dict[str, tuple[str, ...]] = {
    "popularity": ("popularity", "popularity_pct", "purchase_rate", "engagement_rate"),
    "price": ("price_log", "price_relative"),
    "category": ("category",),
    "query_length": ("query_length",),
    "semantic_relation": ("semantic_relation",),
    "copurchase_relation": ("copurchase_relation", "copurchase_max"),
    "personal_history": ("user_bought_product", "user_bought_brand"),
}
_IN_GROUP = {f for g in FACTOR_GROUPS.values() for f in g}
#: Text match of query and title: every feature outside the factor groups.
TEXT_MATCH: tuple[str, ...] = tuple(f for f in FEATURE_NAMES if f not in _IN_GROUP)
#: Variant name -> its features, ``full`` first (the others reuse its fits).
VARIANTS: dict[str, tuple[str, ...]] = {
    "full": FEATURE_NAMES,
    "crude": TEXT_MATCH,
    **{f"without_{g}": tuple(f for f in FEATURE_NAMES if f not in cols)
       for g, cols in FACTOR_GROUPS.items()},
}
MODEL_NAMES = ("relevance", *OUTCOME_COUNTS)

Models = dict[str, RelevanceModel | OutcomeModel]


def _training_rows(d: ModelData) -> dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray | None]]:
    """Each model's training rows, labels and weights, as ``fit_models`` takes them."""
    c = d.candidates
    judged = c[(c["split"] == "train") & c["relevant"].notna()]
    rows = d.outcome_rows
    rows = rows[(rows["split"] == "train") & (rows["offers"] > 0)]
    out: dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray | None]] = {
        "relevance": (judged, judged["relevant"].to_numpy(), None)}
    for name, col in OUTCOME_COUNTS.items():
        out[name] = (rows, (rows[col] / rows["offers"]).to_numpy(), rows["offers"].to_numpy())
    return out


def _varying(rows: pd.DataFrame) -> set[str]:
    """The features a tree can split on in ``rows``: more than one value (NaN counts as a
    value). Min, max and a NaN count per column: the same answer as pandas'
    ``nunique(dropna=False) > 1`` at a fraction of its cost (no hashing)."""
    out = set()
    for f in FEATURE_NAMES:
        x = rows[f].to_numpy(dtype=float, na_value=np.nan)
        nan = np.isnan(x)
        n_nan = int(nan.sum())
        if n_nan == len(x):
            continue
        if n_nan or np.nanmin(x) < np.nanmax(x):
            out.add(f)
    return out


def _fit_sets(name: str, rows: pd.DataFrame, y: np.ndarray, w: np.ndarray | None,
              sets: list[tuple[str, ...]], params: dict[str, Any]
              ) -> list[RelevanceModel | OutcomeModel]:
    """One model per feature set in ``sets``, all on ``rows`` binned once (see
    ``fit_binned``: the trees equal those of a fit on each set's columns alone)."""
    cls = RelevanceModel if name == "relevance" else OutcomeModel
    models = [cls(**params) for _ in sets]
    # selected in the worker: only the running fits hold a copy
    data = models[0].binned(rows[list(FEATURE_NAMES)], y, sample_weight=w)
    return [m.fit_binned(data, use=cols) for m, cols in zip(models, sets, strict=True)]


def fit_variants(folds: Sequence[ModelData], variants: Mapping[str, Sequence[str]] = VARIANTS,
                 *, params: dict[str, Any] | None = None, seed: int = 7, n_jobs: int = 1,
                 prefit: Mapping[int, Models] | None = None) -> list[dict[str, Models]]:
    """Fit the relevance and outcome models of every variant on every fold's train split.

    Returns one dict per fold: variant -> model name -> model. Variants that differ from
    another only in columns that are constant in a model's training rows share that fit
    (see the module doc); predict with ``X[model.feature_names_]``. ``prefit`` maps a fold
    to models already fitted on all features (the saved models of a single split), which
    are used for every variant that does not change them.

    One task per fold and model bins its training rows once and fits every distinct
    feature set on them; the tasks run on ``n_jobs`` threads.
    """
    p = {**(params or {}), "seed": seed}
    Key = tuple[int, str, tuple[str, ...]]  # fold, model, the features that vary
    ready: dict[Key, RelevanceModel | OutcomeModel] = {}
    tasks: list[tuple[list[Key], tuple[Any, ...]]] = []
    plan: list[dict[str, dict[str, Key]]] = []
    for i, d in enumerate(folds):
        keys: dict[str, dict[str, Key]] = {v: {} for v in variants}
        for name, (rows, y, w) in _training_rows(d).items():
            varying = _varying(rows)
            todo: list[Key] = []
            for v, cols in variants.items():
                key = (i, name, tuple(f for f in cols if f in varying))
                keys[v][name] = key
                if key in ready or key in todo:
                    continue
                if prefit and i in prefit and set(key[2]) == varying:
                    ready[key] = prefit[i][name]
                else:
                    todo.append(key)
            if todo:
                tasks.append((todo, (name, rows, y, w, [k[2] for k in todo], p)))
        plan.append(keys)
    # longest first (rows x fits), so the last task to finish is a short one
    tasks.sort(key=lambda t: -len(t[1][1]) * len(t[0]))
    with ThreadPoolExecutor(max_workers=max(n_jobs, 1)) as pool:
        running = [(todo, pool.submit(_fit_sets, *args)) for todo, args in tasks]
        for todo, fut in running:
            ready.update(zip(todo, fut.result(), strict=True))
    return [{v: {name: ready[key] for name, key in by_model.items()}
             for v, by_model in keys.items()} for keys in plan]


@dataclass(frozen=True)
class VariantComparison:
    """One variant against ``full`` on one objective (see AblationVariant in results)."""

    hypervolume: float
    difference: float
    difference_ci: tuple[float, float]
    level_gain: float
    level_gain_ci: tuple[float, float]
    at_relevance: float


def _hypervolumes(x: np.ndarray, y: np.ndarray, reference: tuple[float, float]) -> np.ndarray:
    """:func:`~seemingly.ranking.tradeoff.pareto.hypervolume` of many point sets at once:
    row b of ``x`` and ``y`` (shaped (B, W)) is one set of W points."""
    rx, ry = reference
    inside = (x > rx) & (y > ry)
    x, y = np.where(inside, x, rx), np.where(inside, y, ry)
    order = np.lexsort((-y, -x), axis=-1)  # x descending, then y descending, per row
    xs, ys = np.take_along_axis(x, order, 1), np.take_along_axis(y, order, 1)
    # each point adds the strip above the highest y of the points with a larger x
    done = np.maximum.accumulate(np.concatenate([np.full((len(x), 1), ry), ys[:, :-1]], 1), 1)
    return np.asarray(((xs - rx) * np.clip(ys - done, 0, None)).sum(1))


def _levels(x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
    """:func:`~seemingly.ranking.tradeoff.pareto.frontier_level` of many point sets at once
    (rows of ``x``, ``y``), each read at its own ``r`` (at most the row's largest x).

    The frontier point at or right of r is the highest point with x >= r (A, the rightmost
    of equals); the one left of it is, among the points with x < r above A, the one with
    the largest x (B); the level is A's, or read off the segment B-A.
    """
    rr = r[:, None]
    right = x >= rr
    ya = np.where(right, y, -np.inf).max(1)
    xa = np.where(right & (y == ya[:, None]), x, -np.inf).max(1)
    left = (x < rr) & (y > ya[:, None])
    xb = np.where(left, x, -np.inf).max(1)
    yb = np.where(left & (x == xb[:, None]), y, -np.inf).max(1)
    has_b = np.isfinite(xb) & (xa > r)
    xb, yb = np.where(has_b, xb, r - 1.0), np.where(has_b, yb, ya)
    return np.where(has_b, yb + (ya - yb) * (r - xb) / np.where(has_b, xa - xb, 1.0), ya)


def compare_variants(sweeps: Mapping[str, SweepResult], *, n_boot: int = 1000, seed: int = 7,
                     confidence: float = 0.95, reference: tuple[float, float] = (0.0, 0.0),
                     chunk: int = 200) -> dict[str, VariantComparison]:
    """Every variant's frontier against ``sweeps["full"]`` (all measured on the same queries).

    One set of bootstrap draws of the queries serves every variant (the draws are made once,
    in chunks of ``chunk`` so the (draws x queries) weights stay small).
    """
    full = sweeps["full"]
    nq = full.relevance_at_1.shape[1]
    for v, s in sweeps.items():
        if s.relevance_at_1.shape != full.relevance_at_1.shape:
            raise ValueError(f"variant {v!r} was measured on other queries than 'full'")
    mean = {v: np.column_stack([s.relevance_at_1.mean(1), s.level_at_1.mean(1)])
            for v, s in sweeps.items()}
    hv = {v: hypervolume(p, reference) for v, p in mean.items()}
    diffs: dict[str, list[np.ndarray]] = {v: [] for v in sweeps}
    gains: dict[str, list[np.ndarray]] = {v: [] for v in sweeps}
    stacked = np.concatenate([np.concatenate([s.relevance_at_1, s.level_at_1])
                              for s in sweeps.values()]).T
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        # resampled queries as weights: each row sums to 1 (one draw of nq queries)
        w = np.stack([np.bincount(rng.integers(0, nq, nq), minlength=nq)
                      for _ in range(m)]).astype(float) / nq
        # one product for every variant and both metrics: (draws, variants * 2 * weights)
        means = (w @ stacked).reshape(m, len(sweeps), 2, -1)
        boot = {v: (means[:, i, 0], means[:, i, 1]) for i, v in enumerate(sweeps)}
        fx, fy = boot["full"]
        hv_f = _hypervolumes(fx, fy, reference)
        for v, (x, y) in boot.items():
            diffs[v].append(hv_f - _hypervolumes(x, y, reference))
            r = np.minimum(fx.max(1), x.max(1))
            gains[v].append(_levels(fx, fy, r) - _levels(x, y, r))
        done += m
    a = (1 - confidence) / 2

    def ci(x: np.ndarray) -> tuple[float, float]:
        if not n_boot:
            return (float("nan"), float("nan"))
        lo, hi = np.quantile(x, [a, 1 - a])
        return (float(lo), float(hi))

    out = {}
    for v in sweeps:
        at = float(min(mean["full"][:, 0].max(), mean[v][:, 0].max()))
        gain = frontier_level(mean["full"], at) - frontier_level(mean[v], at)
        out[v] = VariantComparison(hv[v], hv["full"] - hv[v], ci(np.concatenate(diffs[v])),
                                   gain, ci(np.concatenate(gains[v])), at)
    return out
