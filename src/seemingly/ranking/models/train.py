"""One call from a store to a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from seemingly.ranking.models.data import build_model_data
from seemingly.ranking.models.training import TrainedModels, fit_models, save_models

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["below_minimum", "train"]

#: Fewest queries with judged offers `train` fits on: some to train, some held out.
MIN_QUERIES = 3


def train(store: StoreLike, settings: Any, out_dir: str | Path, *, window_split: float = 0.5,
          test_fraction: float = 0.3, normalization: str = "min-max",
          params: dict[str, Any] | None = None) -> TrainedModels:
    """Build features without leakage, fit the three models, write ``out_dir``.

    Returns the fitted models with held-out metrics and gain importances.
    """
    below = below_minimum(store, MIN_QUERIES, "to train and hold out queries")
    if below is not None:
        raise ValueError(f"train: {below}")
    seed = int(getattr(settings, "seed", 7))
    data = build_model_data(store, settings, window_split=window_split,
                            test_fraction=test_fraction, seed=seed)
    trained = fit_models(data, params=params, seed=seed)
    save_models(trained, data, out_dir, normalization=normalization,
                extra={"window_split": window_split, "test_fraction": test_fraction})
    return trained


def below_minimum(store: StoreLike, min_queries: int, why: str) -> str | None:
    """Why the store is too small to fit the purchase and engagement models, or None.

    The models learn from offers whose (query, product) was judged: they need ``min_queries``
    such queries, and offers with and without each outcome (one class cannot be fitted).
    """
    missing = [t for t in ("offers", "judgments") if not store.has(t)]
    if missing:
        return f"the models need the {' and '.join(missing)} table(s), which the data lacks"
    offers = store.table("offers")
    judged = store.table("judgments").select("query", "product_id").distinct()
    j = offers.join(judged, ["query", "product_id"])
    row = j.aggregate(queries=j.query.nunique(), n=j.count(), bought=j.purchased.sum(),
                      engaged=j.engaged.sum()).execute().iloc[0]
    queries, n = int(row["queries"]), int(row["n"])
    if queries < min_queries:
        return (f"the models need judged offers of at least {min_queries} queries ({why}); "
                f"the data has {queries}")
    for outcome, k in (("purchased", row["bought"]), ("engaged", row["engaged"])):
        k = 0 if k is None or k != k else int(k)
        if k in (0, n):
            return (f"the models need judged offers with and without {outcome}; all {n:,} "
                    f"judged offers have {outcome}={str(k == n).lower()}")
    return None
