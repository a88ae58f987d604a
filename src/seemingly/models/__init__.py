"""Relevance, purchase and engagement models (LightGBM behind scikit-learn's contract), their
artifacts, and the :class:`Ranker` the service uses.

>>> from seemingly.models import Ranker, train  # doctest: +SKIP
>>> train(store, settings, "model/")  # doctest: +SKIP
>>> Ranker.load("model/").rank("lego car", candidates, weight=0.5, objective="purchase")
... # doctest: +SKIP
"""

from __future__ import annotations

from seemingly.models.estimators import JointRanker, OutcomeModel, RelevanceModel
from seemingly.models.ranker import Ranker, RankResult
from seemingly.models.relevance_only import train_relevance
from seemingly.models.train import train

__all__ = [
    "Ranker",
    "RankResult",
    "train",
    "train_relevance",
    "RelevanceModel",
    "OutcomeModel",
    "JointRanker",
]
