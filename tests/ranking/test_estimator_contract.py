"""The models keep scikit-learn's estimator contract: get_params(deep=True), set_params,
clone and GridSearchCV work on them (check_estimator does not apply: they take only
DataFrames with named columns, see estimators.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from seemingly.ranking.models import JointRanker, OutcomeModel, RelevanceModel

BASE = {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 20,
        "reg_lambda": 1.0, "seed": 7, "num_threads": 1}


def _xy(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (X["a"] + 0.5 * rng.normal(size=n) > 0).astype(float).to_numpy()
    return X, y


@pytest.mark.parametrize(("cls", "own"), [
    (RelevanceModel, {}), (OutcomeModel, {}), (JointRanker, {"n_grades": 20, "ndcg_at": 3})])
def test_get_params_lists_every_init_argument(cls, own) -> None:  # type: ignore[no-untyped-def]
    assert cls().get_params(deep=True) == {**BASE, **own}
    assert cls().get_params(deep=False) == {**BASE, **own}


def test_set_params_returns_self_and_rejects_unknown_names() -> None:
    m = JointRanker()
    assert m.set_params(num_leaves=7, n_grades=4) is m
    assert (m.num_leaves, m.n_grades) == (7, 4)
    with pytest.raises(ValueError, match="nonsense"):
        m.set_params(nonsense=1)


def test_clone_copies_params_and_drops_the_fit() -> None:
    X, y = _xy()
    m = RelevanceModel(n_estimators=10, seed=3).fit(X, y)
    c = clone(m)
    assert c is not m and c.get_params() == m.get_params()
    assert not hasattr(c, "booster_") and not hasattr(c, "feature_names_")
    # the clone refits to the very same model (seeded, deterministic)
    np.testing.assert_array_equal(c.fit(X, y).predict(X), m.predict(X))


def test_grid_search_picks_the_better_setting() -> None:
    X, y = _xy(600)
    search = GridSearchCV(RelevanceModel(n_estimators=20),
                          {"num_leaves": [2, 15], "learning_rate": [0.001, 0.2]},
                          scoring="neg_mean_squared_error", cv=KFold(3, shuffle=True,
                                                                     random_state=0))
    search.fit(X, y)
    # a learning rate of 0.001 over 20 rounds barely moves from the prior: it must lose
    assert search.best_params_["learning_rate"] == 0.2
    assert isinstance(search.best_estimator_, RelevanceModel)
    assert search.best_estimator_.feature_names_ == ["a", "b"]
