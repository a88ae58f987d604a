"""Test the WSDM 2020 hypotheses on why customers buy or engage with irrelevant products.

``fit_hypotheses(store, settings)`` computes every factor per judged offer in the engine
(:mod:`seemingly.explain.factors`), aggregates the offers to covariate patterns per query
(:mod:`.patterns`), and from that small frame fits, for purchases and for engagements:

- the univariate curve (binned rate among irrelevant offers, Wilson intervals) and the same
  curve among relevant offers as the contrast;
- a multivariable logit among irrelevant offers (all factors + category fixed effects,
  standard errors clustered by query) and a univariate logit per factor;
- per-category tolerance (log odds ratio irrelevant vs relevant) and a heterogeneity test;
- Holm's step-down over the 14 multivariable p-values (7 hypotheses x 2 outcomes).

A hypothesis is ``supported`` on an outcome when its multivariable estimate has the paper's
direction and its Holm-adjusted p-value is below ``settings.hypotheses.alpha``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seemingly.config import AnalysisSettings
from seemingly.explain.hypotheses.core import HypothesesResult, analyze_patterns
from seemingly.explain.hypotheses.patterns import pattern_frame

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["fit_hypotheses", "HypothesesResult"]


def fit_hypotheses(store: StoreLike, settings: AnalysisSettings | None = None) -> HypothesesResult:
    """Run every hypothesis test on a store; ``.to_dict()`` is the results.json block.

    Parameters
    ----------
    store : ``seemingly.store.StoreLike`` with products, offers, judgments (orders optional).
    settings : analysis settings (``settings.hypotheses`` for bins, rounding, exclusions).

    Examples
    --------
    >>> from seemingly.explain import hypotheses  # doctest: +SKIP
    >>> hypotheses.fit_hypotheses(store).supported()["price"]  # doctest: +SKIP
    {'purchase': True, 'engagement': True}
    """
    from seemingly.explain.factors import offer_factor_table

    settings = settings or AnalysisSettings()
    ft = offer_factor_table(store, settings, cells=True)
    patterns = pattern_frame(ft.table, settings.hypotheses)
    n_offers = int(store.table("offers").count().execute())
    return analyze_patterns(patterns, settings=settings, n_offers=n_offers, warnings=ft.warnings)

