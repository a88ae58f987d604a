"""The ``position`` block: position bias in ranked-list logs, measured and corrected.

Present only when offers sit at more than one position (a voice log, every offer at position
1, has no ``position`` and no ``overview_corrected`` block, so its results.json is unchanged).
``overview_corrected`` has the shape of ``overview`` (:class:`~seemingly.results.explain.
OverviewBlock`) and lives at the top level of :class:`~seemingly.results.Results`.
"""

from __future__ import annotations

from typing import Literal

from seemingly.contract import Outcome
from seemingly.results._base import Block, Interval, Num
from seemingly.results.explain import StrategiesBlock, Term

__all__ = ["ExaminationPoint", "TermComparison", "PositionBlock"]


class ExaminationPoint(Block):
    """Examination probability of one position relative to position 1, with its interval."""

    position: int
    value: Num
    ci: Interval | None
    offers: int


class TermComparison(Block):
    """One multivariable coefficient fitted naive (every offer as if seen) and corrected."""

    naive: Term | None
    corrected: Term | None


class PositionBlock(Block):
    """How examination falls with position, and the analyses corrected for it.

    ``method``: ``harvesting`` (a stochastic logging policy, shown by the propensity column,
    put the same (query, product) at several positions; its engagement rates across positions
    give the curve) or ``em`` (a position-based click model fitted by EM on engagements).
    ``correction``: how the corrected numbers weight offers (inverse examination weights).
    ``hypotheses``: model term -> outcome -> naive and corrected coefficient of the
    multivariable logit among irrelevant offers. ``strategies``: the strategy table on
    corrected per-(query, product) levels (the naive one is the ``strategies`` block).
    """

    method: Literal["harvesting", "em"]
    signal: Outcome
    correction: str
    max_position: int
    offers_by_position: list[int]
    examination: list[ExaminationPoint]
    hypotheses: dict[str, dict[Outcome, TermComparison]]
    strategies: StrategiesBlock | None
    notes: list[str]
