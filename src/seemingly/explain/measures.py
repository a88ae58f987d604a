"""Purchase and engagement levels with Wilson intervals, per (query, product) and overall.

PL(q, p) = purchases / offers and EL(q, p) = engagements / offers (contract definitions). The
per-pair table stays an Ibis expression; only the few overview aggregates leave the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from seemingly.config import AnalysisSettings
from seemingly.explain.intervals import wilson, wilson_expr
from seemingly.explain.labels import agreement, relevance
from seemingly.results.explain import (
    DataBlock,
    IrrelevantShare,
    LevelPair,
    LevelRate,
    OverviewBlock,
    ShareRate,
)

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["levels", "overview", "data_summary"]


def levels(store: StoreLike, settings: AnalysisSettings | None = None) -> ir.Table:
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
    pl_lo, pl_hi = wilson_expr(g.purchases, g.offers, s.confidence)
    el_lo, el_hi = wilson_expr(g.engagements, g.offers, s.confidence)
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


def _level(x: float, n: float, confidence: float) -> LevelRate:
    """``x`` of ``n`` offers as a level with its Wilson interval (null without offers)."""
    if n <= 0:
        return LevelRate(value=None, ci=None, offers=0)
    lo, hi = wilson(x, n, confidence)
    return LevelRate(value=float(x / n), ci=(float(lo), float(hi)), offers=int(n))


def _share(x: float, n: float, confidence: float) -> ShareRate:
    """``x`` of ``n`` judged purchases (engagements) as a share with its Wilson interval."""
    level = _level(x, n, confidence)
    return ShareRate(value=level.value, ci=level.ci, n=level.offers)


def _judged_offers(store: StoreLike, s: AnalysisSettings) -> ir.Table:
    o = store.table("offers")
    rel = relevance(store, s.labels).select("query", "product_id", "relevant")
    return o.inner_join(rel, ["query", "product_id"])


def overview(store: StoreLike, settings: AnalysisSettings | None = None) -> OverviewBlock:
    """The ``overview`` block: PL and EL of judged-relevant vs judged-irrelevant offers, the
    share of judged purchases and engagements that went to irrelevant products, and annotator
    agreement. Levels are null when the data has no offers or no judgments."""
    s = settings or AnalysisSettings()
    agree = agreement(store, s.labels)
    if not (store.has("offers") and store.has("judgments")):
        return OverviewBlock(purchase_level=None, engagement_level=None, irrelevant_share=None,
                             annotator_agreement=agree)
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

    def pair(col: str) -> LevelPair:
        return LevelPair(relevant=_level(get(True, col), get(True, "offers"), c),
                         irrelevant=_level(get(False, col), get(False, "offers"), c))

    def share(col: str) -> ShareRate:
        return _share(get(False, col), get(False, col) + get(True, col), c)

    return OverviewBlock(
        purchase_level=pair("purchases"), engagement_level=pair("engagements"),
        irrelevant_share=IrrelevantShare(purchases=share("purchases"),
                                         engagements=share("engagements")),
        annotator_agreement=agree)


def data_summary(store: StoreLike, settings: AnalysisSettings | None = None,
                 warnings: tuple[str, ...] = ()) -> DataBlock:
    """The ``data`` block: counts of the accepted data (``queries`` counts distinct normalised
    queries in offers, in judgments when there are no offers), rows quarantined per table, and
    the ingest's warnings followed by ``warnings`` (what the other stages skipped, and why)."""
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
    return DataBlock(
        offers=offers, offers_judged=judged, queries=queries, products=products, users=users,
        quarantined=dict(store.report.quarantined),
        warnings=[*store.report.warnings, *warnings],
    )
