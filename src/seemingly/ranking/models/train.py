"""One call from a store to a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from seemingly.ranking.models.data import build_model_data
from seemingly.ranking.models.training import TrainedModels, fit_models, save_models

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["train"]


def train(store: StoreLike, settings: Any, out_dir: str | Path, *, window_split: float = 0.5,
          test_fraction: float = 0.3, normalization: str = "min-max",
          params: dict[str, Any] | None = None) -> TrainedModels:
    """Build features without leakage, fit the three models, write ``out_dir``.

    Returns the fitted models with held-out metrics and gain importances.
    """
    seed = int(getattr(settings, "seed", 7))
    data = build_model_data(store, settings, window_split=window_split,
                            test_fraction=test_fraction, seed=seed)
    trained = fit_models(data, params=params, seed=seed)
    save_models(trained, data, out_dir, normalization=normalization,
                extra={"window_split": window_split, "test_fraction": test_fraction})
    return trained
