"""The ``labels`` block of results.json: label quality, the re-judging queue and how much of
"irrelevant" is annotation error."""

from __future__ import annotations

from typing import Literal

from seemingly.results._base import Block, Interval, Num

__all__ = ["LabelsBlock", "MislabelledShare", "ShareCI", "AnnotatorQuality",
           "CategoryAgreement", "RejudgeRow", "Verdict"]

Aggregation = Literal["majority", "dawid_skene", "mace"]


class ShareCI(Block):
    """A share with its interval (posterior draws of every pair's label)."""

    value: Num
    ci: Interval | None


class MislabelledShare(Block):
    """Share of the purchases (engagements) of judged-irrelevant offers that fall on pairs
    whose label is likely wrong (truly relevant)."""

    purchases: ShareCI
    engagements: ShareCI


class AnnotatorQuality(Block):
    """One annotator under the aggregation: ``confusion[c][l] = P(vote l | true class c)``
    (class 0 irrelevant, 1 relevant) and accuracy weighted by the class prior."""

    annotator_id: str
    judgments: int
    accuracy: Num
    confusion: list[list[float]]


class CategoryAgreement(Block):
    """Krippendorff's alpha among items of one product category judged twice or more."""

    alpha: Num
    n_items: int


class RejudgeRow(Block):
    """One pair of a re-judging queue and its evidence. ``posterior_wrong``: P(the label is
    wrong) under the joint model; ``votes_posterior``: P(relevant) from the votes alone
    (Dawid–Skene); ``behaviour_llr`` / ``score_llr``: log likelihood ratios relevant :
    irrelevant of the behaviour and of the cross-fitted relevance score (null without one);
    ``delta_*``: how the overview's numbers move if this label alone is flipped."""

    query: str
    product_id: str
    title: str | None
    label: Literal["relevant", "irrelevant"]
    posterior_wrong: float
    n_judgments: int
    relevant_votes: int
    votes_posterior: float
    offers: int
    purchases: int
    engagements: int
    purchase_level: Num
    query_relevant_purchase_level: Num
    behaviour_llr: Num
    model_score: Num
    score_llr: Num
    delta_irrelevant_share_purchases: Num
    delta_irrelevant_share_engagements: Num
    delta_irrelevant_purchase_level: Num


class Verdict(Block):
    """One hypothesis on one outcome with the analysis's labels and with the corrected ones
    (labels flipped where ``posterior_wrong > wrong_at``)."""

    hypothesis: str
    outcome: Literal["purchase", "engagement"]
    estimate: Num
    direction: Literal["+", "-", "0"]
    supported: bool
    corrected_estimate: Num
    corrected_direction: Literal["+", "-", "0"] | None
    corrected_supported: bool | None


class LabelsBlock(Block):
    """How much the labels distort the picture, which annotators to trust and which pairs
    to judge again. ``queue`` holds the judged-irrelevant pairs most likely to be relevant,
    ``reverse_queue`` the judged-relevant pairs most likely irrelevant (customers avoid
    them), each sorted by ``posterior_wrong`` descending and cut at ``rejudge_rows``."""

    aggregation: Aggregation
    model_score: bool
    n_pairs: int
    n_judged_irrelevant: int
    n_likely_wrong: int
    expected_wrong: float
    wrong_at: float
    mislabelled_share: MislabelledShare | None
    annotators: list[AnnotatorQuality]
    agreement_by_category: dict[str, CategoryAgreement]
    queue: list[RejudgeRow]
    reverse_queue: list[RejudgeRow]
    verdicts: list[Verdict] | None = None
    warnings: list[str] | None = None
