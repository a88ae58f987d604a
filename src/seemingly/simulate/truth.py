"""``truth.json``: every planted coefficient and the expected direction of each hypothesis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from seemingly.contract import CONTRACT_VERSION
from seemingly.simulate.config import Effects, WorldConfig

__all__ = ["truth_dict", "expected_directions", "label_rows"]

LATENTS = {
    "popularity": "z-score of log popularity weight (Zipf rank) of the offered product",
    "price": "log2(offered price / median price of the query's relevant products)",
    "category": "additive log-odds per category of the offered product (others 0)",
    "short": "query has <= 2 tokens",
    "long": "query has >= 6 tokens",
    "semantic": "cosine of the product's title tokens to the centroid of the relevant "
    "products' title tokens (0..1)",
    "copurchase": "the product is the query's complement candidate (its type is bought "
    "together with the relevant type; planted in order baskets)",
    "history": "the user bought this product strictly before",
    "brand_history": "the user bought any product of this brand strictly before "
    "(implied by history)",
    "relevant": "relevant offers: relevant_base + relevant_scale * (all terms except "
    "semantic and copurchase)",
}


def _sign(x: float) -> str:
    return "+" if x > 0 else "-" if x < 0 else "0"


def _length_shape(short: float, long: float) -> str:
    if short > 0 and long > 0:
        return "U"
    if short < 0 and long < 0:
        return "inverted-U"
    if short == 0 and long == 0:
        return "0"
    return "-" if short > 0 or long < 0 else "+"


def expected_directions(eff: Effects, null: bool) -> dict[str, Any]:
    """Directions the analysis should find among irrelevant offers for one outcome."""
    if null:
        zero: dict[str, list[str]] = {"flexible": [], "strict": []}
        return {
            "popularity": "0",
            "price": "0",
            "category": zero,
            "query_length": "0",
            "semantic_relation": "0",
            "copurchase_relation": "0",
            "personal_history": "0",
        }
    hist = eff.history if eff.history != 0 else eff.brand_history
    return {
        "popularity": _sign(eff.popularity),
        "price": _sign(eff.price),
        "category": {
            "flexible": sorted(c for c, v in eff.category.items() if v > 0),
            "strict": sorted(c for c, v in eff.category.items() if v < 0),
        },
        "query_length": _length_shape(eff.short, eff.long),
        "semantic_relation": _sign(eff.semantic),
        "copurchase_relation": _sign(eff.copurchase),
        "personal_history": _sign(hist),
    }


def _coefs(eff: Effects, null: bool) -> dict[str, Any]:
    d = eff.model_dump()
    if null:  # the null world plants only the two base rates
        d = {
            k: (v if k in ("base", "relevant_base") else ({} if isinstance(v, dict) else 0.0))
            for k, v in d.items()
        }
    return d


def label_rows(pairs: dict[str, np.ndarray], query_text: Sequence[str] | np.ndarray,
               product_ids: Sequence[str] | np.ndarray) -> dict[str, Any]:
    """truth.json's ``labels``: each judged pair's true relevance and its majority label.

    ``pairs`` is :func:`seemingly.simulate.judge.label_truth`'s output. A majority label is
    *wrong* when it differs from the truth; ``slips`` counts the judged-irrelevant pairs that
    are truly relevant (what a re-judging queue should find) and ``false_relevant`` the reverse.
    """
    true, maj = pairs["true"], pairs["majority"]
    rows = [[str(query_text[q]), str(product_ids[p]), int(t), int(m), int(n), int(v)]
            for q, p, t, m, n, v in zip(pairs["query"], pairs["product"], true, maj,
                                        pairs["n"], pairs["votes"], strict=True)]
    return {
        "rule": "majority of the judgments; ties not relevant (LabelSettings defaults)",
        "n_pairs": int(true.size),
        "n_wrong": int((true != maj).sum()),
        "slips": int(((maj == 0) & (true == 1)).sum()),
        "false_relevant": int(((maj == 1) & (true == 0)).sum()),
        "columns": ["query", "product_id", "true_relevant", "majority_relevant",
                    "n_judgments", "n_relevant_votes"],
        "pairs": rows,
    }


def truth_dict(
    cfg: WorldConfig, seed: int, n_offers: int, counts: dict[str, int],
    labels: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "world": cfg.name,
        "seed": seed,
        "n_offers": n_offers,
        "contract_version": CONTRACT_VERSION,
        "config": cfg.model_dump(mode="json"),
        "coefficients": {
            "purchase": _coefs(cfg.purchase, cfg.null_effects),
            "engagement": _coefs(cfg.engagement, cfg.null_effects),
        },
        "expected": expected_directions(cfg.purchase, cfg.null_effects),
        "expected_engagement": expected_directions(cfg.engagement, cfg.null_effects),
        "latents": LATENTS,
        "counts": dict(counts),
        **({} if labels is None else {"labels": labels}),
        "notes": {
            "orders": "orders = pre-window history baskets (order_id h...) plus every offer "
            "purchase copied as an order row with order_id = offer_id and the "
            "offer's timestamp; count purchases from orders alone, or de-duplicate "
            "orders whose order_id is an offer_id, to avoid counting them twice",
            "engagement": "engaged = purchased OR an engagement draw with its own logit",
            "propensity": "probability of the offered product under the logging policy "
            "(position j: its weight over the weights of the unchosen slots)",
        },
    }
