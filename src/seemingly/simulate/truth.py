"""``truth.json``: every planted coefficient and the expected direction of each hypothesis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seemingly.contract import CONTRACT_VERSION
from seemingly.simulate.config import Effects, WorldConfig

__all__ = ["truth_dict", "expected_directions", "label_rows", "OfferStats"]

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


@dataclass
class OfferStats:
    """Running sums over the written offers: per position, offers and examined offers; per
    true relevance (0 irrelevant, 1 relevant), offers and the sums of the position-free
    purchase and engagement probabilities (the probability had the offer been examined)."""

    offers: np.ndarray
    examined: np.ndarray
    rel_offers: np.ndarray
    rel_purchase: np.ndarray
    rel_engagement: np.ndarray

    @classmethod
    def empty(cls, k: int) -> OfferStats:
        return cls(np.zeros(k, np.int64), np.zeros(k, np.int64), np.zeros(2, np.int64),
                   np.zeros(2), np.zeros(2))

    def add(self, ch: dict[str, np.ndarray], relevant: np.ndarray) -> None:
        k = self.offers.size
        j = ch["position"] - 1
        self.offers += np.bincount(j, minlength=k)
        self.examined += np.bincount(j, weights=ch["examined"], minlength=k).astype(np.int64)
        r = relevant.astype(np.int64)
        self.rel_offers += np.bincount(r, minlength=2)
        self.rel_purchase += np.bincount(r, weights=ch["p_purchase"], minlength=2)
        self.rel_engagement += np.bincount(r, weights=ch["p_engagement"], minlength=2)


def _position_truth(cfg: WorldConfig, stats: OfferStats | None) -> dict[str, Any] | None:
    """The examination curve and position-free levels of a ranked-list world (None: voice)."""
    exam = cfg.examination
    if exam.model == "none" or stats is None:
        return None
    k = cfg.policy.offers_per_request
    realised = [
        {"position": j + 1, "offers": int(n), "examined": int(e),
         "value": float(e / n) if n else None}
        for j, (n, e) in enumerate(zip(stats.offers, stats.examined, strict=True))
    ]
    curve = (
        [{"position": j + 1, "value": v} for j, v in enumerate(exam.position_curve(k))]
        if exam.model == "position"
        # the cascade's examination depends on engagement above: its curve is the realised one
        else [{"position": r["position"], "value": r["value"]} for r in realised]
    )

    def level(sums: np.ndarray, rel: int) -> float | None:
        n = stats.rel_offers[rel]
        return float(sums[rel] / n) if n else None

    return {
        "examination": {"model": exam.model, "curve": curve, "realised": realised,
                        "continue_prob": exam.continue_prob if exam.model == "cascade" else None},
        "levels": {
            "purchase": {"relevant": level(stats.rel_purchase, 1),
                         "irrelevant": level(stats.rel_purchase, 0)},
            "engagement": {"relevant": level(stats.rel_engagement, 1),
                           "irrelevant": level(stats.rel_engagement, 0)},
            "offers": {"relevant": int(stats.rel_offers[1]),
                       "irrelevant": int(stats.rel_offers[0])},
        },
        "policy": {
            "kind": "plackett-luce",
            "offers_per_request": k,
            "relevant_weight": cfg.policy.relevant_weight,
            "irrelevant_weight": cfg.policy.irrelevant_weight,
            "popularity_exponent": cfg.policy.popularity_exponent,
        },
        "notes": {
            "levels": "position-free levels: the mean over the logged offers of each true "
            "relevance class of the probability of purchase (engagement) had the offer been "
            "examined, i.e. what an analysis corrected for position bias should recover",
            "coefficients": "the planted coefficients (coefficients.*) act on examined offers: "
            "P(outcome) = examination(position) * sigmoid(planted logit)",
            "replay": "to replay a ranker over the logged requests: "
            "seemingly.simulate.oracle.true_probabilities gives the examined-outcome "
            "probabilities per (query, product, history state) and "
            "oracle.examination_curve the examination per position",
        },
    }


def truth_dict(
    cfg: WorldConfig, seed: int, n_offers: int, counts: dict[str, int],
    labels: dict[str, Any] | None = None,
    stats: OfferStats | None = None,
) -> dict[str, Any]:
    out = _truth_dict(cfg, seed, n_offers, counts, labels)
    position = _position_truth(cfg, stats)
    if position is not None:  # voice worlds' truth.json is what it was
        out["position"] = position
    return out


def _truth_dict(
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
            "examination": "voice: every offer is heard; a ranked-list world (position.*) "
            "draws examination per position and outcomes only on examined offers",
        },
    }
