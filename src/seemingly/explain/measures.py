"""Purchase and engagement levels with Wilson intervals, per (query, product) and overall.

PL(q, p) = purchases / offers and EL(q, p) = engagements / offers (contract definitions). The
per-pair table stays an Ibis expression; only the few overview aggregates leave the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
from scipy.stats import norm

from seemingly.config import AnalysisSettings
from seemingly.explain.labels import Agreement, agreement, relevance

__all__ = ["wilson", "levels", "overview", "data_summary"]


def _z(confidence: float) -> float:
    return float(norm.ppf(0.5 + confidence / 2))


def wilson(successes: Any, trials: Any, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions, vectorised.

    Returns ``(low, high)`` arrays; NaN where ``trials == 0``.

    >>> lo, hi = wilson(3, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1078, 0.6032)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        center = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.where(n > 0, np.clip(center - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(center + half, 0.0, 1.0), np.nan)
    return low, high


def _wilson_expr(x: ir.NumericValue, n: ir.NumericValue, z: float) -> tuple[Any, Any]:
    """The Wilson bounds as Ibis expressions (same formula as :func:`wilson`)."""
    nf = n.cast("float64")
    p = x.cast("float64") / nf
    denom = 1 + z**2 / nf
    center = (p + z**2 / (2 * nf)) / denom
    half = z * (p * (1 - p) / nf + z**2 / (4 * nf * nf)).sqrt() / denom
    return ibis.greatest(center - half, 0.0), ibis.least(center + half, 1.0)


def levels(store: Any, settings: AnalysisSettings | None = None) -> ir.Table:
    """Purchase and engagement level of every (query, product) with >= ``min_offers`` offers.

    Columns: query, product_id, offers, purchases, engagements, purchase_level,
    engagement_level, purchase_level_low/high, engagement_level_low/high (Wilson at
    ``settings.confidence``), relevant (bool; null when the pair is unjudged or the data has
    no judgments).
    """
    s = settings or AnalysisSettings()
    o = store.table("offers")
    g = o.group_by(["query", "product_id"]).aggregate(
        offers=o.count(),
        purchases=o.purchased.cast("int64").sum(),
        engagements=o.engaged.cast("int64").sum(),
    )
    g = g.filter(g.offers >= s.min_offers)
    z = _z(s.confidence)
    pl_lo, pl_hi = _wilson_expr(g.purchases, g.offers, z)
    el_lo, el_hi = _wilson_expr(g.engagements, g.offers, z)
    g = g.mutate(
        purchase_level=g.purchases.cast("float64") / g.offers.cast("float64"),
        engagement_level=g.engagements.cast("float64") / g.offers.cast("float64"),
        purchase_level_low=pl_lo,
        purchase_level_high=pl_hi,
        engagement_level_low=el_lo,
        engagement_level_high=el_hi,
    )
    if store.has("judgments"):
        rel = relevance(store, s.labels).select("query", "product_id", "relevant")
        return g.left_join(rel, ["query", "product_id"]).select(*g.columns, "relevant")
    return g.mutate(relevant=ibis.null("boolean"))


@dataclass(frozen=True)
class Rate:
    """A proportion with its Wilson interval; ``n`` trials, named ``count_key`` in to_dict."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    count_key: str = "offers"

    @classmethod
    def of(cls, x: float, n: float, confidence: float, count_key: str = "offers") -> Rate:
        if n <= 0:
            return cls(None, None, None, 0, count_key)
        lo, hi = wilson(x, n, confidence)
        return cls(float(x / n), float(lo), float(hi), int(n), count_key)

    def to_dict(self) -> dict[str, Any]:
        ci = None if self.low is None else [self.low, self.high]
        return {"value": self.value, "ci": ci, self.count_key: self.n}


@dataclass(frozen=True)
class Overview:
    """The contract's ``overview`` block, pooled over all judged offers.

    ``purchase_level`` / ``engagement_level`` map "relevant" / "irrelevant" to a Rate over
    offers (``{"value", "ci": [lo, hi], "offers"}`` in JSON); ``irrelevant_share`` maps
    "purchases" / "engagements" to the share of judged purchases (engagements) that went to
    irrelevant products (``{"value", "ci", "n"}``, n = judged purchases or engagements).
    Levels are None when the data has no offers or no judgments.
    """

    purchase_level: dict[str, Rate] | None
    engagement_level: dict[str, Rate] | None
    irrelevant_share: dict[str, Rate] | None
    annotator_agreement: Agreement
    confidence: float = 0.95
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        def block(d: dict[str, Rate] | None) -> dict[str, Any] | None:
            return None if d is None else {k: v.to_dict() for k, v in d.items()}

        return {
            "purchase_level": block(self.purchase_level),
            "engagement_level": block(self.engagement_level),
            "irrelevant_share": block(self.irrelevant_share),
            "annotator_agreement": self.annotator_agreement.to_dict(),
        }


def _judged_offers(store: Any, s: AnalysisSettings) -> ir.Table:
    o = store.table("offers")
    rel = relevance(store, s.labels).select("query", "product_id", "relevant")
    return o.inner_join(rel, ["query", "product_id"])


def overview(store: Any, settings: AnalysisSettings | None = None) -> Overview:
    """PL and EL of judged-relevant vs judged-irrelevant offers, the irrelevant share of
    purchases and engagements, and annotator agreement."""
    s = settings or AnalysisSettings()
    agree = agreement(store, s.labels)
    if not (store.has("offers") and store.has("judgments")):
        missing = [t for t in ("offers", "judgments") if not store.has(t)]
        return Overview(
            None,
            None,
            None,
            agree,
            s.confidence,
            (f"levels skipped: no {' and no '.join(missing)} table",),
        )
    j = _judged_offers(store, s)
    agg = (
        j.group_by("relevant")
        .aggregate(
            offers=j.count(),
            purchases=j.purchased.cast("int64").sum(),
            engagements=j.engaged.cast("int64").sum(),
        )
        .to_pandas()
        .set_index("relevant")
    )

    def get(rel: bool, col: str) -> float:
        return float(agg.loc[rel, col]) if rel in agg.index else 0.0

    c = s.confidence
    pl = {
        k: Rate.of(get(r, "purchases"), get(r, "offers"), c)
        for k, r in (("relevant", True), ("irrelevant", False))
    }
    el = {
        k: Rate.of(get(r, "engagements"), get(r, "offers"), c)
        for k, r in (("relevant", True), ("irrelevant", False))
    }
    share = {
        col: Rate.of(get(False, col), get(False, col) + get(True, col), c, count_key="n")
        for col in ("purchases", "engagements")
    }
    return Overview(pl, el, share, agree, c)


@dataclass(frozen=True)
class DataSummary:
    """The contract's ``data`` block."""

    offers: int
    offers_judged: int
    queries: int
    products: int
    users: int
    quarantined: dict[str, int]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "offers": self.offers,
            "offers_judged": self.offers_judged,
            "queries": self.queries,
            "products": self.products,
            "users": self.users,
            "quarantined": dict(self.quarantined),
            "warnings": list(self.warnings),
        }


def data_summary(store: Any, settings: AnalysisSettings | None = None) -> DataSummary:
    """Counts of the accepted data; ``queries`` counts distinct normalised queries in offers
    (in judgments when there are no offers)."""
    s = settings or AnalysisSettings()
    products = int(store.table("products").count().execute())
    offers = judged = users = queries = 0
    if store.has("offers"):
        o = store.table("offers")
        row = o.aggregate(n=o.count(), users=o.user_id.nunique(), queries=o.query.nunique())
        n, users, queries = (int(v) for v in row.to_pandas().iloc[0])
        offers = n
        if store.has("judgments"):
            judged = int(_judged_offers(store, s).count().execute())
    elif store.has("judgments"):
        queries = int(store.table("judgments").query.nunique().execute())
    return DataSummary(
        offers,
        judged,
        queries,
        products,
        users,
        store.report.quarantined,
        tuple(store.report.warnings),
    )
