"""Relevance vs purchase / engagement: fusion sweep, joint model, Pareto frontiers.

>>> from seemingly.ranking.tradeoff import run_tradeoff  # doctest: +SKIP
>>> result, models = run_tradeoff(store, AnalysisSettings())  # doctest: +SKIP
>>> result.to_dict()["purchase"]["dominance"]["difference_ci"]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from seemingly.ranking.models.data import ModelData, build_model_data
from seemingly.ranking.models.training import TrainedModels, fit_models
from seemingly.ranking.tradeoff.run import TradeoffResult, evaluate_tradeoff

__all__ = ["run_tradeoff", "TradeoffResult"]


def run_tradeoff(store: Any, settings: Any, data: ModelData | None = None
                 ) -> tuple[TradeoffResult, TrainedModels]:
    """Models on the train split (metrics, importances) and the trade-off block."""
    m = settings.models
    data = data or build_model_data(store, settings, window_split=m.window_split,
                                    test_fraction=m.test_fraction, seed=settings.seed)
    trained = fit_models(data, params={"n_estimators": m.n_estimators,
                                       "learning_rate": m.learning_rate}, seed=settings.seed)
    result = evaluate_tradeoff(
        data, trained, eval_folds=m.eval_folds, min_offers=settings.min_offers,
        normalization=m.normalization, step=m.weight_step, k=m.ndcg_k,
        aggregation=m.aggregation, replicates=m.replicates, stack_scores=m.stack_scores,
        label_prior=m.label_prior, n_boot=m.n_boot, seed=settings.seed,
        joint_params={"n_estimators": m.joint_n_estimators,
                      "learning_rate": m.joint_learning_rate})
    return result, trained
