"""A hand-computable stand-in for ``seemingly.ranking.models.Ranker`` (service-only tests).

relevance = share of query tokens found in the title; outcome = 1 / (1 + price);
fused = weight * relevance + (1 - weight) * outcome; ties broken by product_id.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FakeItem:
    product_id: str
    relevance_score: float
    outcome_score: float
    fused_score: float
    features: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class FakeResult:
    items: list[FakeItem]


@dataclass
class FakeRanker:
    manifest: dict[str, Any] = field(
        default_factory=lambda: {"format": "fake", "feature_names": ["coverage", "price"]}
    )
    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_with: BaseException | None = None
    nan_scores: bool = False

    def rank(
        self,
        query: str,
        candidates: Sequence[Mapping[str, Any]],
        *,
        weight: float,
        objective: str,
        user_id: str | None = None,
        k: int | None = None,
        explain: bool = False,
    ) -> FakeResult:
        self.calls.append(
            {
                "query": query,
                "candidates": list(candidates),
                "weight": weight,
                "objective": objective,
                "user_id": user_id,
                "k": k,
                "explain": explain,
            }
        )
        if self.fail_with is not None:
            raise self.fail_with
        q = set(query.lower().split())
        items = []
        for c in candidates:
            rel = len(q & set(c["title"].lower().split())) / len(q)
            out = 1.0 / (1.0 + c["price"])
            fused = math.nan if self.nan_scores else weight * rel + (1 - weight) * out
            feats = {"coverage": rel, "price": c["price"], "brand_known": math.nan}
            items.append(FakeItem(c["product_id"], rel, out, fused, feats if explain else None))
        items.sort(key=lambda it: (-it.fused_score, it.product_id))
        return FakeResult(items[:k] if k else items)
