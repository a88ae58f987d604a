"""A hand-computable stand-in for ``seemingly.ranking.models.Ranker`` (service-only tests).

relevance = share of query tokens found in the title; outcome = 1 / (1 + price);
fused = weight * relevance + (1 - weight) * outcome; ties broken by product_id.
"""

from __future__ import annotations

import math
import time
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
        default_factory=lambda: {
            "format_version": 2, "seemingly_version": "0.0.0-fake", "normalization": "min-max",
            "feature_names": ["coverage", "price", "brand_known", "user_bought_product"],
            "models": {"relevance": {"file": "r.txt", "metrics": {"auc": 0.9}},
                       "purchase": {"file": "p.txt"}},
            "training_data_fingerprint": "f" * 64, "files": {"r.txt": "0" * 64},
        }
    )
    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_with: BaseException | None = None
    nan_scores: bool = False
    # seconds each call sleeps (time.sleep releases the GIL, as LightGBM and numba do)
    delay: float = 0.0
    # the user -> bought products the personal feature reads
    bought: dict[str, set[str]] = field(default_factory=dict)

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
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        q = set(query.lower().split())
        items = []
        for c in candidates:
            rel = len(q & set(c["title"].lower().split())) / len(q)
            out = 1.0 / (1.0 + c["price"])
            fused = math.nan if self.nan_scores else weight * rel + (1 - weight) * out
            feats = {"coverage": rel, "price": c["price"], "brand_known": math.nan,
                     "user_bought_product": float(c["product_id"] in self.bought.get(
                         user_id or "", ()))}
            items.append(FakeItem(c["product_id"], rel, out, fused, feats if explain else None))
        items.sort(key=lambda it: (-it.fused_score, it.product_id))
        return FakeResult(items[:k] if k else items)
