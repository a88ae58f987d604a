"""Statistics on covariate patterns: clustered binomial logit, Wald tests, Holm, binned curves.

Every function takes aggregated rows (one row per covariate pattern, with ``trials`` offers and
``successes`` outcomes) so nothing here ever sees one row per offer. A binomial logit on
patterns has exactly the log-likelihood, score and Hessian of the logit on the offers they
summarise, and because patterns never straddle two queries, summing the pattern scores per
query gives the same per-query score as summing offer scores: the query-clustered sandwich is
identical too (``tests/explain/test_hypotheses.py`` checks it against statsmodels on the
expanded rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from seemingly.explain.intervals import wilson

__all__ = ["ClusteredFit", "fit_clustered_logit", "holm", "binned_curve"]


@dataclass(frozen=True)
class ClusteredFit:
    """A binomial logit with a cluster-robust covariance (Stata's G/(G-1) correction)."""

    names: tuple[str, ...]
    params: np.ndarray
    cov: np.ndarray
    n_clusters: int
    n_patterns: int
    n_trials: int

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"the model has no term {name!r}; it has {list(self.names)}") from None

    def se(self, name: str) -> float:
        i = self.index(name)
        return float(np.sqrt(max(self.cov[i, i], 0.0)))

    def term(self, name: str, confidence: float = 0.95) -> dict[str, float]:
        """Estimate, interval and two-sided p-value of one coefficient (t with G-1 df)."""
        est = float(self.params[self.index(name)])
        se = self.se(name)
        df = max(self.n_clusters - 1, 1)
        q = float(stats.t.ppf(0.5 + confidence / 2, df))
        p = float(2 * stats.t.sf(abs(est) / se, df)) if se > 0 else float("nan")
        return {"estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se,
                "p_value": p}

    def wald(self, contrasts: np.ndarray) -> tuple[float, int, float]:
        """Wald test of ``contrasts @ params == 0``: (statistic, df, chi-square p-value)."""
        r = np.atleast_2d(contrasts)
        rb = r @ self.params
        v = r @ self.cov @ r.T
        stat = float(rb @ np.linalg.pinv(v) @ rb)
        df = int(np.linalg.matrix_rank(v))
        return stat, df, float(stats.chi2.sf(stat, df)) if df > 0 else float("nan")


def _expit(eta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(eta, -700, 700)))


def _loglik(x: np.ndarray, s: np.ndarray, n: np.ndarray, beta: np.ndarray) -> float:
    eta = x @ beta
    # log(1 + e^eta) computed without overflow
    return float(np.sum(s * eta - n * np.logaddexp(0.0, eta)))


def _newton_logit(x: np.ndarray, s: np.ndarray, n: np.ndarray, max_iter: int = 100,
                  tol: float = 1e-10) -> np.ndarray:
    """Binomial-logit maximum likelihood by Newton steps on the normal equations.

    statsmodels' GLM gives the same answer (the tests check it) but spends most of its time in
    a rank SVD and a least-squares solve per iteration on the full design; X'WX is k x k, so
    this stays fast on a million patterns. Step halving keeps every step uphill.
    """
    rate = np.clip(s.sum() / n.sum(), 1e-6, 1 - 1e-6)
    beta = np.zeros(x.shape[1])
    const = np.flatnonzero(np.all(x == 1.0, axis=0))
    if len(const):
        beta[const[0]] = np.log(rate / (1 - rate))
    ll = _loglik(x, s, n, beta)
    for _ in range(max_iter):
        p = _expit(x @ beta)
        grad = x.T @ (s - n * p)
        hess = x.T @ (x * (n * p * (1 - p))[:, None])
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = beta + t * step
            ll_new = _loglik(x, s, n, cand)
            if ll_new >= ll - 1e-12 or t < 1e-8:
                break
            t /= 2
        beta, ll_old, ll = cand, ll, ll_new
        if np.max(np.abs(t * step)) < tol or abs(ll - ll_old) < 1e-15 * (abs(ll) + 1):
            break
    return beta


def _cluster_codes(groups: np.ndarray | pd.Series) -> tuple[np.ndarray, int]:
    if isinstance(groups, pd.Series) and isinstance(groups.dtype, pd.CategoricalDtype):
        # categorical codes are already integers: no pass over Python strings
        codes, uniq = pd.factorize(groups.array)
    else:
        codes, uniq = pd.factorize(np.asarray(groups))
    return np.asarray(codes), len(uniq)


def fit_clustered_logit(
    exog: pd.DataFrame,
    successes: np.ndarray,
    trials: np.ndarray,
    groups: np.ndarray | pd.Series,
    *,
    params: np.ndarray | None = None,
    weighted: bool = False,
) -> ClusteredFit:
    """Fit ``logit P(success) = exog @ beta`` on patterns; cluster the covariance by ``groups``.

    Parameters
    ----------
    exog : design matrix, one row per pattern, named columns (include a constant yourself).
    successes, trials : outcome counts per pattern (``0 <= successes <= trials``, trials > 0).
    groups : cluster label per pattern (the query); a pattern must not mix clusters.
    params : the maximum-likelihood estimate when it is known in closed form (a saturated
        model: one parameter per cell); Newton's method is then skipped and only the
        covariance is computed.
    weighted : ``successes`` are inverse-propensity-weighted sums (may exceed ``trials``);
        the binomial score equations stay unbiased estimating equations (quasi-likelihood)
        and the clustered sandwich is their valid covariance.

    Returns
    -------
    ClusteredFit with ``cov = G/(G-1) * B^-1 (sum_g s_g s_g') B^-1``, ``B`` the Hessian and
    ``s_g`` the score summed over cluster g.
    """
    successes = np.asarray(successes, dtype=np.float64)
    trials = np.asarray(trials, dtype=np.float64)
    if len(exog) == 0:
        raise ValueError("no patterns to fit; every offer was excluded (see 'excluded' counts)")
    if np.any(trials <= 0) or np.any(successes < 0) or (
            not weighted and np.any(successes > trials)):
        raise ValueError("need 0 <= successes <= trials and trials > 0 in every pattern")
    x = exog.to_numpy(dtype=np.float64)
    # The products here are tall and thin (patterns x a few terms). A multi-threaded BLAS gains
    # nothing on them, and on a busy machine its threads spin-wait for cores: measured 30x
    # slower on two shared cores. One thread is both faster and predictable.
    with threadpool_limits(limits=1, user_api="blas"):
        if params is None:
            beta = _newton_logit(x, successes, trials)
        else:
            beta = np.asarray(params, dtype=np.float64)
            if beta.shape != (x.shape[1],):
                raise ValueError(f"params has shape {beta.shape}; exog has {x.shape[1]} columns")
        p = _expit(x @ beta)
        w = trials * p * (1 - p)
        hessian = x.T @ (x * w[:, None])
        bread = np.linalg.pinv(hessian)
        resid = successes - trials * p
        codes, n_clusters = _cluster_codes(groups)
        # per-cluster score sums, one column at a time: bincount adds in row order, as
        # np.add.at does (so the sums are the same to the last bit), several times faster
        scores = x * resid[:, None]
        cluster_scores = np.column_stack(
            [np.bincount(codes, weights=scores[:, j], minlength=n_clusters)
             for j in range(x.shape[1])]
        ) if x.shape[1] else np.zeros((n_clusters, 0))
        meat = cluster_scores.T @ cluster_scores
    factor = n_clusters / (n_clusters - 1) if n_clusters > 1 else 1.0
    cov = factor * bread @ meat @ bread
    return ClusteredFit(
        names=tuple(str(c) for c in exog.columns),
        params=beta,
        cov=cov,
        n_clusters=n_clusters,
        n_patterns=len(exog),
        n_trials=int(trials.sum()),
    )


def holm(p_values: list[float | None] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values; missing (None/NaN) entries stay NaN and are not counted.

    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.array([np.nan if v is None else v for v in p_values], dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / w.sum()
    return v[np.minimum(np.searchsorted(cum, qs, side="left"), len(v) - 1)]


def bin_edges(values: np.ndarray, weights: np.ndarray, n_bins: int) -> np.ndarray:
    """Edges of (at most) ``n_bins`` offer-weighted quantile bins; a heavy minimum is its own bin.

    When more than 1/n_bins of the offers sit on the smallest value (no co-purchase at all, say)
    that value gets a bin of its own, so it does not blur into its neighbours.
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    lo = values.min()
    at_min = weights[values == lo].sum() / weights.sum()
    edges = [lo]
    rest = values > lo
    if at_min > 1 / n_bins and rest.any():
        edges.append(lo)  # zero-width first bin: exactly the minimum
        k = max(n_bins - 1, 1)
        qs = np.linspace(0, 1, k + 1)[1:]
        edges.extend(_weighted_quantiles(values[rest], weights[rest], qs))
    else:
        qs = np.linspace(0, 1, n_bins + 1)[1:]
        edges.extend(_weighted_quantiles(values, weights, qs))
    out = [edges[0], edges[1]]
    for e in edges[2:]:
        if e > out[-1]:
            out.append(e)
    return np.asarray(out)


def assign_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index per value: bin 0 is [e0, e1], bin i is (e_i, e_{i+1}]; outside -> nearest."""
    idx = np.searchsorted(edges[1:-1], values, side="left")
    return np.clip(idx, 0, len(edges) - 2)


def binned_curve(
    labels: pd.Series,
    trials: np.ndarray,
    successes: np.ndarray,
    order: list[str],
    confidence: float = 0.95,
) -> list[dict[str, object]]:
    """Rate per bin label with a Wilson interval: ``[{bin, offers, rate, ci}]`` in ``order``."""
    frame = pd.DataFrame({"bin": labels.to_numpy(), "n": trials, "s": successes})
    agg = frame.groupby("bin", sort=False)[["n", "s"]].sum()
    counts = dict(zip(agg.index, agg.to_numpy(dtype=np.float64), strict=True))
    rows: list[dict[str, object]] = []
    for label in order:
        if label not in counts:
            continue
        n, s = counts[label]
        if n <= 0:
            continue
        lo, hi = wilson(np.array([s]), np.array([n]), confidence)
        rows.append({"bin": label, "offers": int(n), "rate": s / n,
                     "ci": [float(lo[0]), float(hi[0])]})
    return rows


def edge_labels(edges: np.ndarray, digits: int = 3) -> list[str]:
    """Readable labels for the bins of :func:`assign_bins`."""
    labels = []
    for i in range(len(edges) - 1):
        a, b = round(float(edges[i]), digits), round(float(edges[i + 1]), digits)
        if a == b:
            labels.append(f"{a:g}")
        elif i == 0:
            labels.append(f"[{a:g}, {b:g}]")
        else:
            labels.append(f"({a:g}, {b:g}]")
    return labels
