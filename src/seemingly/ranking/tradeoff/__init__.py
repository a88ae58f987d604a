"""Relevance vs purchase / engagement: fusion sweep, factor ablation, joint model (optional),
Pareto frontiers.

>>> from seemingly.ranking.tradeoff import run_tradeoff  # doctest: +SKIP
>>> result, models = run_tradeoff(store, AnalysisSettings())  # doctest: +SKIP
>>> result.to_block().purchase.dominance.difference_ci  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seemingly.ranking.models.data import ModelData, build_model_data
from seemingly.ranking.models.training import TrainedModels, fit_models
from seemingly.ranking.tradeoff.run import TradeoffResult, evaluate_tradeoff

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["run_tradeoff", "fit_tradeoff_models", "tradeoff_data", "TradeoffResult"]


def tradeoff_data(store: StoreLike, settings: Any) -> ModelData:
    """Features and labels of the trade-off (and of the saved models), split by
    ``settings.models.window_split`` and ``test_fraction``."""
    m = settings.models
    return build_model_data(store, settings, window_split=m.window_split,
                            test_fraction=m.test_fraction, seed=settings.seed)


def _model_params(settings: Any) -> dict[str, Any]:
    return {"n_estimators": settings.models.n_estimators,
            "learning_rate": settings.models.learning_rate}


def fit_tradeoff_models(data: ModelData, settings: Any) -> TrainedModels:
    """The relevance, purchase and engagement models on ``data``'s train split, fitted with
    ``settings.models``: the models the trade-off evaluates and the study saves."""
    return fit_models(data, params=_model_params(settings), seed=settings.seed,
                      n_jobs=settings.models.n_jobs)


def run_tradeoff(store: StoreLike, settings: Any, data: ModelData | None = None,
                 trained: TrainedModels | None = None) -> tuple[TradeoffResult, TrainedModels]:
    """Models on the train split (metrics, importances) and the trade-off block.

    Every single-objective model (these, the K-fold refits and the cross-fitted scores) is
    fitted with ``settings.models``' parameters, so the returned models, which the study
    saves, are the models the trade-off evaluated. Pass ``data`` and ``trained`` (from
    :func:`tradeoff_data` and :func:`fit_tradeoff_models`) to reuse them.
    """
    m = settings.models
    data = data or tradeoff_data(store, settings)
    trained = trained or fit_tradeoff_models(data, settings)
    result = evaluate_tradeoff(
        data, trained, eval_folds=m.eval_folds, min_offers=settings.min_offers,
        normalization=m.normalization, step=m.weight_step, k=m.ndcg_k,
        aggregation=m.aggregation, replicates=m.replicates, stack_scores=m.stack_scores,
        label_prior=m.label_prior, n_boot=m.n_boot, seed=settings.seed,
        joint_params={"n_estimators": m.joint_n_estimators,
                      "learning_rate": m.joint_learning_rate},
        model_params=_model_params(settings), joint=m.joint, ablation=m.ablation,
        n_jobs=m.n_jobs)
    return result, trained
