"""Relevance, purchase and engagement models (LightGBM behind scikit-learn's contract), their
artifacts, and the :class:`Ranker` the service uses.

>>> from seemingly.ranking.models import Ranker, train  # doctest: +SKIP
>>> train(store, settings, "model/")  # doctest: +SKIP
>>> Ranker.load("model/").rank("lego car", candidates, weight=0.5, objective="purchase")
... # doctest: +SKIP
"""

from __future__ import annotations

from seemingly.ranking.models.estimators import JointRanker, OutcomeModel, RelevanceModel
from seemingly.ranking.models.ranker import Ranker, RankResult
from seemingly.ranking.models.relevance_only import train_relevance
from seemingly.ranking.models.train import train

__all__ = [
    "Ranker",
    "RankResult",
    "train",
    "train_relevance",
    "RelevanceModel",
    "OutcomeModel",
    "JointRanker",
]
