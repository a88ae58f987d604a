"""Joint model objectives and the K-fold query assignment of the trade-off evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seemingly.ranking.tradeoff.joint import fit_joint_models
from seemingly.ranking.tradeoff.run import query_folds


def _frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_q, n_c = 60, 8
    a, b = rng.random(n_q * n_c), rng.random(n_q * n_c)
    return pd.DataFrame({"query": np.repeat([f"q{i:02d}" for i in range(n_q)], n_c),
                         "a": a, "b": b, "relevant": (a > 0.5).astype(float),
                         "outcome_label": b})


@pytest.mark.parametrize("objective", ["lambdarank", "pointwise"])
def test_joint_models_follow_their_weight(objective: str) -> None:
    # relevance depends on a alone and the outcome on b alone: the w=1 model must rank by a,
    # the w=0 model by b, whichever objective is used
    f = _frame()
    models = fit_joint_models(f, ["a", "b"], np.array([0.0, 1.0]), objective=objective,  # type: ignore[arg-type]
                              params={"n_estimators": 40, "min_child_samples": 5})
    s0, s1 = models[0.0].predict(f[["a", "b"]]), models[1.0].predict(f[["a", "b"]])
    assert np.corrcoef(s0, f["b"])[0, 1] > 0.8 > abs(np.corrcoef(s0, f["a"])[0, 1])
    assert np.corrcoef(s1, f["relevant"])[0, 1] > 0.8 > abs(np.corrcoef(s1, f["b"])[0, 1])


def test_pointwise_joint_estimates_the_aggregate_label() -> None:
    # cross-entropy regression estimates E[w * r + (1 - w) * o | x]: its mean is the label mean
    f = _frame()
    m = fit_joint_models(f, ["a", "b"], np.array([0.3]), objective="pointwise",
                         params={"n_estimators": 60, "min_child_samples": 5})[0.3]
    label = 0.3 * f["relevant"] + 0.7 * f["outcome_label"]
    assert m.predict(f[["a", "b"]]).mean() == pytest.approx(label.mean(), abs=0.02)


def test_unknown_joint_objective_is_refused() -> None:
    with pytest.raises(ValueError, match="pointwise"):
        fit_joint_models(_frame(), ["a", "b"], np.array([0.5]), objective="listwise")  # type: ignore[arg-type]


def test_query_folds_cover_every_query_evenly() -> None:
    class _Data:  # query_folds reads only data.candidates
        candidates = pd.DataFrame({"query": [f"q{i % 10}" for i in range(40)]})

    folds = query_folds(_Data(), 3, seed=7)  # type: ignore[arg-type]
    assert sorted(folds.index) == [f"q{i}" for i in range(10)]
    assert sorted(np.bincount(folds.to_numpy())) == [3, 3, 4]
    assert folds.equals(query_folds(_Data(), 3, seed=7))  # type: ignore[arg-type]
    assert not folds.equals(query_folds(_Data(), 3, seed=8))  # type: ignore[arg-type]
