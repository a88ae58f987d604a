"""What the service needs from a ranker, so the app can be tested without training a model.

The real implementation is ``seemingly.ranking.models.Ranker``; tests of service-only behaviour
(limits, error handling) pass a small fake that satisfies :class:`RankerLike`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

__all__ = ["RankerLike", "RankerLoader"]

Objective = Literal["purchase", "engagement"]


class RankedLike(Protocol):
    """One scored candidate as the ranker returns it."""

    @property
    def product_id(self) -> str: ...
    @property
    def relevance_score(self) -> float: ...
    @property
    def outcome_score(self) -> float: ...
    @property
    def fused_score(self) -> float: ...
    @property
    def features(self) -> Mapping[str, Any] | None: ...


class RankResultLike(Protocol):
    """The ranker's answer: candidates best first."""

    @property
    def items(self) -> Sequence[RankedLike]: ...


class RankerLike(Protocol):
    """The part of ``seemingly.ranking.models.Ranker`` the service calls."""

    @property
    def manifest(self) -> Mapping[str, Any]: ...

    def rank(
        self,
        query: str,
        candidates: Sequence[Mapping[str, Any]],
        *,
        weight: float,
        objective: Objective,
        user_id: str | None = None,
        k: int | None = None,
        explain: bool = False,
    ) -> RankResultLike: ...


class RankerLoader(Protocol):
    """Loads and verifies a model directory; raises ``ModelArtifactError`` when it is bad."""

    def __call__(self, model_dir: Path, /) -> RankerLike: ...
