"""The ``off_policy`` block: target rankers' level@1 estimated from ranked-list logs.

``off_policy.<objective>.<ranker>.<estimator>`` is ``{value, ci, ess}``. Rankers are the
strategy table's (``strategy:optimal``, ``strategy:relevant``, ...) and the fusion sweep's
(``fusion:0.25`` for relevance weight 0.25); estimators are ``ips``, ``snips`` and ``dr``
(see :mod:`seemingly.explain.offpolicy`). The block is absent when the offers are not ranked
lists with logged propensities (a voice log: every offer at position 1).
"""

from __future__ import annotations

from typing import Literal

from seemingly.results._base import Block, Interval, Keyed, Num

__all__ = ["OffPolicyEstimate", "RankerEstimates", "ObjectiveOffPolicy", "OffPolicyBlock",
           "STRATEGY_PREFIX", "FUSION_PREFIX", "fusion_ranker"]

STRATEGY_PREFIX = "strategy:"
FUSION_PREFIX = "fusion:"


def fusion_ranker(weight: float) -> str:
    """The ranker key of the fusion sweep's relevance weight ``weight`` ("fusion:0.25")."""
    return f"{FUSION_PREFIX}{round(float(weight), 10):g}"


class OffPolicyEstimate(Block):
    """One estimator's value of a ranker's level@1 (a rate per request), its percentile
    query-bootstrap interval and the effective sample size of its importance weights."""

    value: Num
    ci: Interval
    ess: Num


class RankerEstimates(Keyed[Literal["ips", "snips", "dr"], OffPolicyEstimate]):
    """estimator -> :class:`OffPolicyEstimate`."""


class ObjectiveOffPolicy(Keyed[str, RankerEstimates]):
    """ranker ("strategy:relevant", "fusion:0.5", ...) -> its estimates."""


class OffPolicyBlock(Keyed[Literal["purchase", "engagement"], ObjectiveOffPolicy]):
    """objective -> ranker -> estimator -> ``{value, ci, ess}``."""
