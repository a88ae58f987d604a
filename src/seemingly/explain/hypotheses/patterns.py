"""Aggregate judged offers to covariate patterns inside the engine: the only frame that leaves it.

A pattern is one query plus one value of every model column; continuous factors are rounded
first (steps in ``HypothesisSettings.round_*``: 0.5 percentile points of popularity, 0.01 in
log2(1 + purchases), 0.02 in
log2 price ratio, 0.005 cosine, 0.02 in log2(1 + lift)). The steps are tiny next to each factor's
spread, so the rounding moves the fitted coefficients far less than their standard errors,
while offers of one (query, product, history) combination collapse into one row: the frame is
roughly (judged query-product pairs) x (purchased or not) x (history states), well below the
number of offers (374k patterns for 10M simulated offers).

Coarser rounding is not used: the fits take a few seconds on that frame once
the linear algebra runs single-threaded (see ``stats.fit_clustered_logit``), and each pattern
is mostly a distinct (query, product), which no rounding step below a factor's spread merges.
"""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd
from ibis import _

from seemingly.config import HypothesisSettings

__all__ = ["pattern_frame", "PATTERN_KEYS"]

PATTERN_KEYS = (
    "query", "relevant", "category", "length_bin", "popularity", "popularity_log2", "price_ratio",
    "semantic",
    "copurchase", "history", "history_brand",
)


def _round(col: ir.FloatingValue, step: float) -> ir.FloatingValue:
    return (col / step).round().cast("float64") * step


def pattern_frame(factors: ir.Table, settings: HypothesisSettings) -> pd.DataFrame:
    """Patterns with ``offers``, ``purchases`` and ``engagements`` counts (a pandas frame).

    Parameters
    ----------
    factors : the table of :func:`seemingly.explain.factors.offer_factors` (one row per offer),
        or its offer cells (``cells=True``: rows already carrying ``offers``, ``purchases`` and
        ``engagements`` counts); both give the same frame.
    settings : rounding steps.
    """
    weighted = "offers" in factors.columns
    counts = ("offers", "purchases", "engagements") if weighted else ("purchased", "engaged")
    # inverse-examination-weighted outcomes (factors built with position_weights)
    ipw = tuple(c for c in ("purchases_ipw", "engagements_ipw") if c in factors.columns)
    counts = (*counts, *ipw)
    rounded = factors.select(
        "query",
        "relevant",
        "category",
        "length_bin",
        "history",
        "history_brand",
        *counts,
        popularity=_round(_.popularity, settings.round_popularity),
        popularity_log2=_round(_.popularity_log2, settings.round_popularity_log2),
        price_ratio=_round(_.price_ratio, settings.round_price),
        semantic=_round(_.semantic, settings.round_semantic),
        copurchase=_round(_.copurchase, settings.round_copurchase),
    )
    sums = {c: rounded[c].sum() for c in ipw}
    if weighted:
        agg = rounded.group_by(list(PATTERN_KEYS)).agg(
            offers=_.offers.sum(), purchases=_.purchases.sum(), engagements=_.engagements.sum(),
            **sums,
        )
    else:
        agg = rounded.group_by(list(PATTERN_KEYS)).agg(
            offers=_.count(), purchases=_.purchased.sum(), engagements=_.engaged.sum(), **sums
        )
    # Through Arrow: its text columns arrive dictionary-encoded as pandas categoricals, and no
    # Python string is made per row (the frame has hundreds of thousands of patterns).
    frame = agg.to_pyarrow().to_pandas(strings_to_categorical=True)
    frame["relevant"] = frame["relevant"].astype(bool)
    for col in ("offers", "purchases", "engagements", "history", "history_brand"):
        frame[col] = frame[col].astype("int64")
    for col in ("popularity", "popularity_log2", "price_ratio", "semantic", "copurchase", *ipw):
        frame[col] = frame[col].astype("float64")
    # Text keys as categoricals with sorted categories: every fit groups and compares them
    # many times, and codes make that an integer operation instead of a Python-string one;
    # sorted, their codes order rows as the strings do.
    for col in ("query", "category", "length_bin"):
        cats = frame[col].astype("category").cat
        frame[col] = cats.reorder_categories(sorted(cats.categories))
    # a stable row order makes every fit reproducible bit for bit
    return frame.sort_values(list(PATTERN_KEYS), na_position="last").reset_index(drop=True)
