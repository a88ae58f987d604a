"""Label aggregation beyond majority: Dawid–Skene and MACE, and what they say about annotators.

Both are latent-class models of binary votes (relevant or not) fitted by EM on numpy arrays:

- **Dawid–Skene** (Dawid and Skene, 1979): each annotator has a full 2x2 confusion matrix
  ``P(vote | true class)``, the classes a prior. The steps follow crowd-kit's
  ``DawidSkene`` (majority-vote shares as the start, the same clipping, log2 likelihoods and
  stopping rule on the evidence lower bound per judgment), so on the same votes the
  posteriors agree with the library's to numerical precision (``tests/explain``).
- **MACE** (Hovy et al., 2013, the EM variant): an annotator either knows the answer (with
  probability ``theta``) or "spams" a label from its own distribution ``xi``; the true class
  has a uniform prior. Good at spotting annotators who always say the same thing.

``posterior`` is P(relevant) per (query, product); majority is the fraction-of-votes rule the
analysis has always used (:func:`seemingly.explain.labels.relevance`), untouched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["Aggregation", "VoteData", "votes_data", "dawid_skene", "mace", "majority",
           "aggregate", "annotator_quality", "METHODS"]

Method = Literal["majority", "dawid_skene", "mace"]
METHODS: tuple[str, ...] = ("majority", "dawid_skene", "mace")
_EPS = 1e-10  # crowd-kit's clip for probabilities before logs


@dataclass(frozen=True)
class VoteData:
    """Votes as integer codes: judgment ``j`` is annotator ``worker[j]`` voting ``vote[j]``
    (1 = relevant) on pair ``task[j]``; ``pairs`` holds (query, product_id) per task code and
    ``annotators`` the annotator id per worker code."""

    task: np.ndarray
    worker: np.ndarray
    vote: np.ndarray
    pairs: pd.DataFrame
    annotators: np.ndarray

    @property
    def n_tasks(self) -> int:
        return len(self.pairs)

    @property
    def n_workers(self) -> int:
        return len(self.annotators)


def votes_data(votes: pd.DataFrame) -> VoteData:
    """Codes of a frame with ``query, product_id, annotator_id, vote`` (bool or 0/1).

    A missing annotator id counts as an annotator of its own per judgment (as in
    :func:`seemingly.explain.labels.agreement`): nothing can be learned about it anyway.
    """
    v = votes.reset_index(drop=True)
    ann = v["annotator_id"].astype("object")
    missing = ann.isna()
    if missing.any():
        ann = ann.where(~missing, "_anon_" + pd.Series(np.arange(len(v)), index=v.index)
                        .astype(str))
    keys = v[["query", "product_id"]].astype(str)
    pair_codes, pair_index = pd.MultiIndex.from_frame(keys).factorize(sort=True)
    worker, annotators = pd.factorize(ann.astype(str), sort=True)
    pairs = pd.DataFrame(list(pair_index), columns=["query", "product_id"])
    return VoteData(task=np.asarray(pair_codes, np.int64), worker=np.asarray(worker, np.int64),
                    vote=v["vote"].to_numpy().astype(np.int64), pairs=pairs,
                    annotators=np.asarray(annotators, dtype=object))


@dataclass(frozen=True)
class Aggregation:
    """One method's answer: P(relevant) per task, and per annotator the confusion matrix
    ``confusion[w, c, l] = P(vote l | true class c)`` and accuracy (weighted by the prior)."""

    method: str
    posterior: np.ndarray
    confusion: np.ndarray
    accuracy: np.ndarray
    prior: float
    n_iter: int


def majority(d: VoteData) -> np.ndarray:
    """Share of relevant votes per task: crowd-kit's majority-vote probabilities, and the
    start of Dawid–Skene."""
    n = np.bincount(d.task, minlength=d.n_tasks).astype(float)
    k = np.bincount(d.task, weights=d.vote, minlength=d.n_tasks)
    return k / np.maximum(n, 1.0)


def _ds_m_step(d: VoteData, probas: np.ndarray, used: np.ndarray) -> np.ndarray:
    """errors[w, l, c] = P(vote l | class c); label values a worker never used stay 0."""
    errors = np.zeros((d.n_workers, 2, 2))
    np.add.at(errors, (d.worker, d.vote), probas[d.task])
    errors = np.where(used[:, :, None], np.maximum(errors, _EPS), 0.0)
    return errors / errors.sum(axis=1, keepdims=True)


def _ds_e_step(d: VoteData, prior: np.ndarray, errors: np.ndarray) -> np.ndarray:
    ll = np.zeros((d.n_tasks, 2))
    with np.errstate(divide="ignore"):
        np.add.at(ll, d.task, np.log2(errors[d.worker, d.vote]))
    ll += np.log2(np.maximum(prior, _EPS))
    ll -= ll.max(axis=1, keepdims=True)
    p = np.exp2(ll)
    return p / p.sum(axis=1, keepdims=True)


def _ds_elbo(d: VoteData, probas: np.ndarray, prior: np.ndarray, errors: np.ndarray) -> float:
    with np.errstate(divide="ignore"):
        joined = np.log(errors[d.worker, d.vote]) + np.log(np.maximum(prior, _EPS))
    joint = float((probas[d.task] * joined).sum())
    p = np.maximum(probas, _EPS)
    return joint - float((np.log(p) * p).sum())


def dawid_skene(d: VoteData, *, n_iter: int = 100, tol: float = 1e-5) -> Aggregation:
    """Dawid–Skene by EM (see the module doc); ``posterior`` is P(relevant) per task."""
    used = np.zeros((d.n_workers, 2), bool)
    used[d.worker, d.vote] = True
    m = majority(d)
    probas = np.column_stack([1.0 - m, m])
    # crowd-kit keeps only the label values that occur: with one value there is nothing to fit
    if d.vote.size == 0 or d.vote.min() == d.vote.max():
        return _finish("dawid_skene", d, m, 0)
    prior = probas.mean(axis=0)
    errors = _ds_m_step(d, probas, used)
    loss, it = -np.inf, 0
    for it in range(1, n_iter + 1):  # noqa: B007 (the count is reported)
        probas = _ds_e_step(d, prior, errors)
        prior = probas.mean(axis=0)
        errors = _ds_m_step(d, probas, used)
        new = _ds_elbo(d, probas, prior, errors) / d.vote.size
        if new - loss < tol:
            break
        loss = new
    return _finish("dawid_skene", d, probas[:, 1], it)


def mace(d: VoteData, *, n_iter: int = 50, tol: float = 1e-7,
         smoothing: float = 0.005) -> Aggregation:
    """MACE by EM: P(vote l | class c) = theta [l = c] + (1 - theta) xi[l], uniform prior.

    Starts every annotator at theta 0.5 and xi at its own vote shares (deterministic, so the
    same votes give the same answer); ``smoothing`` is added to the expected counts in the
    M-step (crowd-kit's EM uses 0.01 / number of labels).
    """
    if d.vote.size == 0 or d.vote.min() == d.vote.max():
        return _finish("mace", d, majority(d), 0)
    n_w = np.bincount(d.worker, minlength=d.n_workers).astype(float)
    xi = np.zeros((d.n_workers, 2))
    np.add.at(xi, (d.worker, d.vote), 1.0)
    xi = (xi + smoothing) / (n_w[:, None] + 2 * smoothing)
    theta = np.full(d.n_workers, 0.5)
    post = np.full((d.n_tasks, 2), 0.5)
    it = 0
    for it in range(1, n_iter + 1):  # noqa: B007 (the count is reported)
        # per judgment and class: P(vote | class) and the share of it that is "knowing"
        hit = (d.vote[:, None] == np.arange(2)[None, :]).astype(float)
        know = theta[d.worker, None] * hit
        spam = (1.0 - theta[d.worker, None]) * xi[d.worker, d.vote][:, None]
        like = know + spam
        ll = np.zeros((d.n_tasks, 2))
        np.add.at(ll, d.task, np.log(np.maximum(like, _EPS)))
        ll -= ll.max(axis=1, keepdims=True)
        new_post = np.exp(ll)
        new_post /= new_post.sum(axis=1, keepdims=True)
        # expected "knowing" per judgment: sum over classes of P(class) P(know | vote, class)
        pk = (new_post[d.task] * know / np.maximum(like, _EPS)).sum(axis=1)
        k_w = np.bincount(d.worker, weights=pk, minlength=d.n_workers)
        theta = (k_w + smoothing) / (n_w + 2 * smoothing)
        s = np.zeros((d.n_workers, 2))
        np.add.at(s, (d.worker, d.vote), 1.0 - pk)
        xi = (s + smoothing) / (s.sum(axis=1, keepdims=True) + 2 * smoothing)
        done = np.abs(new_post - post).max() < tol
        post = new_post
        if done:
            break
    return _finish("mace", d, post[:, 1], it)


def _finish(method: str, d: VoteData, posterior: np.ndarray, n_iter: int) -> Aggregation:
    confusion, accuracy, prior = annotator_quality(d, posterior)
    return Aggregation(method, posterior, confusion, accuracy, prior, n_iter)


def annotator_quality(d: VoteData, posterior: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, float]:
    """Per annotator, the confusion matrix ``[c, l] = P(vote l | class c)`` implied by the
    posterior (soft counts), and the accuracy ``sum_c prior_c P(vote c | class c)``."""
    probas = np.column_stack([1.0 - posterior, posterior])
    counts = np.zeros((d.n_workers, 2, 2))
    for c in (0, 1):  # counts[w, c, l] += P(class c) of each judgment of w voting l
        np.add.at(counts[:, c, :], (d.worker, d.vote), probas[d.task, c])
    with np.errstate(invalid="ignore", divide="ignore"):
        confusion = counts / counts.sum(axis=2, keepdims=True)
    confusion = np.nan_to_num(confusion, nan=0.5)
    prior = float(posterior.mean()) if posterior.size else 0.5
    accuracy = (1.0 - prior) * confusion[:, 0, 0] + prior * confusion[:, 1, 1]
    return confusion, accuracy, prior


def aggregate(d: VoteData, method: str) -> Aggregation:
    """P(relevant) per pair under ``method`` (one of :data:`METHODS`)."""
    if method == "dawid_skene":
        return dawid_skene(d)
    if method == "mace":
        return mace(d)
    if method == "majority":
        return _finish("majority", d, majority(d), 0)
    raise ValueError(f"unknown label aggregation {method!r}; use one of {', '.join(METHODS)}")
