"""The re-judging queue: its pieces by hand, cross-fitting without self-scoring, and the
issue's done-means on small simulated worlds (the 20-seed coverage lives in
bench/experiments/bench_rejudge.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import betabinom

from seemingly.config import AnalysisSettings
from seemingly.explain.label_quality import _bb, flip_effects, mislabelled_share
from seemingly.ranking.features import FEATURE_NAMES
from seemingly.ranking.models.data import ModelData
from seemingly.ranking.rejudge import QUEUE_COLUMNS, crossfit_relevance, label_quality
from seemingly.simulate import simulate
from seemingly.store import open_data


def test_beta_binomial_matches_scipy_up_to_the_binomial_coefficient() -> None:
    k, n, m, rho = np.array([0.0, 3, 7]), np.array([5.0, 10, 7]), np.array([0.1, 0.3, 0.6]), 0.2
    phi = 1 / rho - 1
    ref = betabinom.logpmf(k, n, m * phi, (1 - m) * phi)
    from scipy.special import gammaln

    log_choose = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    np.testing.assert_allclose(_bb(k, n, m, rho) + log_choose, ref, rtol=1e-10)


def test_mislabelled_share_by_hand() -> None:
    k = np.array([10.0, 30.0, 0.0, 60.0])
    groups = np.array(["a", "a", "b", "c"])
    value, ci = mislabelled_share(k, np.array([1.0, 0.5, 0.9, 0.0]), groups, n_draws=200,
                                  seed=1, confidence=0.9)
    assert value == pytest.approx((10 + 15) / 100)
    assert ci is not None and value is not None and ci[0] <= value <= ci[1]
    # certain labels: the interval is the bootstrap's over queries only, and 0 stays 0
    value, ci = mislabelled_share(k, np.zeros(4), groups, n_draws=200, seed=1, confidence=0.9)
    assert value == 0.0 and ci == (0.0, 0.0)
    assert mislabelled_share(np.zeros(3), np.ones(3), groups[:3], n_draws=100, seed=1,
                             confidence=0.9) == (None, None)


def test_mislabelled_share_interval_matches_a_plain_bootstrap() -> None:
    # the blocked draws against a one-draw-at-a-time query bootstrap (labels drawn per pair)
    rng = np.random.default_rng(0)
    n_q = 40
    groups = rng.integers(0, n_q, 400)
    k = rng.integers(1, 20, 400).astype(float)
    p = rng.choice([0.0, 0.2, 0.9, 1.0], 400)
    _, ci = mislabelled_share(k, p, groups, n_draws=4000, seed=3, confidence=0.9)
    ref = np.empty(4000)
    for b in range(4000):
        times = np.bincount(rng.integers(0, n_q, n_q), minlength=n_q)[groups]
        z = rng.random(400) < p
        ref[b] = (times * k) @ z / (times * k).sum()
    assert ci is not None
    np.testing.assert_allclose(ci, np.quantile(ref, [0.05, 0.95]), atol=0.01)


def test_flip_effects_by_hand() -> None:
    pairs = pd.DataFrame({"label": [True, False, False], "offers": [10, 20, 30],
                          "purchases": [5, 2, 3], "engagements": [6, 4, 5]})
    f = flip_effects(pairs)
    # judged purchases 10; irrelevant 5 of them on 50 offers (level 0.1)
    np.testing.assert_allclose(f["delta_irrelevant_share_purchases"], [0.5, -0.2, -0.3])
    np.testing.assert_allclose(f["delta_irrelevant_share_engagements"],
                               [6 / 15, -4 / 15, -5 / 15])
    np.testing.assert_allclose(f["delta_irrelevant_purchase_level"],
                               [10 / 60 - 0.1, 3 / 30 - 0.1, 2 / 20 - 0.1])


def test_crossfit_never_scores_a_pair_with_its_own_label() -> None:
    rng = np.random.default_rng(0)
    n = 400
    cands = pd.DataFrame(rng.normal(size=(n, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    cands.insert(0, "query", [f"q{i // 8}" for i in range(n)])
    cands.insert(1, "product_id", [f"p{i}" for i in range(n)])
    cands["relevant"] = (cands[FEATURE_NAMES[1]] + rng.normal(size=n) > 0).astype(float)
    data = ModelData(cands, pd.DataFrame(), None, None, "")  # type: ignore[arg-type]
    params = {"n_estimators": 20}
    base = crossfit_relevance(data, folds=4, seed=3, params=params)
    assert base["score"].notna().all()
    # flip every label of one query: that query's scores must not move, others' may
    flipped = cands.copy()
    mine = flipped["query"] == "q7"
    flipped.loc[mine, "relevant"] = 1.0 - flipped.loc[mine, "relevant"]
    again = crossfit_relevance(ModelData(flipped, pd.DataFrame(), None, None, ""),  # type: ignore[arg-type]
                               folds=4, seed=3, params=params)
    np.testing.assert_array_equal(base.loc[mine, "score"], again.loc[mine, "score"])
    assert not np.allclose(base.loc[~mine, "score"], again.loc[~mine, "score"])


def _world(tmp: Path, world: str, seed: int) -> dict:
    data = tmp / f"{world}-{seed}"
    simulate(data, world, n_offers=40_000, seed=seed)
    lab = json.loads((data / "truth.json").read_text())["labels"]
    truth = pd.DataFrame(lab["pairs"], columns=lab["columns"])
    store = open_data(data, tmp / f"store-{world}-{seed}")
    try:
        lq = label_quality(store, AnalysisSettings(seed=seed))
    finally:
        store.close()
    f = lq.frame.merge(truth, on=["query", "product_id"], validate="one_to_one")
    f["slip"] = (f["label"] == "irrelevant") & (f["true_relevant"] == 1)
    return {"lq": lq, "frame": f}


def test_queue_finds_the_slips_and_beats_the_naive_queue(tmp_path: Path) -> None:
    """Done-means on a small default world, votes and behaviour only (the score needs the
    trade-off's model data; the bench measures the full queue)."""
    w = _world(tmp_path, "default", 5)
    lq, f = w["lq"], w["frame"]
    assert list(lq.frame.columns[:4]) == ["query", "product_id", "label", "posterior_wrong"]
    assert list(lq.frame.columns) == list(QUEUE_COLUMNS)
    irr = f[f["label"] == "irrelevant"]
    k = max(1, int(irr["slip"].sum()) // 10)
    ours = irr.sort_values("posterior_wrong", ascending=False, kind="mergesort")["slip"]
    naive = irr.assign(pl=irr["purchase_level"].fillna(-1)).sort_values(
        ["pl", "purchases"], ascending=False, kind="mergesort")["slip"]
    p_ours, p_naive = ours.head(k).mean(), naive.head(k).mean()
    assert p_ours >= 0.8 and p_ours >= 1.5 * p_naive, (k, p_ours, p_naive)
    q = lq.queue("irrelevant")
    assert q["posterior_wrong"].is_monotonic_decreasing
    # the share's interval holds the true share of purchases on slipped pairs
    true = irr.loc[irr["slip"], "purchases"].sum() / irr["purchases"].sum()
    lo, hi = lq.shares["purchases"][1]
    assert lo <= true <= hi


def test_perfect_labels_give_a_near_empty_queue(tmp_path: Path) -> None:
    w = _world(tmp_path, "perfect_labels", 5)
    lq, f = w["lq"], w["frame"]
    assert not (f["true_relevant"] != f["label"].eq("relevant").astype(int)).any()
    irr = f[f["label"] == "irrelevant"]
    likely = (irr["posterior_wrong"] > 0.5).sum()
    assert likely <= 0.005 * len(irr), likely
    lo, _ = lq.shares["purchases"][1]
    assert lo == pytest.approx(0.0, abs=1e-12)


def test_aggregation_setting_reaches_the_labels(tmp_path: Path) -> None:
    """With Dawid–Skene the queue's labels are the model's, and the block says so."""
    from seemingly.config import LabelSettings
    from seemingly.explain.labels import relevance

    data = tmp_path / "w"
    simulate(data, "default", n_offers=5_000, seed=2)
    settings = AnalysisSettings(seed=2, labels=LabelSettings(aggregation="dawid_skene"))
    with open_data(data, tmp_path / "store") as store:
        lq = label_quality(store, settings)
        rel = relevance(store, settings.labels).to_pandas()
    block = lq.to_block(settings)
    assert block.aggregation == "dawid_skene" and block.model_score is False
    m = lq.frame.merge(rel, on=["query", "product_id"], validate="one_to_one")
    assert ((m["label"] == "relevant") == m["relevant"]).all()
    assert block.queue and all(r.label == "irrelevant" for r in block.queue)
    assert [r.posterior_wrong for r in block.queue] == sorted(
        (r.posterior_wrong for r in block.queue), reverse=True)
    assert len(block.annotators) == 12
    assert all(abs(sum(row) - 1) < 1e-6 for a in block.annotators for row in a.confusion)
