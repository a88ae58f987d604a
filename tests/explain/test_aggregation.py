"""Label aggregation: Dawid–Skene and MACE against crowd-kit and hand-worked cases; majority
stays what it was."""

from __future__ import annotations

from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest

from seemingly.config import LabelSettings
from seemingly.explain.aggregation import (
    aggregate,
    dawid_skene,
    mace,
    majority,
    votes_data,
)
from seemingly.explain.labels import category_agreement, relevance
from seemingly.store import store_from_frames


def _noisy_votes(seed: int, n_tasks: int = 300, n_workers: int = 8, low: float = 0.6,
                 spammer: bool = True) -> pd.DataFrame:
    """Votes of annotators of different quality (with ``spammer``, one always says
    'relevant'); the product id's number is the task, the truth ``_truth(seed, n_tasks)``."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n_tasks) < 0.4
    acc = np.linspace(low, 0.95, n_workers)
    rows = []
    for t in range(n_tasks):
        for w in rng.choice(n_workers, size=rng.integers(1, 5), replace=False):
            vote = truth[t] if rng.random() < acc[w] else not truth[t]
            if spammer and w == 0:
                vote = True  # the spammer
            rows.append((f"q{t // 10}", f"p{t}", f"a{w}", bool(vote)))
    return pd.DataFrame(rows, columns=["query", "product_id", "annotator_id", "vote"])


def _crowdkit_frame(d) -> pd.DataFrame:  # noqa: ANN001
    return pd.DataFrame({"task": d.task, "worker": d.worker, "label": d.vote})


@pytest.mark.parametrize("seed", [1, 2])
def test_dawid_skene_matches_crowdkit(seed: int) -> None:
    ck = pytest.importorskip("crowdkit.aggregation")
    d = votes_data(_noisy_votes(seed))
    ours = dawid_skene(d)
    ref = ck.DawidSkene(n_iter=100).fit(_crowdkit_frame(d))
    np.testing.assert_allclose(ours.posterior, ref.probas_[1].sort_index().to_numpy(),
                               atol=1e-9)
    # the library's error matrix: errors_.loc[(worker, vote), true class]
    for w in range(d.n_workers):
        for vote in (0, 1):
            for c in (0, 1):
                if (w, vote) in ref.errors_.index:
                    assert ours.confusion[w, c, vote] == pytest.approx(
                        ref.errors_.loc[(w, vote), c], abs=1e-6)


def _truth(seed: int, n_tasks: int, d) -> np.ndarray:  # noqa: ANN001
    truth = np.random.default_rng(seed).random(n_tasks) < 0.4
    return truth[[int(p[1:]) for p in d.pairs["product_id"]]]


def test_mace_agrees_with_crowdkit_where_votes_are_not_tied() -> None:
    """Symmetric noise (like the simulator's): the same labels wherever the votes are not
    tied. crowd-kit's EM starts at random and restarts, ours starts at theta 0.5, so ties
    (where only the annotators' weights decide) may go either way."""
    ck = pytest.importorskip("crowdkit.aggregation")
    d = votes_data(_noisy_votes(3, n_tasks=200, low=0.8, spammer=False))
    ours = mace(d)
    ref = ck.MACE(method="em", n_restarts=1).fit_predict_proba(_crowdkit_frame(d))
    theirs = ref[1].sort_index().to_numpy()
    n = np.bincount(d.task)
    k = np.bincount(d.task, weights=d.vote)
    clear = 2 * k != n
    assert ((ours.posterior > 0.5) == (theirs > 0.5))[clear].mean() >= 0.98
    assert np.corrcoef(ours.posterior, theirs)[0, 1] > 0.9


def test_mace_with_a_spammer_is_as_accurate_as_crowdkit() -> None:
    ck = pytest.importorskip("crowdkit.aggregation")
    d = votes_data(_noisy_votes(4, n_tasks=200))
    truth = _truth(4, 200, d)
    ours = (mace(d).posterior > 0.5) == truth
    ref = ck.MACE(method="em", n_restarts=1).fit_predict_proba(_crowdkit_frame(d))
    theirs = (ref[1].sort_index().to_numpy() > 0.5) == truth
    assert ours.mean() >= theirs.mean() - 0.02


def test_hand_worked_dawid_skene() -> None:
    """Annotator 'good' is always right, 'yes_man' always says relevant; pairs alternate
    relevant / irrelevant. Majority: shares 1 on even pairs, 0.5 (a tie) on odd ones.

    First M-step from those shares: prior of relevant (10 * 1 + 10 * 0.5) / 20 = 0.75;
    good: P(vote 0 | irrelevant) = 5 / 5 = 1, P(vote 0 | relevant) = 5 / 15 = 1/3;
    yes_man: P(vote 1 | either) = 1. E-step on an odd pair (good 0, yes_man 1):
    irrelevant 0.25 * 1 * 1 = 0.25, relevant 0.75 * 1/3 * 1 = 0.25 -> 0.5 again: the
    majority's shares are a fixed point, and EM stops after its second round.
    Accuracy = 0.25 * P(0 | 0) + 0.75 * P(1 | 1): good 0.25 + 0.75 * 2/3 = 0.75, yes_man 0.75.
    """
    rows = []
    for t in range(20):
        rows += [("q", f"p{t:02d}", "good", t % 2 == 0), ("q", f"p{t:02d}", "yes_man", True)]
    d = votes_data(pd.DataFrame(rows, columns=["query", "product_id", "annotator_id", "vote"]))
    assert majority(d).tolist() == [1.0, 0.5] * 10
    a = dawid_skene(d)
    np.testing.assert_allclose(a.posterior, [1.0, 0.5] * 10, atol=1e-9)
    assert a.n_iter == 2
    good, yes_man = list(d.annotators).index("good"), list(d.annotators).index("yes_man")
    np.testing.assert_allclose(a.confusion[good], np.array([[1, 0], [1 / 3, 2 / 3]]), atol=1e-9)
    np.testing.assert_allclose(a.confusion[yes_man], [[0, 1], [0, 1]], atol=1e-9)
    np.testing.assert_allclose(a.accuracy, [0.75, 0.75], atol=1e-9)
    assert a.prior == pytest.approx(0.75)


def test_unanimous_votes_need_no_model() -> None:
    d = votes_data(pd.DataFrame({"query": ["q", "q"], "product_id": ["a", "b"],
                                 "annotator_id": ["x", "y"], "vote": [True, True]}))
    for method in ("majority", "dawid_skene", "mace"):
        assert aggregate(d, method).posterior.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="unknown label aggregation"):
        aggregate(d, "glad")


PRODUCTS = pd.DataFrame({"product_id": [f"p{i}" for i in range(6)], "title": "t",
                         "category": ["c1", "c1", "c1", "c2", "c2", "c2"], "price": 1.0})


_ROWS = [("q", "p0", "1", "a"), ("q", "p0", "1", "b"), ("q", "p1", "0", "a"),
         ("q", "p1", "1", "b"), ("q", "p2", "0", "a"), ("q", "p3", "1", "a"),
         ("q", "p3", "0", "b"), ("q", "p3", "0", "c"), ("q", "p4", "1", "b"),
         ("q", "p4", "1", "c"), ("q", "p5", "0", "c")]


def _store(tmp_path: Path):  # noqa: ANN202
    j = pd.DataFrame(_ROWS, columns=["query", "product_id", "label", "annotator_id"])
    return store_from_frames(tmp_path / "s.duckdb", products=PRODUCTS, judgments=j)


def test_relevance_majority_unchanged_and_models_keep_columns(tmp_path: Path) -> None:
    store = _store(tmp_path)
    maj = relevance(store).to_pandas().set_index("product_id").sort_index()
    # majority by hand: p0 2/2, p1 tie -> not relevant, p2 0/1, p3 1/3, p4 2/2, p5 0/1
    assert maj["relevant"].tolist() == [True, False, False, False, True, False]
    assert maj["relevant_share"].tolist() == pytest.approx([1, 0.5, 0, 1 / 3, 1, 0])
    same = relevance(store, LabelSettings(aggregation="majority")).to_pandas()
    assert same.set_index("product_id").sort_index().equals(maj)
    for method in ("dawid_skene", "mace"):
        rel = relevance(store, LabelSettings(aggregation=method)).to_pandas()
        rel = rel.set_index("product_id").sort_index()
        assert set(maj.columns) < set(rel.columns)
        assert (rel["n_judgments"] == maj["n_judgments"]).all()
        assert rel["posterior"].between(0, 1).all()
        # the label is the model's answer (six pairs are too few for it to be a good one)
        votes = pd.DataFrame(
            [(r[0], r[1], r[3], r[2] == "1") for r in _ROWS],
            columns=["query", "product_id", "annotator_id", "vote"]).sort_values(
            ["query", "product_id", "annotator_id"])
        expected = aggregate(votes_data(votes), method).posterior
        np.testing.assert_allclose(rel["posterior"].to_numpy(), expected, atol=1e-12)
        assert (rel["relevant"] == (rel["posterior"] > 0.5)).all()


def test_category_agreement_by_hand(tmp_path: Path) -> None:
    store = _store(tmp_path)
    got = category_agreement(store)
    # c1 items judged twice or more: p0 (1,1), p1 (0,1); c2: p3 (1,0,0), p4 (1,1)
    c1 = krippendorff.alpha(value_counts=np.array([[0, 2], [1, 1]]),
                            level_of_measurement="nominal")
    c2 = krippendorff.alpha(value_counts=np.array([[2, 1], [0, 2]]),
                            level_of_measurement="nominal")
    assert got["c1"] == (pytest.approx(c1), 2)
    assert got["c2"] == (pytest.approx(c2), 2)
