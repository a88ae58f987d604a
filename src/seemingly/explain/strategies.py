"""Which product should a query get? Optimal / Relevant / Irrelevant / Random / Worst.

For every query with at least one judged-relevant and one judged-irrelevant product, each
offered often enough, compare the purchase (engagement) level a strategy would reach:
Optimal takes the product with the higher level, Relevant the relevant one, Irrelevant the
irrelevant one, Random either with probability 1/2 (its expectation, so no draw is needed),
Worst the lower. Values are the mean level over queries divided by Optimal's mean, with a
percentile bootstrap interval over queries. The k-candidate version keeps every eligible
product of a query: Relevant / Irrelevant pick uniformly among their group (expectation),
Random among all, Optimal / Worst the best / worst.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from seemingly.contract import OUTCOME_COUNTS, Outcome
from seemingly.results.explain import KCandidates, OutcomeStrategies, StrategiesBlock

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["compare_strategies", "strategies_from_store", "strategy_targets"]

STRATEGIES = ("optimal", "relevant", "irrelevant", "random", "worst")


def _per_query(levels: np.ndarray, relevant: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(Q, 5) per-query levels of the strategies for padded (Q, C) candidate matrices."""
    rel = mask & relevant
    irr = mask & ~relevant
    lv = np.where(mask, levels, np.nan)
    with np.errstate(invalid="ignore"):
        return np.column_stack([
            np.nanmax(lv, axis=1),
            np.nanmean(np.where(rel, levels, np.nan), axis=1),
            np.nanmean(np.where(irr, levels, np.nan), axis=1),
            np.nanmean(lv, axis=1),
            np.nanmin(lv, axis=1),
        ])


def _normalised(per_query: np.ndarray, n_boot: int, seed: int,
                confidence: float) -> tuple[dict[str, float], dict[str, list[float]]]:
    means = per_query.mean(axis=0)
    ratio = means / means[0] if means[0] > 0 else np.full(len(means), np.nan)
    rng = np.random.default_rng(seed)
    nq = len(per_query)
    boots = np.empty((n_boot, per_query.shape[1]))
    for b in range(n_boot):
        m = per_query[rng.integers(0, nq, nq)].mean(axis=0)
        boots[b] = m / m[0] if m[0] > 0 else np.nan
    a = (1 - confidence) / 2
    ci = {}
    for j, name in enumerate(STRATEGIES):
        col = boots[:, j][~np.isnan(boots[:, j])]
        ci[name] = ([float(np.quantile(col, a)), float(np.quantile(col, 1 - a))]
                    if len(col) else [float("nan")] * 2)
    return {n: float(r) for n, r in zip(STRATEGIES, ratio, strict=True)}, ci


def _matrices(df: pd.DataFrame, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes, uniq = pd.factorize(df["query"], sort=True)
    pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    shape = (len(uniq), int(pos.max()) + 1)
    lv, rel, mask = np.zeros(shape), np.zeros(shape, bool), np.zeros(shape, bool)
    lv[codes, pos] = df[level].to_numpy(float)
    rel[codes, pos] = df["relevant"].to_numpy(bool)
    mask[codes, pos] = True
    return lv, rel, mask


def _candidates(levels: pd.DataFrame, min_offers: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The eligible candidates (judged, >= min_offers offers, in queries with a relevant and an
    irrelevant one) and the pair of each query: its most offered relevant and irrelevant."""
    need = {"query", "product_id", "offers", "purchases", "engagements", "relevant"}
    if need - set(levels.columns):
        raise KeyError(f"levels lacks columns {sorted(need - set(levels.columns))}; pass "
                       "seemingly.explain.measures.levels(...) output or an equivalent frame")
    if min_offers < 1:
        raise ValueError("min_offers must be >= 1")
    df = levels[levels["relevant"].notna() & (levels["offers"] >= min_offers)].copy()
    df["relevant"] = df["relevant"].astype(bool)
    kinds = df.groupby("query")["relevant"].agg(["min", "max"])
    keep = kinds.index[(~kinds["min"]) & kinds["max"]]
    df = df[df["query"].isin(keep)].sort_values(["query", "relevant", "offers", "product_id"],
                                                ascending=[True, False, False, True])
    # the pair: the most offered relevant and the most offered irrelevant product
    pair = df.groupby(["query", "relevant"], sort=False).head(1)
    return df, pair


def strategy_targets(levels: pd.DataFrame, outcome: Outcome, *, min_offers: int = 5
                     ) -> pd.DataFrame:
    """The strategies of the pair table as target rankers, for off-policy estimates: one row
    per (query, product_id) of each query's pair with each strategy's probability of putting
    it first (columns :data:`STRATEGIES`). Optimal and Worst pick by the observed ``outcome``
    level (ties: the relevant product), as in :func:`compare_strategies`; Random is 1/2 each.

    >>> lv = pd.DataFrame({"query": ["a", "a"], "product_id": ["x", "y"], "offers": [10, 10],
    ...     "purchases": [2, 4], "engagements": [5, 5], "relevant": [True, False]})
    >>> strategy_targets(lv, "purchase")[["product_id", "optimal", "relevant", "random"]]
      product_id  optimal  relevant  random
    0          x      0.0       1.0     0.5
    1          y      1.0       0.0     0.5
    """
    _, pair = _candidates(levels, min_offers)
    pair = pair.assign(_level=pair[OUTCOME_COUNTS[outcome]] / pair["offers"]).sort_values(
        ["query", "relevant"], ascending=[True, False])
    best = pair.groupby("query")["_level"].transform("max")
    first_best = (pair["_level"] == best) & ~pair.duplicated(["query", "_level"])
    worst = pair.groupby("query")["_level"].transform("min")
    first_worst = (pair["_level"] == worst) & ~pair.duplicated(["query", "_level"])
    rel = pair["relevant"].to_numpy(bool)
    return pd.DataFrame({
        "query": pair["query"].to_numpy(), "product_id": pair["product_id"].to_numpy(),
        "optimal": first_best.to_numpy(float), "relevant": rel.astype(float),
        "irrelevant": (~rel).astype(float), "random": np.full(len(pair), 0.5),
        "worst": first_worst.to_numpy(float)})


def compare_strategies(levels: pd.DataFrame, *, min_offers: int = 5, n_boot: int = 1000,
                       seed: int = 7, confidence: float = 0.95) -> StrategiesBlock:
    """Compare the strategies on per (query, product) aggregates: the ``strategies`` block.

    Parameters
    ----------
    levels : one row per (query, product_id) with offers, purchases, engagements and
        relevant (bool; judged). Rows without a judgment (relevant null) are ignored.
    min_offers : offers a product needs to count as a candidate.

    Examples
    --------
    >>> lv = pd.DataFrame({"query": ["a", "a", "b", "b"], "product_id": list("xyxz"),
    ...     "offers": [10] * 4, "purchases": [2, 4, 3, 1], "engagements": [5, 5, 5, 5],
    ...     "relevant": [True, False, True, False]})
    >>> r = compare_strategies(lv, n_boot=0)
    >>> round(r.purchase.relevant, 4)   # (0.2 + 0.3) / (0.4 + 0.3)
    0.7143
    """
    df, pair = _candidates(levels, min_offers)
    out = {}
    for name, count in OUTCOME_COUNTS.items():
        blocks = {}
        for label, frame in (("pair", pair), ("k", df)):
            if not len(frame):
                blocks[label] = (np.zeros((0, 5)), 0)
                continue
            f = frame.assign(_level=frame[count] / frame["offers"])
            pq = _per_query(*_matrices(f, "_level"))
            blocks[label] = (pq, len(pq))
        pq, nq = blocks["pair"]
        if nq:
            vals, ci = _normalised(pq, n_boot, seed, confidence)
        else:
            vals = {s: float("nan") for s in STRATEGIES}
            ci = {s: [float("nan")] * 2 for s in STRATEGIES}
        kq, knq = blocks["k"]
        kvals, kci = (_normalised(kq, n_boot, seed, confidence) if knq
                      else ({s: float("nan") for s in STRATEGIES}, {}))
        k_block = KCandidates(
            **kvals, n_queries=knq, ci=kci,
            mean_candidates=float(df.groupby("query").size().mean()) if knq else 0.0)
        out[name] = OutcomeStrategies(**vals, n_queries=nq, ci=ci, k_candidates=k_block)
    return StrategiesBlock(purchase=out["purchase"], engagement=out["engagement"],
                           min_offers=min_offers)


def strategies_from_store(store: StoreLike, settings: Any) -> StrategiesBlock:
    """The strategies block from a store's offers and judgments (levels stay in the engine;
    only per (query, product) aggregates leave it)."""
    from seemingly.explain.measures import levels

    lv = levels(store, settings).select("query", "product_id", "offers", "purchases",
                                        "engagements", "relevant").to_pandas()
    m = getattr(settings, "models", None)
    min_offers = (m.strategy_min_offers if m is not None and m.strategy_min_offers
                  else settings.min_offers)
    return compare_strategies(lv, min_offers=min_offers,
                              n_boot=m.n_boot if m is not None else 1000,
                              seed=settings.seed, confidence=settings.confidence)
