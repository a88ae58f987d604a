"""The fits behind each hypothesis, on the pattern frame (pandas, already small).

- multivariable: among irrelevant judged offers with every factor defined, logit of the outcome
  on all factors together plus category fixed effects, clustered by query;
- univariate: the same offers, the outcome on one factor alone (plus a constant);
- category tolerance: among all judged offers, per category the log odds ratio of an
  irrelevant versus a relevant offer's outcome, and a Wald test that it is equal everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from seemingly.explain.hypotheses.stats import ClusteredFit, fit_clustered_logit

__all__ = ["TERMS", "fit_multivariable", "fit_univariate", "fit_tolerance", "Tolerance"]

# model term -> (pattern column, divisor that makes one unit of the term)
TERMS: dict[str, tuple[str, float]] = {
    "popularity": ("popularity_log2", 1.0),
    "price_ratio": ("price_ratio", 1.0),
    "semantic": ("semantic", 0.1),
    "copurchase": ("copurchase", 1.0),
    "history": ("history", 1.0),
    "short": ("length_bin", 1.0),
    "long": ("length_bin", 1.0),
}


def _term_values(frame: pd.DataFrame, term: str, history_col: str) -> np.ndarray:
    if term in ("short", "long"):
        return (frame["length_bin"] == term).to_numpy(dtype=np.float64)
    col, scale = TERMS[term]
    if term == "history":
        col = history_col
    return frame[col].to_numpy(dtype=np.float64) / scale


def _usable(frame: pd.DataFrame, outcome: str, by: str) -> pd.Series:
    """Groups whose outcome varies: a group with no (or only) successes has an infinite effect
    and carries no information on the other coefficients, so it is left out of the fit."""
    tot = frame.groupby(by, observed=True)[[outcome, "offers"]].sum()
    return (tot[outcome] > 0) & (tot[outcome] < tot["offers"])


def fit_multivariable(
    frame: pd.DataFrame, outcome: str, *, history_col: str = "history", weighted: bool = False
) -> tuple[ClusteredFit | None, dict[str, object]]:
    """All factors + category fixed effects; returns the fit and what was left out.

    ``weighted``: ``outcome`` holds inverse-examination-weighted sums (see
    :func:`~seemingly.explain.hypotheses.stats.fit_clustered_logit`).

    A term whose column is constant in ``frame`` (no short queries, nobody with history, ...)
    is dropped and listed in ``info["terms_dropped"]``; its hypothesis is then not testable.
    """
    ok = _usable(frame, outcome, "category")
    dropped_cats = sorted(ok.index[~ok].astype(str))
    sub = frame[frame["category"].isin(ok.index[ok])]
    info: dict[str, object] = {
        "categories_dropped": dropped_cats,
        "offers_dropped": int(frame["offers"].sum() - sub["offers"].sum()),
        "terms_dropped": [],
    }
    if sub.empty:
        return None, info
    cols: dict[str, np.ndarray] = {"const": np.ones(len(sub))}
    for term in TERMS:
        values = _term_values(sub, term, history_col)
        if np.ptp(values) > 0:
            cols[term] = values
        else:
            info["terms_dropped"].append(term)  # type: ignore[attr-defined]
    offers_by_cat = sub.groupby("category", observed=True)["offers"].sum()
    ref = str(offers_by_cat.idxmax())
    for cat in sorted(offers_by_cat.index.astype(str)):
        if cat != ref:
            cols[f"category[{cat}]"] = (sub["category"] == cat).to_numpy(dtype=np.float64)
    info["category_reference"] = ref
    exog = pd.DataFrame(cols)
    fit = fit_clustered_logit(exog, sub[outcome].to_numpy(), sub["offers"].to_numpy(),
                              sub["query"], weighted=weighted)
    return fit, info


def fit_univariate(
    frame: pd.DataFrame, outcome: str, terms: tuple[str, ...], *, history_col: str = "history"
) -> ClusteredFit | None:
    """The outcome on ``terms`` alone (plus a constant), no category effects."""
    cols: dict[str, np.ndarray] = {"const": np.ones(len(frame))}
    for term in terms:
        values = _term_values(frame, term, history_col)
        if len(values) and np.ptp(values) > 0:
            cols[term] = values
    if len(cols) == 1:
        return None
    return fit_clustered_logit(pd.DataFrame(cols), frame[outcome].to_numpy(),
                               frame["offers"].to_numpy(), frame["query"])


@dataclass(frozen=True)
class Tolerance:
    """Per-category log odds ratio (irrelevant vs relevant) and the heterogeneity tests."""

    categories: tuple[str, ...]
    estimates: np.ndarray
    cov: np.ndarray
    wald: float
    df: int
    p_value: float
    tau: float
    tau_ci: tuple[float, float]
    n_clusters: int


def _dersimonian_laird(est: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Between-category SD of the estimates in the last axis (vectorised over the others)."""
    w = 1.0 / np.maximum(var, 1e-12)
    mean = (est * w).sum(axis=-1, keepdims=True) / w.sum()
    q = (w * (est - mean) ** 2).sum(axis=-1)
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    if c <= 0:
        return np.zeros(np.shape(q))
    return np.sqrt(np.maximum(0.0, (q - (est.shape[-1] - 1)) / c))


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def fit_tolerance(
    frame: pd.DataFrame, outcome: str, *, confidence: float = 0.95, seed: int = 7,
    draws: int = 2000,
) -> Tolerance | None:
    """Tolerance per category and whether it differs between categories.

    ``tau`` is the DerSimonian-Laird between-category SD of the log odds ratios (0 when they
    differ no more than their standard errors explain); its interval is a seeded parametric
    bootstrap from the clustered covariance (approximate). ``p_value`` is the Wald test that all
    log odds ratios are equal (chi-square with k-1 df, query-clustered covariance).

    The model (one base log-odds per category plus one irrelevant-vs-relevant shift per
    category) has a parameter per (category, relevant) cell, so its maximum-likelihood fit is
    closed-form: each cell's fitted rate is its observed rate. Only the clustered covariance
    needs the per-query rows.
    """
    agg = frame.groupby(["query", "category", "relevant"], observed=True, as_index=False)[
        ["offers", outcome]
    ].sum()
    cells = agg.groupby(["category", "relevant"], observed=True)[[outcome, "offers"]].sum()
    usable = []
    for cat in sorted({str(c) for c in cells.index.get_level_values(0)}):
        part = cells[cells.index.get_level_values(0) == cat]
        if len(part) == 2 and bool(((part[outcome] > 0) & (part[outcome] < part["offers"])).all()):
            usable.append(cat)
    if len(usable) < 2:
        return None
    sub = agg[agg["category"].isin(usable)]
    cols: dict[str, np.ndarray] = {}
    params: list[float] = []
    for cat in usable:
        is_cat = (sub["category"] == cat).to_numpy(dtype=np.float64)
        cols[f"base[{cat}]"] = is_cat
        cols[f"tolerance[{cat}]"] = is_cat * (~sub["relevant"]).to_numpy(dtype=np.float64)
        part = cells[cells.index.get_level_values(0) == cat]
        rate = {bool(r): s / n for (_, r), s, n in
                zip(part.index, part[outcome], part["offers"], strict=True)}
        base, irr = _logit(np.array([rate[True], rate[False]]))
        params.extend([base, irr - base])
    fit = fit_clustered_logit(pd.DataFrame(cols), sub[outcome].to_numpy(), sub["offers"].to_numpy(),
                              sub["query"], params=np.array(params))
    idx = [fit.index(f"tolerance[{c}]") for c in usable]
    est = fit.params[idx]
    cov = fit.cov[np.ix_(idx, idx)]
    k = len(usable)
    contrasts = np.zeros((k - 1, len(fit.params)))
    for row, j in enumerate(idx[1:]):
        contrasts[row, idx[0]] = -1.0
        contrasts[row, j] = 1.0
    stat, df, p = fit.wald(contrasts)
    var = np.diag(cov)
    tau = float(_dersimonian_laird(est, var))
    rng = np.random.default_rng(seed)
    sims = rng.multivariate_normal(est, cov, size=draws, method="svd")
    taus = _dersimonian_laird(sims, var)
    lo, hi = np.quantile(taus, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return Tolerance(tuple(usable), est, cov, stat, df, p, tau, (float(lo), float(hi)),
                     fit.n_clusters)
