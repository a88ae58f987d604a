"""The "why" blocks of results.json: data, overview, hypotheses, examples, strategies, relations."""

from __future__ import annotations

from typing import Literal

from seemingly.contract import Outcome
from seemingly.results._base import Block, Interval, Keyed, Num

__all__ = [
    "DataBlock", "OverviewBlock", "HypothesesBlock", "Effect", "ExamplesBlock", "Example",
    "StrategiesBlock", "RelationsBlock", "Term", "Agreement", "LevelRate", "LevelPair",
    "ShareRate", "IrrelevantShare", "MeanCI", "EstimateCI", "AucCI", "GroupComparison",
    "SemanticRelation", "Lift", "CopurchaseRelation", "KCandidates", "OutcomeStrategies",
    "StrategyLevels",
]

Direction = Literal["+", "-", "0"]


# -- data, overview ----------------------------------------------------------------------------

class DataBlock(Block):
    """Counts of the accepted data, rows quarantined per table, and every warning of the run."""

    offers: int
    offers_judged: int
    queries: int
    products: int
    users: int
    quarantined: dict[str, int]
    warnings: list[str]


class LevelRate(Block):
    """A purchase or engagement level over ``offers`` offers, with its Wilson interval."""

    value: Num
    ci: Interval | None
    offers: int


class ShareRate(Block):
    """The share of ``n`` judged purchases (engagements) that went to irrelevant products."""

    value: Num
    ci: Interval | None
    n: int


class LevelPair(Block):
    relevant: LevelRate
    irrelevant: LevelRate


class IrrelevantShare(Block):
    purchases: ShareRate
    engagements: ShareRate


class Agreement(Block):
    """Krippendorff's alpha over items judged at least twice; ``reason`` says why it is null."""

    alpha: Num
    method: str
    n_items: int
    n_annotators: int
    n_judgments: int
    reason: str | None


class OverviewBlock(Block):
    """Levels of judged-relevant vs judged-irrelevant offers (null without offers or judgments)."""

    purchase_level: LevelPair | None
    engagement_level: LevelPair | None
    irrelevant_share: IrrelevantShare | None
    annotator_agreement: Agreement


# -- hypotheses --------------------------------------------------------------------------------

class CurvePoint(Block):
    """The rate of one bin of a factor (or one category), with its Wilson interval."""

    bin: str
    offers: int
    rate: Num
    ci: Interval


class Term(Block):
    """One model coefficient: log-odds estimate, interval, p-value and sign."""

    estimate: Num
    ci: Interval | None
    p_value: Num
    direction: Direction


class LengthTerm(Term):
    """The query-length answer: the weaker of ``short`` and ``long`` vs medium queries."""

    short: Term | None
    long: Term | None


class BrandEffect(Term):
    """Personal history with brand history in place of product history."""

    unit: str
    curve: list[CurvePoint]
    curve_relevant: list[CurvePoint]


class ModelInfo(Block):
    """What the multivariable model left out, and its size."""

    categories_dropped: list[str]
    offers_dropped: int | None = None
    terms_dropped: list[str]
    category_reference: str | None = None
    patterns: int
    offers: int
    queries: int


class CategoryRate(Block):
    offers: int
    rate: Num
    ci: Interval


class EstimateCI(Block):
    estimate: Num
    ci: Interval | None


class CategoryRow(Block):
    """One category: irrelevant and relevant offers' rates and the tolerance estimate."""

    category: str
    irrelevant: CategoryRate
    relevant: CategoryRate
    ratio: Num
    log_odds_ratio: EstimateCI | None = None


class Heterogeneity(Block):
    statistic: Num
    df: int
    p_value: Num


class Contrast(Block):
    """Mean tolerance of the flexible categories minus that of the strict ones."""

    flexible: list[str]
    strict: list[str]
    estimate: Num
    ci: Interval | None
    p_value: Num
    direction: Direction


class Adjusted(Heterogeneity):
    """Category effects once every factor is held fixed, with their joint Wald test."""

    effects: dict[str, Num]


class Excluded(Block):
    """Which offers the hypothesis models left out, and the rule."""

    rule: str
    offers: int | None
    unjudged_offers: int | None
    judged_relevant: int
    judged_irrelevant: int
    irrelevant_no_relevant_product: int
    irrelevant_no_price_ratio: int
    irrelevant_in_model: int


class Effect(Block):
    """One hypothesis on one outcome. The keys after ``curve`` depend on the hypothesis:
    ``univariate``/``model`` (factors), ``brand`` (personal history), ``short``/``long``
    (query length), ``categories``/``heterogeneity``/``contrast``/``adjusted`` (category)."""

    estimate: Num
    ci: Interval | None
    p_value: Num
    p_adjusted: Num
    supported: bool
    direction: Direction
    unit: str
    curve: list[CurvePoint]
    short: Term | None = None
    long: Term | None = None
    categories: list[CategoryRow] | None = None
    heterogeneity: Heterogeneity | None = None
    contrast: Contrast | None = None
    adjusted: Adjusted | None = None
    univariate: LengthTerm | Term | None = None
    model: ModelInfo | None = None
    brand: BrandEffect | None = None
    warnings: list[str] | None = None
    curve_relevant: list[CurvePoint] | None = None
    excluded: Excluded | None = None
    expected_direction: Direction | None = None


class HypothesesBlock(Keyed[str, dict[Outcome, Effect]]):
    """hypothesis name -> outcome -> :class:`Effect` (names are the hypotheses registry's)."""


# -- examples ----------------------------------------------------------------------------------

class Example(Block):
    """A judged-irrelevant (query, product) pair customers bought (engaged with) often."""

    query: str
    product_id: str
    title: str | None
    category: str | None
    price: Num
    offers: int
    purchases: int
    engagements: int
    purchase_level: Num
    engagement_level: Num
    relevant_titles: list[str] | None = None


class ExamplesBlock(Keyed[Outcome, list[Example]]):
    """outcome -> the top judged-irrelevant pairs, most bought (engaged with) first."""


# -- strategies --------------------------------------------------------------------------------

class StrategyLevels(Block):
    """Each strategy's mean level over queries divided by Optimal's (so optimal = 1), with
    query-bootstrap intervals per strategy."""

    optimal: Num
    relevant: Num
    irrelevant: Num
    random: Num
    worst: Num
    n_queries: int
    ci: dict[str, Interval]


class KCandidates(StrategyLevels):
    """The strategies over every eligible candidate of a query (not only the pair)."""

    mean_candidates: Num


class OutcomeStrategies(StrategyLevels):
    """The strategies over one relevant and one irrelevant candidate per query, and over all."""

    k_candidates: KCandidates


class StrategiesBlock(Block):
    purchase: OutcomeStrategies
    engagement: OutcomeStrategies
    min_offers: int


# -- relations ---------------------------------------------------------------------------------

class MeanCI(Block):
    mean: Num
    ci: Interval | None
    n_queries: int


class AucCI(EstimateCI):
    n_boot: int


class GroupComparison(Block):
    """Relevant vs irrelevant products' mean of a measure over queries, and its AUC."""

    n_queries: int
    n_products: int
    n_queries_without_comparison: int
    relevant: MeanCI | None
    irrelevant: MeanCI | None
    difference: EstimateCI | None
    auc_within_query: EstimateCI | None
    auc: AucCI | None
    measure: str


class SemanticRelation(GroupComparison):
    backend: str
    by_mean: GroupComparison


class Lift(Block):
    mean: Num
    quantiles: dict[str, Num]
    prior: float


class CopurchaseRelation(Block):
    baskets: int
    baskets_with_two_or_more: int
    mean_basket_size: Num
    products: int
    pairs: int
    share_pairs_bought_together_twice_or_more: Num
    share_pairs_plain_lift_above_1: Num
    lift: Lift
    basket: str
    relevant_vs_irrelevant: GroupComparison | None


class RelationsBlock(Block):
    """Semantic and co-purchase relations; a part that could not run is null, ``skipped``
    says why."""

    semantic: SemanticRelation | None
    copurchase: CopurchaseRelation | None
    skipped: dict[str, str]
