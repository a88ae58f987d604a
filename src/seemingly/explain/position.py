"""Position bias in ranked-list logs: the examination curve, and levels, fits and strategies
corrected for it.

In a ranked list a result at position 5 is seen far less often than one at position 1, so a
purchase level (purchases / offers) mixes how often a product is *seen* with how often it is
bought once seen. Under the position-based model (PBM) an offer at position j is examined
with probability e_j, independently of the product, and P(outcome) = e_j * r, with r the
position-free probability an analysis wants.

**The curve** (relative to position 1, e_1 = 1), from the engagement signal (engaged or
purchased), per (query, product, position) counts:

- ``harvesting`` (intervention harvesting, Agarwal et al., WSDM 2019) when the offers carry
  logged propensities from a stochastic policy (every offer has one, some below 1): the policy
  put the same (query, product) at several positions at random, so the pair's engagement rate
  at position j over its rate at position 1 estimates e_j / e_1 whatever the pair's relevance.
  Pairs seen at both positions are pooled with weights n_1 n_j / (n_1 + n_j) (the inverse
  variance of a difference of two rates), a ratio of per-query sums.
- ``em`` otherwise (positions decided by a deterministic ranker, or no propensities): a
  position-based click model fitted by EM on the same counts (Chuklin, Markov and de Rijke,
  *Click Models for Web Search*, 2015, ch. 4), one r per (query, product).

Curve intervals: a percentile bootstrap over queries (a query's offers resampled together).

**The correction** is inverse examination weighting: an offer at position j counts its
outcome as y / e_j, so E[y / e_j] = r exactly under the PBM whatever r is. Position as a
logit covariate was the alternative; it assumes examination shifts the log-odds by a
constant, which P = e_j * r only approximates for small rates (relevant offers, with rates of
0.2 to 0.4, are far from it). Levels: mean of y / e_j over offers, with intervals from the
parametric bootstrap given the offers (what the naive Wilson intervals are conditional on too):
outcomes redrawn from the fitted model, the curve re-estimated each time. Hypothesis fits: the
multivariable logit with weighted successes (quasi-likelihood, clustered sandwich; the curve
is taken as known there, which only narrows intervals slightly). Strategies: the strategy
table on weighted per-(query, product) levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp

from seemingly.config import AnalysisSettings
from seemingly.contract import OUTCOME_COUNTS
from seemingly.explain.hypotheses.models import fit_multivariable
from seemingly.explain.hypotheses.patterns import pattern_frame
from seemingly.explain.hypotheses.stats import ClusteredFit
from seemingly.explain.labels import agreement, relevance
from seemingly.explain.strategies import compare_strategies
from seemingly.results.explain import (
    IrrelevantShare,
    LevelPair,
    LevelRate,
    OverviewBlock,
    ShareRate,
    Term,
)
from seemingly.results.position import ExaminationPoint, PositionBlock, TermComparison

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = [
    "Examination", "PositionAnalysis", "position_counts", "position_design", "examination_em",
    "examination_harvesting", "estimate_examination", "corrected_overview", "analyze_positions",
    "CORRECTION",
]

CORRECTION = "inverse examination weights (IPS: each offer's outcome / e[position])"
_BOOT = 200  # query-bootstrap replicates of the curve; parametric ones of corrected levels
_BOOT_EM = 40  # EM refits are costlier; 40 replicates still give stable 95% percentiles
_MIN_EXAM = 1e-3  # a weight is at most 1000 even when a far position's estimate is ~0
_TERMS = ("popularity", "price_ratio", "semantic", "copurchase", "history", "short", "long")
# the irrelevant offers the multivariable fit uses: every factor defined (hypotheses.core)
_FACTORS = ("popularity_log2", "price_ratio", "semantic", "copurchase")


@dataclass(frozen=True)
class Examination:
    """The curve: ``value[j]`` is e_(j+1) / e_1; ``boot`` (B, K) its bootstrap replicates
    (made with the query resamples ``weights``, so corrected levels reuse them)."""

    method: str
    value: np.ndarray
    boot: np.ndarray
    weights: np.ndarray  # (B, Q) how often each query is drawn in each replicate
    queries: pd.Index  # query of each column of ``weights``
    offers: np.ndarray  # (K,) offers per position

    def ci(self, confidence: float) -> np.ndarray:
        a = (1 - confidence) / 2
        with np.errstate(invalid="ignore"):
            return np.nanquantile(self.boot, [a, 1 - a], axis=0).T


@dataclass(frozen=True)
class PositionAnalysis:
    block: PositionBlock
    overview_corrected: OverviewBlock


def position_design(store: StoreLike) -> tuple[int, bool]:
    """(largest position, whether every offer has a propensity and some are below 1)."""
    o = store.table("offers")
    row = o.aggregate(
        max_pos=o.position.max(), n=o.count(), with_prop=o.propensity.notnull().sum(),
        random=(o.propensity < 1).sum(),
    ).to_pandas().iloc[0]
    max_pos = 0 if pd.isna(row["max_pos"]) else int(row["max_pos"])
    randomised = int(row["n"]) > 0 and int(row["with_prop"]) == int(row["n"]) and int(
        row["random"]) > 0
    return max_pos, randomised


def position_counts(store: StoreLike, settings: AnalysisSettings | None = None) -> pd.DataFrame:
    """Per (query, product_id, position): offers, purchases, engagements, clicks (engaged or
    purchased) and ``relevant`` (judged; null when unjudged). Offers without a position are
    left out. The only frame that leaves the engine (pairs x positions rows)."""
    s = settings or AnalysisSettings()
    o = store.table("offers")
    o = o.filter(o.position.notnull() & (o.position >= 1))
    g = o.group_by(["query", "product_id", "position"]).aggregate(
        offers=o.count(),
        purchases=o.purchased.cast("int64").sum(),
        engagements=o.engaged.cast("int64").sum(),
        clicks=(o.engaged | o.purchased).cast("int64").sum(),
    )
    if store.has("judgments"):
        rel = relevance(store, s.labels).select("query", "product_id", "relevant")
        g = g.left_join(rel, ["query", "product_id"]).select(*g.columns, "relevant")
    else:
        g = g.mutate(relevant=ibis.null("boolean"))
    df = g.to_pandas()
    # a stable order makes the bootstrap (and every number) the same run after run
    df = df.sort_values(["query", "product_id", "position"]).reset_index(drop=True)
    df["position"] = df["position"].astype(np.int64)
    return df


def _pair_matrices(counts: pd.DataFrame, k: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    """(n, c) as (pairs, K) matrices, the query code of each pair and the query index."""
    pair, _ = pd.factorize(pd.MultiIndex.from_frame(counts[["query", "product_id"]]))
    qcode, queries = pd.factorize(counts["query"])
    n_pairs = int(pair.max()) + 1 if len(pair) else 0
    n = np.zeros((n_pairs, k))
    c = np.zeros((n_pairs, k))
    j = counts["position"].to_numpy() - 1
    np.add.at(n, (pair, j), counts["offers"].to_numpy(float))
    np.add.at(c, (pair, j), counts["clicks"].to_numpy(float))
    pair_query = np.zeros(n_pairs, dtype=np.int64)
    pair_query[pair] = qcode
    return n, c, pair_query, pd.Index(queries)


def _query_weights(n_queries: int, n_boot: int, seed: int) -> np.ndarray:
    """(B, Q): how often each query is drawn when ``n_queries`` are resampled ``n_boot`` times."""
    rng = np.random.default_rng([seed, 16])
    w = np.empty((n_boot, n_queries))
    for b in range(n_boot):
        w[b] = np.bincount(rng.integers(0, n_queries, n_queries), minlength=n_queries)
    return w


def examination_harvesting(n: np.ndarray, c: np.ndarray, pair_query: np.ndarray,
                           weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intervention harvesting against position 1: (curve (K,), replicates (B, K)).

    ``n``, ``c``: offers and clicks per (pair, position); ``weights`` (B, Q) query resamples.

    >>> n = np.array([[10., 10.], [4., 4.]]); c = np.array([[5., 2.], [2., 1.]])
    >>> examination_harvesting(n, c, np.array([0, 1]), np.ones((1, 2)))[0].round(3).tolist()
    [1.0, 0.429]
    """
    n1, c1 = n[:, :1], c[:, :1]
    both = (n1 > 0) & (n > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(both, n1 * n / (n1 + n), 0.0)
        num = np.where(both, m * c / np.where(n > 0, n, 1), 0.0)
        den = np.where(both, m * c1 / np.where(n1 > 0, n1, 1), 0.0)
    to_query = sp.csr_array((np.ones(len(pair_query)), (pair_query, np.arange(len(pair_query)))),
                            shape=(weights.shape[1], len(pair_query)))
    q_num, q_den = to_query @ num, to_query @ den
    with np.errstate(invalid="ignore", divide="ignore"):
        value = q_num.sum(axis=0) / q_den.sum(axis=0)
        boot = (weights @ q_num) / (weights @ q_den)
    return value, boot


def examination_em(n: np.ndarray, c: np.ndarray, *, iters: int = 500, tol: float = 1e-7,
                   start: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A position-based click model by EM: (e / e_1 (K,), r per pair), clicks ~ Bin(n, e_j r).

    E step, for the n - c offers without a click: P(examined, not attracted) = e(1-r)/(1-er)
    and P(not examined, attracted) = (1-e)r/(1-er); a click means both. M step: each e_j
    (r) is its expected examined (attracted) offers over its offers.

    >>> e = np.array([1.0, 0.5]); r = np.array([0.2, 0.6, 0.4])
    >>> n = np.full((3, 2), 1e6); c = n * r[:, None] * e
    >>> examination_em(n, c)[0].round(3).tolist()
    [1.0, 0.5]
    """
    tot_j = n.sum(axis=0)
    tot_p = n.sum(axis=1)
    if start is None:
        e = np.full(n.shape[1], 0.5)
        r = np.clip(c.sum(axis=1) / np.maximum(tot_p, 1e-12), 0.01, 0.99)
    else:
        e, r = (np.clip(x.copy(), 1e-4, 1 - 1e-4) for x in start)
    miss = n - c
    for _ in range(iters):
        er = np.clip(e[None, :] * r[:, None], 0.0, 1 - 1e-12)
        e_new = (c + miss * (e[None, :] * (1 - r[:, None])) / (1 - er)).sum(axis=0)
        r_new = (c + miss * ((1 - e[None, :]) * r[:, None]) / (1 - er)).sum(axis=1)
        e_new = np.clip(e_new / np.maximum(tot_j, 1e-12), 1e-6, 1 - 1e-6)
        r_new = np.clip(r_new / np.maximum(tot_p, 1e-12), 1e-6, 1 - 1e-6)
        step = max(np.max(np.abs(e_new - e)), np.max(np.abs(r_new - r)))
        e, r = e_new, r_new
        if step < tol:
            break
    # e and r are identified only up to a common scale: report e relative to position 1
    return e / e[0], r


def estimate_examination(counts: pd.DataFrame, *, method: str, n_boot: int = _BOOT,
                         seed: int = 7, max_position: int | None = None) -> Examination:
    """The examination curve from :func:`position_counts` (``method``: harvesting or em)."""
    if method not in ("harvesting", "em"):
        raise ValueError(f"method must be 'harvesting' or 'em', got {method!r}")
    k = int(max_position or counts["position"].max())
    n, c, pair_query, queries = _pair_matrices(counts, k)
    offers = n.sum(axis=0).astype(np.int64)
    if method == "harvesting":
        weights = _query_weights(len(queries), n_boot, seed)
        value, boot = examination_harvesting(n, c, pair_query, weights)
    else:
        weights = _query_weights(len(queries), min(n_boot, _BOOT_EM), seed)
        value, r = examination_em(n, c)
        boot = np.empty((len(weights), k))
        for b, w in enumerate(weights):
            wp = w[pair_query][:, None]
            # warm start from the full fit: a resample's optimum is close to it
            boot[b] = examination_em(n * wp, c * wp, iters=100, tol=1e-6,
                                     start=(value * 0.5, r))[0]
    return Examination(method, value, boot, weights, queries, offers)


def _fill(curve: np.ndarray) -> np.ndarray:
    """Positions without an estimate take the previous position's (weights stay finite)."""
    out = np.array(curve, dtype=float, copy=True)
    for j in range(out.shape[-1]):
        bad = ~np.isfinite(out[..., j])
        out[..., j][bad] = 1.0 if j == 0 else out[..., j - 1][bad]
    return np.maximum(out, _MIN_EXAM)


def _pair_outcomes(counts: pd.DataFrame, k: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per (pair, position) offers, clicks and purchases as (pairs, K) matrices, and each
    pair's judgment (1 relevant, 0 irrelevant, -1 unjudged), pairs in _pair_matrices order."""
    n, c, _, _ = _pair_matrices(counts, k)
    pair, _ = pd.factorize(pd.MultiIndex.from_frame(counts[["query", "product_id"]]))
    u = np.zeros_like(n)
    np.add.at(u, (pair, counts["position"].to_numpy() - 1), counts["purchases"].to_numpy(float))
    rel = counts["relevant"]
    code = np.where(rel.isna(), -1, rel.fillna(False).astype(bool).astype(int))
    judged = np.full(n.shape[0], -1)
    judged[pair] = code
    return n, c, u, judged


def _class_sums(y: np.ndarray, e: np.ndarray, judged: np.ndarray) -> np.ndarray:
    """(2,) Σ y / e_position over irrelevant (0) and relevant (1) pairs; y (..., pairs, K)."""
    w = y / e[..., None, :]
    return np.stack([w[..., judged == g, :].sum(axis=(-2, -1)) for g in (0, 1)], axis=-1)


def _level_replicates(counts: pd.DataFrame, exam: Examination, n_boot: int, seed: int
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Point and replicate weighted sums per outcome, and offers per class.

    Replicates are a parametric bootstrap given the offers (the estimand is the position-free
    mean over the logged offers, as the naive Wilson intervals are conditional on offers):
    each (pair, position) cell redraws its clicks ~ Bin(n, e_j r_pair) and its purchases ~
    Bin(clicks, purchases / clicks of the pair), the curve is re-estimated from the redrawn
    clicks, and the weighted sums are recomputed. Curve and outcomes are redrawn together,
    so their correlation (the curve comes from the same engagements) is kept.
    """
    k = len(exam.value)
    n, c, u, judged = _pair_outcomes(counts, k)
    e = _fill(exam.value)
    offers = np.array([n[judged == g].sum() for g in (0, 1)])
    point = {"engagements": _class_sums(c, e, judged), "purchases": _class_sums(u, e, judged)}
    tot_n = n.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.clip(np.nan_to_num((c / e).sum(axis=1) / tot_n), 0.0, 1.0)
        buy = np.clip(np.nan_to_num(u.sum(axis=1) / c.sum(axis=1)), 0.0, 1.0)
    # Every replicate works on the cells with offers as flat arrays (a few million at 10M
    # offers), never on the (pairs, K) matrices: sums by position are bincounts.
    pc, jc = np.nonzero(n > 0)
    n_c = n[pc, jc]
    n_ci = n_c.astype(np.int64)
    p_click = np.clip(e[jc] * rate[pc], 0.0, 1.0)
    p_buy = buy[pc]
    # harvesting against position 1 (examination_harvesting on the cells): weight m per cell
    n1 = n[pc, 0]
    m = np.where(n1 > 0, n1 * n_c / np.where(n1 > 0, n1 + n_c, 1.0), 0.0)
    first = jc == 0
    cls = judged[pc]
    by_class = np.flatnonzero(cls >= 0)
    key = cls[by_class] * k + jc[by_class]
    rng = np.random.default_rng([seed, 17])
    reps = {"engagements": np.empty((n_boot, 2)), "purchases": np.empty((n_boot, 2))}
    c1_pair = np.zeros(n.shape[0])
    for b in range(n_boot):
        cb = rng.binomial(n_ci, p_click)
        ub = rng.binomial(cb, p_buy)
        if exam.method == "harvesting":
            c1_pair[pc[first]] = cb[first]
            c1 = c1_pair[pc]
            num = np.bincount(jc, weights=m * cb / n_c, minlength=k)
            den = np.bincount(jc, weights=np.where(n1 > 0, m * c1 / np.where(
                n1 > 0, n1, 1.0), 0.0), minlength=k)
            with np.errstate(invalid="ignore", divide="ignore"):
                eb = num / den
        else:
            cm = np.zeros_like(n)
            cm[pc, jc] = cb
            eb = examination_em(n, cm, iters=100, tol=1e-6, start=(exam.value * 0.5, rate))[0]
        eb = _fill(eb)
        for col, y in (("engagements", cb), ("purchases", ub)):
            sums = np.bincount(key, weights=y[by_class], minlength=2 * k).reshape(2, k)
            reps[col][b] = (sums / eb).sum(axis=1)
    return point, reps, offers


def corrected_overview(counts: pd.DataFrame, exam: Examination, store: StoreLike,
                       settings: AnalysisSettings, n_boot: int = _BOOT) -> OverviewBlock:
    """The ``overview`` block with every level and share inverse-examination weighted.

    Intervals: normal, with the standard deviation of the parametric bootstrap of
    :func:`_level_replicates` (given the offers, curve re-estimated in every replicate).
    """
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + settings.confidence / 2))
    n_boot = n_boot if exam.method == "harvesting" else min(n_boot, _BOOT_EM)
    point, reps, offers = _level_replicates(counts, exam, n_boot, settings.seed)
    raw = {col: float(counts.loc[counts["relevant"].notna(), col].sum())
           for col in ("purchases", "engagements")}

    def interval(value: float, boot: np.ndarray, hi: float | None) -> tuple[float, float] | None:
        boot = boot[np.isfinite(boot)]
        if not np.isfinite(value) or len(boot) < 2:
            return None
        sd = float(np.std(boot, ddof=1))
        return max(value - z * sd, 0.0), (value + z * sd if hi is None else
                                         min(value + z * sd, hi))

    def level(rel: bool, col: str) -> LevelRate:
        g = int(rel)
        if offers[g] == 0:
            return LevelRate(value=None, ci=None, offers=0)
        value = float(point[col][g] / offers[g])
        return LevelRate(value=value, ci=interval(value, reps[col][:, g] / offers[g], None),
                         offers=int(offers[g]))

    def share(col: str) -> ShareRate:
        x, xb = point[col], reps[col]
        if x.sum() <= 0:
            return ShareRate(value=None, ci=None, n=int(raw[col]))
        value = float(x[0] / x.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = xb[:, 0] / xb.sum(axis=1)
        return ShareRate(value=value, ci=interval(value, boot, 1.0), n=int(raw[col]))

    return OverviewBlock(
        purchase_level=LevelPair(relevant=level(True, "purchases"),
                                 irrelevant=level(False, "purchases")),
        engagement_level=LevelPair(relevant=level(True, "engagements"),
                                   irrelevant=level(False, "engagements")),
        irrelevant_share=IrrelevantShare(purchases=share("purchases"),
                                         engagements=share("engagements")),
        annotator_agreement=agreement(store, settings.labels))


def _term(fit: ClusteredFit | None, name: str, confidence: float) -> Term | None:
    if fit is None or name not in fit.names:
        return None
    t = fit.term(name, confidence)
    est = t["estimate"]
    direction = "0" if not np.isfinite(est) or est == 0 else ("+" if est > 0 else "-")
    return Term(estimate=est, ci=(t["ci_low"], t["ci_high"]), p_value=t["p_value"],
                direction=direction)  # type: ignore[arg-type]


def corrected_hypotheses(store: StoreLike, settings: AnalysisSettings, exam: Examination
                         ) -> dict[str, dict[str, TermComparison]]:
    """Multivariable coefficients among irrelevant offers, naive and weighted, per term."""
    from seemingly.explain.factors import build_offer_factors

    e = _fill(exam.value)
    weights = ibis.memtable({"position": np.arange(1, len(e) + 1, dtype=np.int32),
                             "weight": 1.0 / e})
    ft = build_offer_factors(
        offers=store.table("offers"), products=store.table("products"),
        relevance=relevance(store, settings), settings=settings.hypotheses, cells=True,
        orders=store.table("orders") if store.has("orders") else None,
        position_weights=weights)
    patterns = pattern_frame(ft.table, settings.hypotheses)
    irr = patterns[~patterns["relevant"]]
    frame = irr[irr[list(_FACTORS)].notna().all(axis=1)].reset_index(drop=True)
    out: dict[str, dict[str, TermComparison]] = {t: {} for t in _TERMS}
    for outcome, col in OUTCOME_COUNTS.items():
        naive = fit_multivariable(frame, col)[0] if len(frame) else None
        corr = (fit_multivariable(frame, f"{col}_ipw", weighted=True)[0] if len(frame)
                else None)
        for t in _TERMS:
            out[t][outcome] = TermComparison(naive=_term(naive, t, settings.confidence),
                                             corrected=_term(corr, t, settings.confidence))
    return out


def corrected_levels(counts: pd.DataFrame, exam: Examination) -> pd.DataFrame:
    """Per judged (query, product): offers and weighted purchases / engagements (the
    strategy table's input, see :func:`seemingly.explain.strategies.compare_strategies`)."""
    e = _fill(exam.value)
    sub = counts[counts["relevant"].notna()].copy()
    w = 1.0 / e[sub["position"].to_numpy() - 1]
    sub["purchases"] = sub["purchases"] * w
    sub["engagements"] = sub["engagements"] * w
    return sub.groupby(["query", "product_id"], as_index=False, sort=True).agg(
        offers=("offers", "sum"), purchases=("purchases", "sum"),
        engagements=("engagements", "sum"), relevant=("relevant", "first"))


def analyze_positions(store: StoreLike, settings: AnalysisSettings | None = None
                      ) -> PositionAnalysis | None:
    """The ``position`` and ``overview_corrected`` blocks; None when every offer sits at one
    position (a voice log: nothing to correct, and the results stay as they were)."""
    s = settings or AnalysisSettings()
    if not (store.has("offers") and store.has("judgments")):
        return None
    max_pos, randomised = position_design(store)
    if max_pos <= 1:
        return None
    counts = position_counts(store, s)
    method = "harvesting" if randomised else "em"
    exam = estimate_examination(counts, method=method, seed=s.seed, max_position=max_pos)
    ci = exam.ci(s.confidence)
    points = [
        ExaminationPoint(position=j + 1, value=float(exam.value[j]),
                         ci=(float(ci[j, 0]), float(ci[j, 1])), offers=int(exam.offers[j]))
        for j in range(max_pos)
    ]
    m = getattr(s, "models", None)
    min_offers = (m.strategy_min_offers if m is not None and m.strategy_min_offers
                  else s.min_offers)
    lv = corrected_levels(counts, exam)
    strategies = compare_strategies(lv, min_offers=min_offers,
                                    n_boot=m.n_boot if m is not None else 1000,
                                    seed=s.seed, confidence=s.confidence) if len(lv) else None
    notes = [
        f"examination from {'intervention harvesting' if method == 'harvesting' else 'EM'} "
        "on engagements (engaged or purchased), relative to position 1; "
        + ("the logged propensities show a stochastic policy, so one (query, product) is "
           "seen at several positions" if method == "harvesting" else
           "no logged stochastic policy (propensities missing or all 1): a position-based "
           "click model fitted by EM"),
        "corrected = inverse examination weights: an offer at position j counts y / e_j, "
        "unbiased under the position-based model for any rate (position as a logit "
        "covariate assumes an additive shift in log-odds, wrong for rates far from 0)",
        "level intervals: parametric bootstrap given the offers (as the naive Wilson "
        "intervals), outcomes redrawn and the curve re-estimated in each replicate; fit "
        "intervals treat the curve as known",
    ]
    block = PositionBlock(
        method=method,  # type: ignore[arg-type]
        signal="engagement", correction=CORRECTION, max_position=max_pos,
        offers_by_position=[int(x) for x in exam.offers], examination=points,
        hypotheses=corrected_hypotheses(store, s, exam),  # type: ignore[arg-type]
        strategies=strategies, notes=notes)
    return PositionAnalysis(block, corrected_overview(counts, exam, store, s))
