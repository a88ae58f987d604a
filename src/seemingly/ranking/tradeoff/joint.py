"""Joint model: one LightGBM ranker per relevance weight, trained on aggregated labels.

Two aggregations of a relevance label r in {0, 1} and an outcome label o in [0, 1] (the
product's level divided by the best level of its query):

- linear: y = w * r + (1 - w) * o
- stochastic (Carmel et al., WWW 2020, "stochastic label aggregation"): each training query
  takes its labels from relevance with probability w and from the outcome otherwise; several
  seeded replicates of each query are drawn. Per-query draws make the expected ranking loss
  w * L_relevance + (1 - w) * L_outcome, which is the argument of the paper.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from seemingly.ranking.models.estimators import JointRanker, OutcomeModel

__all__ = ["aggregate_labels", "fit_joint_models"]

Aggregation = Literal["linear", "stochastic"]
Objective = Literal["lambdarank", "pointwise"]


def aggregate_labels(frame: pd.DataFrame, weight: float, *, method: Aggregation = "linear",
                     replicates: int = 4, seed: int = 7, query: str = "query",
                     relevant: str = "relevant", outcome: str = "outcome_label") -> pd.DataFrame:
    """Rows of ``frame`` with an aggregated ``label`` column and a ``group`` id.

    Stochastic aggregation returns ``replicates`` copies of every query, each copy with its
    own draw and its own group id, so the ranker sees the mixture of both label sets.

    >>> f = pd.DataFrame({"query": ["q", "q"], "relevant": [1.0, 0.0],
    ...                   "outcome_label": [0.2, 1.0]})
    >>> aggregate_labels(f, 0.25)["label"].tolist()
    [0.4, 0.75]
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1]; got {weight}")
    r = frame[relevant].astype(float).to_numpy()
    o = frame[outcome].astype(float).to_numpy()
    if method == "linear":
        return frame.assign(label=weight * r + (1 - weight) * o, group=frame[query].to_numpy())
    if method != "stochastic":
        raise ValueError(f"unknown aggregation {method!r}; use 'linear' or 'stochastic'")
    if replicates < 1:
        raise ValueError("replicates must be >= 1")
    rng = np.random.default_rng(seed)
    codes, uniq = pd.factorize(frame[query])
    parts = []
    for rep in range(replicates):
        take_rel = rng.random(len(uniq)) < weight  # one draw per query, not per row
        use = take_rel[codes]
        parts.append(frame.assign(label=np.where(use, r, o),
                                  group=[f"{q}\x1f{rep}" for q in frame[query]]))
    return pd.concat(parts, ignore_index=True)


def fit_joint_models(frame: pd.DataFrame, features: list[str], weights: np.ndarray, *,
                     method: Aggregation = "linear", replicates: int = 4, seed: int = 7,
                     params: dict | None = None, objective: Objective = "lambdarank",
                     ) -> dict[float, JointRanker | OutcomeModel]:
    """One model per weight on ``frame`` (features + relevant + outcome_label).

    ``objective="lambdarank"``: a :class:`JointRanker` on graded aggregated labels per query;
    ``"pointwise"``: cross-entropy regression on the aggregated label in [0, 1] (an estimate
    of its conditional mean, the Bayes score of the scalarised metric).
    """
    if objective not in ("lambdarank", "pointwise"):
        raise ValueError(f"unknown joint objective {objective!r}; use 'lambdarank' or "
                         "'pointwise'")
    models: dict[float, JointRanker | OutcomeModel] = {}
    for i, w in enumerate(weights):
        agg = aggregate_labels(frame, float(w), method=method, replicates=replicates,
                               seed=seed + i)
        if objective == "pointwise":
            models[float(w)] = OutcomeModel(seed=seed, **(params or {})).fit(
                agg[features], agg["label"].to_numpy())
        else:
            models[float(w)] = JointRanker(seed=seed, **(params or {})).fit(
                agg[features], agg["label"].to_numpy(), group=agg["group"].to_numpy())
    return models
