"""Which labels are likely wrong: votes, behaviour and a relevance score in one latent-class model.

Each judged (query, product) has an unknown true relevance ``z``. Three kinds of evidence are
taken as independent given ``z`` (the Dawid–Skene assumption, extended):

- **votes**: each annotator's confusion matrix ``P(vote | z)`` (Dawid–Skene);
- **behaviour**: the pair's purchases out of its offers, and its engagements without a
  purchase out of the offers not bought (engaged = purchased or engaged otherwise, so the two
  binomials factor the three outcomes exactly). Under class ``z`` a pair's rate is Beta
  distributed around *its query's* rate of class-``z`` products (leave-one-out: the pair never
  sets its own yardstick, shrunk to the overall class rate by ``PRIOR_OFFERS`` pseudo-offers);
  the Beta's concentration is estimated from the spread of the pairs (beta-binomial), so a
  pair with 3 offers moves the posterior far less than one with 300;
- **score** (optional): a relevance model's cross-fitted score, in quantile bins with a
  categorical ``P(bin | z)``, so the model need not be calibrated. The caller guarantees the
  score of a pair came from a model that did not see the pair's label
  (:mod:`seemingly.ranking.rejudge` fits it on other queries).

EM starts at the Dawid–Skene posterior of the votes and re-estimates every part. The
posterior that a label is wrong is P(z = 1) for a pair judged irrelevant and P(z = 0) for one
judged relevant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import betaln, expit

from seemingly.config import AnalysisSettings
from seemingly.explain.aggregation import VoteData, dawid_skene, votes_data
from seemingly.explain.labels import relevance, vote_frame

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["LabelEvidence", "label_evidence", "joint_posterior", "JointPosterior",
           "mislabelled_share", "flip_effects", "PRIOR_OFFERS"]

PRIOR_OFFERS = 20.0  # pseudo-offers of the overall class rate in a query's class rate
_RHO = (1e-3, 0.5)  # bounds of the beta-binomial's intra-pair correlation 1 / (phi + 1)


@dataclass(frozen=True)
class LabelEvidence:
    """Votes and behaviour of the judged pairs; ``pairs`` rows follow ``votes.pairs``:
    query, product_id, label (the analysis's label, bool), n_judgments, relevant_votes,
    offers, purchases, engagements."""

    votes: VoteData
    pairs: pd.DataFrame


def label_evidence(store: StoreLike, settings: AnalysisSettings | None = None) -> LabelEvidence:
    """Collect the evidence of every judged pair (behaviour counts are 0 without offers)."""
    s = settings or AnalysisSettings()
    d = votes_data(vote_frame(store, s.labels))
    rel = relevance(store, s.labels).select("query", "product_id", "relevant").to_pandas()
    pairs = d.pairs.merge(rel, on=["query", "product_id"], how="left", validate="one_to_one")
    pairs = pairs.rename(columns={"relevant": "label"})
    pairs["label"] = pairs["label"].astype(bool)
    pairs["n_judgments"] = np.bincount(d.task, minlength=d.n_tasks)
    pairs["relevant_votes"] = np.bincount(d.task, weights=d.vote, minlength=d.n_tasks).astype(
        np.int64)
    if store.has("offers"):
        o = store.table("offers")
        g = o.group_by(["query", "product_id"]).aggregate(
            offers=o.count(), purchases=o.purchased.cast("int64").sum(),
            engagements=o.engaged.cast("int64").sum()).to_pandas()
        pairs = pairs.merge(g, on=["query", "product_id"], how="left")
    for col in ("offers", "purchases", "engagements"):
        if col not in pairs:
            pairs[col] = 0
        pairs[col] = pairs[col].fillna(0).astype(np.int64)
    return LabelEvidence(d, pairs)


@dataclass(frozen=True)
class JointPosterior:
    """P(relevant) per pair under the joint model and the parts it is made of (log
    likelihood ratios relevant : irrelevant), plus the yardsticks of the behaviour part."""

    posterior: np.ndarray
    votes_posterior: np.ndarray
    behaviour_llr: np.ndarray
    score_llr: np.ndarray
    query_rate_relevant: np.ndarray
    query_rate_irrelevant: np.ndarray
    n_iter: int


def _bb(k: np.ndarray, n: np.ndarray, m: np.ndarray, rho: float) -> np.ndarray:
    """Beta-binomial log pmf without the binomial coefficient (it cancels across classes)."""
    phi = 1.0 / rho - 1.0
    a = np.clip(m, 1e-6, 1 - 1e-6) * phi
    b = phi - a
    return betaln(k + a, n - k + b) - betaln(a, b)


def _class_rates(q: np.ndarray, k: np.ndarray, n: np.ndarray, w: np.ndarray
                 ) -> tuple[np.ndarray, float]:
    """Leave-one-out rate of the pair's query among class pairs (weights ``w``), shrunk to
    the overall class rate, and the beta-binomial correlation by moments."""
    kw, nw = w * k, w * n
    overall = (kw.sum() + 0.5) / (nw.sum() + 1.0)
    kq = np.bincount(q, weights=kw)[q] - kw
    nq = np.bincount(q, weights=nw)[q] - nw
    m = (kq + PRIOR_OFFERS * overall) / (nq + PRIOR_OFFERS)
    many = n >= 2
    var = n * m * (1 - m)
    num = (w * ((k - n * m) ** 2 - var))[many].sum()
    den = (w * var * (n - 1))[many].sum()
    rho = float(np.clip(num / den, *_RHO)) if den > 0 else _RHO[0]
    return m, rho


def _score_bins(score: np.ndarray, n_bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(score, np.linspace(0, 1, n_bins + 1)[1:-1]))
    return np.searchsorted(edges, score, side="right")


def joint_posterior(ev: LabelEvidence, score: np.ndarray | None = None, *, n_iter: int = 100,
                    tol: float = 1e-6, n_bins: int = 10) -> JointPosterior:
    """Fit the joint model (module doc) by EM; ``score`` is per row of ``ev.pairs`` (NaN: no
    score for that pair, its score part is left out)."""
    d, p = ev.votes, ev.pairs
    start = dawid_skene(d).posterior
    r = start.copy()
    q = pd.factorize(p["query"])[0]
    n = p["offers"].to_numpy(float)
    k = p["purchases"].to_numpy(float)
    e = np.minimum(p["engagements"].to_numpy(float) - k, n - k)
    e = np.maximum(e, 0.0)
    has_score = score is not None and np.isfinite(score).any()
    bins = np.zeros(len(p), np.int64)
    scored = np.zeros(len(p), bool)
    if has_score:
        assert score is not None
        scored = np.isfinite(score)
        bins[scored] = _score_bins(score[scored], n_bins)
    n_b = int(bins.max()) + 1
    used = np.zeros((d.n_workers, 2), bool)
    used[d.worker, d.vote] = True
    it = 0
    zeros = np.zeros(len(p))
    for it in range(1, n_iter + 1):  # noqa: B007 (the count is reported)
        w = {1: r, 0: 1.0 - r}
        prior = float(np.clip(r.mean(), 1e-6, 1 - 1e-6))
        # votes: confusion with half a pseudo-count per cell, so no vote is impossible
        err = np.full((d.n_workers, 2, 2), 0.5)
        np.add.at(err, (d.worker, d.vote), np.column_stack([1 - r, r])[d.task])
        err = np.where(used[:, :, None], err, 0.0)
        err /= err.sum(axis=1, keepdims=True)
        ll = {c: np.log(prior if c else 1 - prior) + zeros for c in (0, 1)}
        beh = {}
        rates = {}
        for c in (0, 1):
            vote_ll = np.zeros(len(p))
            np.add.at(vote_ll, d.task, np.log(np.maximum(err[d.worker, d.vote, c], 1e-12)))
            mp, rho_p = _class_rates(q, k, n, w[c])
            me, rho_e = _class_rates(q, e, n - k, w[c])
            rates[c] = mp
            beh[c] = _bb(k, n, mp, rho_p) + _bb(e, n - k, me, rho_e)
            ll[c] = ll[c] + vote_ll + beh[c]
        s_llr = zeros
        if has_score:
            pb = {c: (np.bincount(bins[scored], weights=w[c][scored], minlength=n_b) + 1.0)
                  / (w[c][scored].sum() + n_b) for c in (0, 1)}
            s_llr = np.where(scored, np.log(pb[1][bins]) - np.log(pb[0][bins]), 0.0)
        new = expit(ll[1] - ll[0] + s_llr)
        done = np.abs(new - r).max() < tol
        r = new
        if done:
            break
    return JointPosterior(r, start, beh[1] - beh[0], s_llr, rates[1], rates[0], it)


def mislabelled_share(counts: np.ndarray, wrong: np.ndarray, groups: np.ndarray, *,
                      n_draws: int, seed: int, confidence: float
                      ) -> tuple[float | None, tuple[float, float] | None]:
    """Share of ``counts`` (purchases or engagements of judged-irrelevant pairs) on pairs whose
    label is wrong: the posterior mean ``sum(p k) / sum(k)``, and an equal-tailed interval.

    Each of ``n_draws`` draws resamples the queries (``groups``) with replacement and draws
    every pair's label from its posterior ``wrong``. The label draws alone would say how
    sure the model is of each pair; the query bootstrap adds what they miss, that the model
    itself (its rates, confusion matrices, score bins) was estimated from these queries and
    its posteriors are only as calibrated as those estimates.
    """
    k = np.asarray(counts, float)
    if k.sum() <= 0:
        return None, None
    keep = k > 0
    k, p = k[keep], np.asarray(wrong, float)[keep]
    g = pd.factorize(np.asarray(groups)[keep])[0]
    value = float(p @ k / k.sum())
    rng = np.random.default_rng(seed)
    n_g = int(g.max()) + 1
    shares = np.empty(n_draws)
    # draws in blocks, whole-array operations: one query resample (n_g uniform picks, as
    # counts per query) and one label draw per pair per draw; a block of (draws x pairs)
    # stays near 16 MB whatever the data's size
    block = max(1, min(n_draws, 2_000_000 // max(len(k), n_g)))
    for start in range(0, n_draws, block):
        m = min(block, n_draws - start)
        picks = rng.integers(0, n_g, (m, n_g)) + (np.arange(m) * n_g)[:, None]
        times = np.bincount(picks.ravel(), minlength=m * n_g).reshape(m, n_g)
        w = times[:, g] * k
        z = rng.random((m, len(k))) < p
        total = w.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares[start:start + m] = np.where(total > 0, (w * z).sum(1) / total, np.nan)
    a = (1 - confidence) / 2
    lo, hi = np.nanquantile(shares, [a, 1 - a])
    return value, (float(lo), float(hi))


def flip_effects(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per pair, how the overview's headline numbers move if its label alone is flipped:
    ``delta_irrelevant_share_purchases`` / ``_engagements`` (share of judged purchases and
    engagements on irrelevant offers) and ``delta_irrelevant_purchase_level``."""
    lab = pairs["label"].to_numpy(bool)
    n, k, e = (pairs[c].to_numpy(float) for c in ("offers", "purchases", "engagements"))
    sign = np.where(lab, 1.0, -1.0)  # relevant -> irrelevant adds to the irrelevant side
    out = pd.DataFrame(index=pairs.index)
    for col, x in (("purchases", k), ("engagements", e)):
        total = x.sum()
        out[f"delta_irrelevant_share_{col}"] = sign * x / total if total > 0 else 0.0
    o_irr, k_irr = n[~lab].sum(), k[~lab].sum()
    new_o, new_k = o_irr + sign * n, k_irr + sign * k
    with np.errstate(invalid="ignore", divide="ignore"):
        before = k_irr / o_irr if o_irr > 0 else np.nan
        out["delta_irrelevant_purchase_level"] = np.where(new_o > 0, new_k / new_o, np.nan) - before
    return out
