"""A hand-written results.json of a small world, in the shapes the report must render.

Until the real pipeline writes one, this stands in for it. It deliberately carries hostile
strings (a product titled ``<script>alert(1)</script>``, an HTML-ish query and category) so the
escaping tests have something to bite on.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

XSS_TITLE = "<script>alert(1)</script>"
XSS_QUERY = '"><img src=x onerror=alert(2)>'
XSS_CATEGORY = "<img src=x onerror=alert(3)>"

HYPOTHESES = (
    "popularity",
    "price",
    "category",
    "query_length",
    "semantic_relation",
    "copurchase_relation",
    "personal_history",
)


def _curve(bins: list[str], base: float, slope: float, offers: int) -> list[dict[str, Any]]:
    """Rates that move by ``slope`` per bin, with a Wilson-ish +-2 standard errors."""
    rows = []
    for i, b in enumerate(bins):
        rate = max(0.001, base + slope * i)
        se = math.sqrt(rate * (1 - rate) / offers)
        ci = [rate - 2 * se, rate + 2 * se]
        rows.append({"bin": b, "offers": offers, "rate": rate, "ci": ci})
    return rows


def _effect(
    estimate: float, p: float, p_adj: float, unit: str, bins: list[str], base: float, slope: float
) -> dict[str, Any]:
    half = 0.4 * abs(estimate) + 0.05
    direction = "0" if p_adj >= 0.05 or estimate == 0 else ("+" if estimate > 0 else "-")
    return {
        "estimate": estimate,
        "ci": [estimate - half, estimate + half],
        "p_value": p,
        "p_adjusted": p_adj,
        "supported": p_adj < 0.05,
        "direction": direction,
        "unit": unit,
        "curve": _curve(bins, base, slope, 400),
        "curve_relevant": _curve(bins, base * 4, slope / 2, 1500),
        "univariate": {
            "estimate": estimate * 1.3,
            "ci": [estimate * 1.3 - half, estimate * 1.3 + half],
            "p_value": p / 10,
            "direction": "0" if estimate == 0 else ("+" if estimate > 0 else "-"),
        },
    }


DECILES = [f"{10 * i}-{10 * (i + 1)}%" for i in range(8)]
PRICE_BINS = ["<-2", "-2..-1", "-1..-0.5", "-0.5..0", "0..0.5", "0.5..1", "1..2", ">2"]
LENGTH_BINS = ["1", "2", "3", "4", "5", "6", "7+"]
SIM_BINS = [f"{0.1 * i:.1f}" for i in range(8)]
CATEGORIES = ["toys", "digital", "beauty", "grocery", XSS_CATEGORY]


def sample_results() -> dict[str, Any]:
    """A complete results.json dict (contract v1 plus the extra blocks the report renders)."""
    hyps: dict[str, Any] = {}
    for outcome, scale in (("purchase", 1.0), ("engagement", 2.5)):
        pl = 0.02 * scale
        hyps.setdefault("popularity", {})[outcome] = _effect(
            0.8, 1e-6, 6e-6, "10 percentile points", DECILES, pl, 0.006 * scale
        )
        hyps.setdefault("price", {})[outcome] = _effect(
            -0.35, 2e-4, 8e-4, "doubling of the price ratio", PRICE_BINS, pl * 2, -0.004 * scale
        )
        cat = _effect(0.6, 3e-3, 9e-3, "flexible vs strict categories", CATEGORIES, pl, 0.0)
        cat["categories"] = [
            {
                "category": c,
                "irrelevant_rate": pl * r,
                "relevant_rate": pl * 4,
                "ratio": r / 4,
                "ci": [r / 4 * 0.7, r / 4 * 1.3],
                "offers": 300 + 50 * i,
            }
            for i, (c, r) in enumerate(zip(CATEGORIES, [2.0, 1.8, 0.6, 0.5, 1.0], strict=True))
        ]
        cat["heterogeneity"] = {"statistic": 31.5, "df": 4, "p_value": 2.4e-6}
        hyps.setdefault("category", {})[outcome] = cat
        ql = _effect(0.0, 0.02, 0.04, "length class", LENGTH_BINS, pl, 0.0)
        ql["curve"] = [
            {"bin": b, "offers": 300, "rate": r, "ci": [r * 0.8, r * 1.2]}
            for b, r in zip(
                LENGTH_BINS, [pl * 2, pl * 1.4, pl, pl, pl * 1.1, pl * 1.5, pl * 1.9], strict=True
            )
        ]
        ql["short"] = {
            "estimate": 0.42,
            "ci": [0.2, 0.64],
            "p_value": 1e-4,
            "p_adjusted": 5e-4,
            "supported": True,
            "direction": "+",
        }
        ql["long"] = {
            "estimate": 0.3,
            "ci": [-0.05, 0.65],
            "p_value": 0.09,
            "p_adjusted": 0.18,
            "supported": False,
            "direction": "0",
        }
        hyps.setdefault("query_length", {})[outcome] = ql
        hyps.setdefault("semantic_relation", {})[outcome] = _effect(
            0.5, 1e-3, 3e-3, "0.1 cosine similarity", SIM_BINS, pl, 0.003 * scale
        )
        hyps.setdefault("copurchase_relation", {})[outcome] = _effect(
            0.05, 0.4, 0.8, "log2(1 + lift)", SIM_BINS, pl, 0.0002
        )
        ph = _effect(1.1, 1e-8, 7e-8, "bought before (yes vs no)", ["no", "yes"], pl, 0.05 * scale)
        ph["brand"] = {
            "estimate": 0.25,
            "ci": [0.1, 0.4],
            "p_value": 0.002,
            "p_adjusted": 0.01,
            "supported": True,
            "direction": "+",
        }
        hyps.setdefault("personal_history", {})[outcome] = ph

    def fusion(level_key: str, top: float) -> list[dict[str, float]]:
        return [
            {
                "weight": w / 10,
                "relevance_at_1": 0.92 - 0.04 * w,
                level_key: top * (0.6 + 0.04 * w),
                "ndcg_at_k": 0.8 - 0.01 * w,
            }
            for w in range(11)
        ]

    def joint(level_key: str, top: float) -> list[dict[str, float]]:
        return [
            {
                "weight": w / 5,
                "relevance_at_1": 0.93 - 0.035 * w,
                level_key: top * (0.65 + 0.05 * w),
                "ndcg_at_k": 0.81 - 0.01 * w,
            }
            for w in range(6)
        ]

    tradeoff = {}
    for outcome, key, top in (
        ("purchase", "purchase_level_at_1", 0.2),
        ("engagement", "engagement_level_at_1", 0.45),
    ):
        tradeoff[outcome] = {
            "fusion": fusion(key, top),
            "joint": joint(key, top),
            "pareto_fusion": [0.0, 0.5, 1.0],
            "dominance": {
                "fusion_hypervolume": 0.151,
                "joint_hypervolume": 0.163,
                "difference": 0.012,
                "difference_ci": [0.004, 0.02],
                "share_fusion_points_dominated": 0.64,
            },
        }

    def strategies(scale: float) -> dict[str, Any]:
        vals = {
            "optimal": 1.0,
            "relevant": 0.71 * scale,
            "irrelevant": 0.38 * scale,
            "random": 0.55 * scale,
            "worst": 0.12 * scale,
        }
        return {
            **vals,
            "n_queries": 812,
            "ci": {k: [v - 0.03, v + 0.03] for k, v in vals.items() if k != "optimal"},
        }

    def importance(names: list[str]) -> dict[str, float]:
        return {n: round(1000 / (i + 1), 1) for i, n in enumerate(names)}

    features = [
        "popularity_pct",
        "price_log_ratio",
        "bm25",
        "semantic_sim",
        "copurchase_lift",
        "query_length",
        "bought_before",
        "bought_brand_before",
        "category=toys",
    ]

    return {
        "contract_version": 1,
        "data": {
            "offers": 48213,
            "offers_judged": 39877,
            "queries": 1650,
            "products": 2400,
            "users": 9120,
            "quarantined": {"offers": 37, "products": 2},
            "warnings": [
                "12 offers had purchased=true and engaged=false; read as engaged",
                "price is null for 14 products; left out of the price analyses",
            ],
            "ingest": {
                "products": {
                    "read": 2402,
                    "accepted": 2400,
                    "quarantined": 2,
                    "rules": {"negative_price": 1, "duplicate_product_id": 1},
                },
                "offers": {
                    "read": 48250,
                    "accepted": 48213,
                    "quarantined": 37,
                    "rules": {"unknown_product_id": 30, "blank_query": 7},
                },
                "judgments": {"read": 9800, "accepted": 9800, "quarantined": 0, "rules": {}},
            },
        },
        "overview": {
            "purchase_level": {
                "relevant": {"value": 0.081, "ci": [0.078, 0.084], "offers": 30122},
                "irrelevant": {"value": 0.034, "ci": [0.031, 0.038], "offers": 9755},
            },
            "engagement_level": {
                "relevant": {"value": 0.19, "ci": [0.185, 0.195], "offers": 30122},
                "irrelevant": {"value": 0.11, "ci": [0.104, 0.117], "offers": 9755},
            },
            "irrelevant_share": {"purchases": 0.119, "engagements": 0.158},
            "annotator_agreement": {"alpha": 0.71, "n_items": 3200, "n_annotators": 5},
        },
        "hypotheses": hyps,
        "strategies": {"purchase": strategies(1.0), "engagement": strategies(1.1)},
        "tradeoff": tradeoff,
        "models": {
            "relevance": {
                "metrics": {"auc": 0.912, "log_loss": 0.281},
                "feature_importance": importance(features[:6]),
            },
            "purchase": {
                "metrics": {"auc": 0.774, "ndcg_at_5": 0.61},
                "feature_importance": importance(features),
            },
            "engagement": {
                "metrics": {"auc": 0.741},
                "feature_importance": importance(features[::-1]),
            },
        },
        "examples": {
            "purchase": [
                {
                    "query": "buy burgers",
                    "product_id": "P17",
                    "title": "Stuffed burger press",
                    "category": "kitchen",
                    "price": 12.99,
                    "offers": 140,
                    "purchases": 31,
                    "purchase_level": 31 / 140,
                    "relevant_titles": ["Angus beef burgers, 8 pack", "Veggie burgers"],
                },
                {
                    "query": XSS_QUERY,
                    "product_id": "P666",
                    "title": XSS_TITLE,
                    "category": XSS_CATEGORY,
                    "price": 3.5,
                    "offers": 60,
                    "purchases": 9,
                    "purchase_level": 0.15,
                    "relevant_titles": ["<b>bold</b> & co"],
                },
            ],
            "engagement": [
                {
                    "query": "kids tablet",
                    "product_id": "P3",
                    "title": "Tablet case for kids",
                    "category": "digital",
                    "price": 19.0,
                    "offers": 90,
                    "purchases": 4,
                    "engagement_level": 0.4,
                    "relevant_titles": ["Fire 7 Kids tablet"],
                },
            ],
        },
        "run": {
            "seed": 7,
            "world": "default",
            "version": "0.1.0",
            "timings": {"ingest": 3.2, "measures": 1.1, "hypotheses": 14.9, "models": 22.4},
            "settings": {"min_offers": 5, "confidence": 0.95, "hypotheses": {"alpha": 0.05}},
        },
        "some_future_block": {"ignored": True},
    }


def without(results: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A deep copy of ``results`` with top-level ``keys`` removed."""
    out = copy.deepcopy(results)
    for k in keys:
        out.pop(k, None)
    return out


FIGURES_IN_SAMPLE = 1 + len(HYPOTHESES) + 1 + 2 + 3
"""overview + one per hypothesis + strategies + trade-off per outcome + importance per model."""


@dataclass
class PageLog:
    """What a page did while a test looked at it."""

    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    dialogs: list[str] = field(default_factory=list)  # alert()/confirm() messages
    requests: list[str] = field(default_factory=list)  # every URL the page fetched


@contextmanager
def open_report(chromium: Path, report: Path) -> Iterator[tuple[Any, PageLog]]:
    """A headless Chromium page on ``report``, waited until every figure is drawn, with a
    log of its errors, dialogs and requests; the browser closes on exit."""
    from playwright.sync_api import sync_playwright

    from seemingly.report.screenshot import CHROMIUM_ARGS

    log = PageLog()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: log.errors.append(str(e)))
            page.on("dialog", lambda d: (log.dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: log.requests.append(r.url))
            page.goto(report.as_uri())
            page.wait_for_selector("body[data-rendered]", state="attached", timeout=60_000)
            yield page, log
        finally:
            browser.close()
