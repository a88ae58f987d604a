"""LightGBM models behind scikit-learn's contract: relevance, outcome (purchase / engagement)
and the joint ranker trained on aggregated labels.

Parameters are stored by a keyword-only ``__init__``; ``fit`` returns ``self``; learned
attributes end in ``_``; prediction refuses an unfitted model or a different feature set.
Artifacts are LightGBM's own model text, never pickle. The classes are scikit-learn
estimators (``BaseEstimator``): ``get_params(deep=True)``, ``set_params``, ``clone`` and so
``GridSearchCV`` work on them. ``check_estimator`` does not apply: the models take only
DataFrames with named feature columns, because the service matches features by name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from seemingly.errors import ModelArtifactError, NotFittedError
from seemingly.ranking.features import CATEGORICAL
from seemingly.ranking.models.model_text import check_model_text

__all__ = ["RelevanceModel", "OutcomeModel", "JointRanker"]


class _LightGBMModel(BaseEstimator):  # type: ignore[misc]
    """Shared fit / predict / save logic; subclasses name the objective.

    ``get_params`` / ``set_params`` come from ``BaseEstimator``, which reads the parameter
    names off ``__init__``'s signature: every subclass spells out its keyword arguments.
    """

    objective: ClassVar[str] = "regression"

    def __init__(
        self,
        *,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        reg_lambda: float = 1.0,
        seed: int = 7,
        num_threads: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.seed = seed
        self.num_threads = num_threads

    # one thread by default: on a busy 2-core machine LightGBM's OpenMP threads spin against
    # each other and a 0.3 s fit takes several seconds
    def _params(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "lambda_l2": self.reg_lambda,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,  # with deterministic=True: same model on every run
            "num_threads": self.num_threads,
            "verbosity": -1,
        }

    def _dataset(self, X: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None,
                 group: np.ndarray | None, params: dict[str, Any] | None = None
                 ) -> lgb.Dataset:
        cats = [c for c in CATEGORICAL if c in X.columns]
        return lgb.Dataset(X, label=y, weight=weight, group=group, categorical_feature=cats,
                           feature_name=list(X.columns), free_raw_data=True,
                           params=params or {"verbosity": -1})

    def _fit(self, X: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None = None,
             group: np.ndarray | None = None, extra: dict[str, Any] | None = None) -> None:
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a pandas DataFrame with named feature columns")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        params = {**self._params(), **(extra or {})}
        self.booster_ = lgb.train(params, self._dataset(X, y, weight, group),
                                  num_boost_round=self.n_estimators)
        self.feature_names_ = list(X.columns)

    def binned(self, X: pd.DataFrame, y: Any, *, sample_weight: Any = None) -> lgb.Dataset:
        """``X`` and its labels binned once, with this model's parameters, so several models
        can be fitted on them (:meth:`fit_binned`) without binning each time."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a pandas DataFrame with named feature columns")
        y = self._labels(np.asarray(y, dtype=float))
        w = None if sample_weight is None else np.asarray(sample_weight, float)
        # the parameters lgb.train gives the Dataset in fit(), so the bins are the same
        return self._dataset(X, y, w, None, params=self._params()).construct()

    def fit_binned(self, data: lgb.Dataset, *, use: Sequence[str] | None = None) -> Any:
        """Fit on a Dataset from :meth:`binned`; ``use``: the features a tree may split on.

        The others get a split-gain penalty of 0, so no tree splits on them: the trees
        are the ones a fit on the ``use`` columns alone grows (LightGBM bins each feature on
        its own), only the model keeps every column as input. That lets the feature sets
        of an ablation share one binning.
        """
        names = list(data.get_feature_name())
        keep = set(names if use is None else use)
        extra = {} if keep >= set(names) else {
            "feature_penalty": [1.0 if n in keep else 0.0 for n in names]}
        self.booster_ = lgb.train({**self._params(), **extra}, data,
                                  num_boost_round=self.n_estimators)
        self.feature_names_ = names
        return self

    def _labels(self, y: np.ndarray) -> np.ndarray:
        return y

    def _check(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "booster_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(X, y) or load()")
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a pandas DataFrame with named feature columns")
        if list(X.columns) != self.feature_names_:
            missing = sorted(set(self.feature_names_) - set(X.columns))
            extra = sorted(set(X.columns) - set(self.feature_names_))
            raise ValueError(
                f"{type(self).__name__} was fitted on features {self.feature_names_}; got a "
                f"different set (missing {missing}, unexpected {extra}, or another order). "
                "Compute features with seemingly.ranking.features.compute_features and select "
                "model.feature_names_.")
        return X

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Scores of the rows of ``X`` (see the subclass for their meaning)."""
        X = self._check(X)
        return np.asarray(self.booster_.predict(X, num_threads=self.num_threads), dtype=float)

    def feature_importance(self) -> dict[str, float]:
        """Total gain of each feature's splits."""
        if not hasattr(self, "booster_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        gain = self.booster_.feature_importance(importance_type="gain")
        return {n: float(g) for n, g in zip(self.feature_names_, gain, strict=True)}

    def save(self, path: Path) -> Path:
        """Write LightGBM's model text to ``path``."""
        if not hasattr(self, "booster_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        self.booster_.save_model(str(path))
        return path

    @classmethod
    def load(cls, path: Path, feature_names: list[str] | None = None, *,
             sha256: str | None = None) -> _LightGBMModel:
        """Read a model written by :meth:`save`; ``feature_names`` (from the manifest)
        must match the ones stored in the model text.

        The file is read once: its bytes are checked against ``sha256`` (the manifest's) and
        their structure in Python (:func:`check_model_text`), and LightGBM parses those same
        bytes, so a file swapped or corrupted after the check never reaches its C++ parser,
        which aborts the process on some malformed trees.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ModelArtifactError(f"cannot read LightGBM model {path}: {exc}") from exc
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise ModelArtifactError(f"{path} does not match its sha256 in the manifest "
                                     "(changed or corrupt); restore it or retrain")
        text = check_model_text(data, Path(path))
        try:
            booster = lgb.Booster(model_str=text)
        except (lgb.basic.LightGBMError, OSError) as exc:
            raise ModelArtifactError(f"cannot read LightGBM model {path}: {exc}; retrain with "
                                     "`seemingly train`") from exc
        names = list(booster.feature_name())
        if feature_names is not None and names != list(feature_names):
            raise ModelArtifactError(f"{path} was trained on features {names}, the manifest "
                                     f"says {list(feature_names)}; retrain the model")
        model = cls()
        model.booster_ = booster
        model.feature_names_ = names
        return model


class RelevanceModel(_LightGBMModel):
    """P(a human judges the product relevant to the query), from judgments.

    ``y`` is 0/1 relevance or a share in [0, 1] (e.g. the share of annotators who said
    relevant, or a rescaled mean grade): cross-entropy takes both and equals the binary
    log-loss on 0/1 labels.
    """

    objective = "cross_entropy"

    def fit(self, X: pd.DataFrame, y: Any, *, sample_weight: Any = None) -> RelevanceModel:
        y = self._labels(np.asarray(y, dtype=float))
        self._fit(X, y, None if sample_weight is None else np.asarray(sample_weight, float))
        return self

    def _labels(self, y: np.ndarray) -> np.ndarray:
        if len(y) and (np.nanmin(y) < 0 or np.nanmax(y) > 1):
            raise ValueError("RelevanceModel needs labels in [0, 1]: 0/1 relevance or a share "
                             "of relevant votes; rescale graded labels, e.g. (grade - 1) / 2")
        return y


class OutcomeModel(_LightGBMModel):
    """P(purchase) or P(engagement) of one offer.

    Fit on per-offer outcomes (y in {0, 1}) or on rows aggregated to (query, product[,
    covariate pattern]) with ``y`` = rate and ``sample_weight`` = offers: LightGBM's
    cross-entropy objective with those weights is the same likelihood as per-offer rows.
    """

    objective = "cross_entropy"

    def fit(self, X: pd.DataFrame, y: Any, *, sample_weight: Any = None) -> OutcomeModel:
        y = self._labels(np.asarray(y, dtype=float))
        self._fit(X, y, None if sample_weight is None else np.asarray(sample_weight, float))
        return self

    def _labels(self, y: np.ndarray) -> np.ndarray:
        if len(y) and (y.min() < 0 or y.max() > 1):
            raise ValueError("OutcomeModel needs rates or 0/1 outcomes in [0, 1] as y")
        return y


class JointRanker(_LightGBMModel):
    """LambdaRank on one aggregated label per (query, product) (see
    :func:`seemingly.ranking.tradeoff.aggregate_labels`), graded into ``n_grades`` integer levels
    with a linear gain so the ranking metric weighs the aggregate itself."""

    objective = "lambdarank"

    def __init__(
        self,
        *,
        n_grades: int = 20,
        ndcg_at: int = 3,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        reg_lambda: float = 1.0,
        seed: int = 7,
        num_threads: int = 1,
    ) -> None:
        super().__init__(n_estimators=n_estimators, learning_rate=learning_rate,
                         num_leaves=num_leaves, min_child_samples=min_child_samples,
                         reg_lambda=reg_lambda, seed=seed, num_threads=num_threads)
        self.n_grades = n_grades
        self.ndcg_at = ndcg_at

    def fit(self, X: pd.DataFrame, y: Any, *, group: Any) -> JointRanker:
        """``y`` in [0, 1]; ``group`` one query id per row (rows are sorted by it here)."""
        y = np.asarray(y, dtype=float)
        g = np.asarray(group)
        if len(g) != len(X):
            raise ValueError(f"group has {len(g)} entries for {len(X)} rows")
        order = np.argsort(pd.factorize(g)[0], kind="stable")  # LightGBM groups are runs
        Xs = X.iloc[order].reset_index(drop=True)
        grades = np.rint(np.clip(y[order], 0, 1) * self.n_grades).astype(int)
        _, sizes = np.unique(pd.factorize(g[order])[0], return_counts=True)
        self._fit(Xs, grades, None, sizes, extra={
            "label_gain": list(map(float, range(self.n_grades + 1))),
            "lambdarank_truncation_level": max(self.ndcg_at, 1),
            "eval_at": [self.ndcg_at]})
        return self
