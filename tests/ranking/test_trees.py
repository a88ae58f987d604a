"""Compiled LightGBM trees give exactly Booster.predict's numbers."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from seemingly.ranking.models.trees import compile_booster


def _data(n: int, seed: int, nan_in_training: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[:, 5] = rng.integers(0, 12, n)  # a categorical column
    if nan_in_training:
        X[rng.random((n, 6)) < 0.15] = np.nan
    X[rng.random((n, 6)) < 0.15] = 0.0
    signal = np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) ** 2 + (X[:, 5] % 3 == 0)
    return X, signal + rng.normal(scale=0.5, size=n)


def _awkward_inputs(seed: int) -> np.ndarray:
    """Values at the edges of LightGBM's decision rules."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5000, 6)) * rng.choice([1e-3, 1.0, 1e3], size=(5000, 6))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(X.shape) < 0.1] = 0.0
    X[rng.random(X.shape) < 0.05] = rng.choice([1e-36, -1e-36, 5e-324, -0.0])
    X[:, 5] = rng.integers(-3, 70, 5000) + rng.choice([0.0, 0.5, -0.5, 0.99], 5000)
    X[rng.random(5000) < 0.05, 5] = rng.choice([np.nan, 1e10, -1e10, np.inf])
    return X


@pytest.mark.parametrize(("objective", "extra"), [
    ("binary", {}),
    ("binary", {"sigmoid": 0.7}),
    ("cross_entropy", {}),
    ("regression", {}),
    ("regression", {"zero_as_missing": True}),
    ("regression", {"use_missing": False}),
    ("lambdarank", {}),
])
@pytest.mark.parametrize("nan_in_training", [False, True])
def test_compiled_trees_equal_booster_predict(objective: str, extra: dict,
                                              nan_in_training: bool) -> None:
    X, y = _data(3000, 1, nan_in_training)
    if objective in ("binary", "cross_entropy"):
        y = (y > np.median(y)).astype(float)
    group = None
    if objective == "lambdarank":
        y = np.digitize(y, np.quantile(y, [0.5, 0.8, 0.95]))
        group = [30] * 100
    params = {"objective": objective, "num_leaves": 15, "min_data_in_leaf": 5,
              "verbosity": -1, "seed": 3, "deterministic": True, **extra}
    booster = lgb.train(params, lgb.Dataset(X, y, group=group, categorical_feature=[5]),
                        num_boost_round=40)
    trees = compile_booster(booster.model_to_string())
    assert trees is not None
    assert "cat_threshold" in booster.model_to_string()  # categorical splits are exercised
    Z = _awkward_inputs(2)
    np.testing.assert_array_equal(trees.predict(Z), booster.predict(Z, num_threads=1))
    np.testing.assert_array_equal(trees.predict(X), booster.predict(X, num_threads=1))


def test_a_single_leaf_model_predicts_its_constant() -> None:
    X = np.zeros((50, 3))
    booster = lgb.train({"objective": "regression", "verbosity": -1},
                        lgb.Dataset(X, np.arange(50.0)), num_boost_round=3)
    trees = compile_booster(booster.model_to_string())
    assert trees is not None
    np.testing.assert_array_equal(trees.predict(X[:5]), booster.predict(X[:5]))


@pytest.mark.parametrize("params", [
    {"objective": "multiclass", "num_class": 3},
    {"objective": "regression", "linear_tree": True},
    {"objective": "poisson"},
])
def test_models_it_does_not_replicate_are_left_to_lightgbm(params: dict) -> None:
    X, y = _data(600, 4, False)
    y = np.abs(y).round() % 3
    booster = lgb.train({**params, "verbosity": -1}, lgb.Dataset(X, y), num_boost_round=5)
    assert compile_booster(booster.model_to_string()) is None


def test_wrong_number_of_columns_is_refused() -> None:
    X, y = _data(300, 5, False)
    booster = lgb.train({"objective": "regression", "verbosity": -1}, lgb.Dataset(X, y),
                        num_boost_round=3)
    trees = compile_booster(booster.model_to_string())
    assert trees is not None
    with pytest.raises(ValueError, match="6 feature columns"):
        trees.predict(X[:, :5])
