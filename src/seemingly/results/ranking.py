"""The "act" blocks of results.json: the trade-off and the saved models."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from seemingly.results._base import Block, Interval, Keyed, Metric, Num

__all__ = [
    "TradeoffBlock", "ObjectiveTradeoff", "TradeoffPoint", "Dominance", "TradeoffSettings",
    "AblationBlock", "ObjectiveAblation", "AblationVariant", "ModelsBlock", "ModelEntry",
]


class TradeoffPoint(Block):
    """One relevance weight of a sweep: held-out relevance@1, level@1 and NDCG@k.

    The level key names the objective (``purchase_level_at_1`` or ``engagement_level_at_1``);
    exactly one is present.
    """

    weight: float
    relevance_at_1: Num
    purchase_level_at_1: Num = None
    engagement_level_at_1: Num = None
    ndcg_at_k: Num
    on_frontier: bool

    @model_validator(mode="after")
    def _one_level(self) -> TradeoffPoint:
        levels = {"purchase_level_at_1", "engagement_level_at_1"} & self.model_fields_set
        if len(levels) != 1:
            raise ValueError("a trade-off point has exactly one of purchase_level_at_1 and "
                             f"engagement_level_at_1; got {sorted(levels) or 'neither'}")
        return self

    @property
    def level_at_1(self) -> float | None:
        """The objective's level@1, whichever objective the point belongs to."""
        if "purchase_level_at_1" in self.model_fields_set:
            return self.purchase_level_at_1
        return self.engagement_level_at_1


class Dominance(Block):
    """Joint vs fusion frontier: hypervolumes, their paired bootstrap difference, dominance."""

    fusion_hypervolume: Num
    joint_hypervolume: Num
    difference: Num
    difference_ci: Interval
    share_fusion_points_dominated: Num
    share_joint_points_dominated: Num
    reference_point: tuple[float, float]
    n_queries: int
    n_boot: int


class ObjectiveTradeoff(Block):
    """One objective's fusion sweep; ``joint`` and ``dominance`` only when the joint model
    ran (``seemingly study --joint``)."""

    fusion: list[TradeoffPoint]
    joint: list[TradeoffPoint] | None = None
    dominance: Dominance | None = None
    k: int


class TradeoffSettings(Block):
    """The evaluation settings the trade-off ran with."""

    min_offers: int
    normalization: str
    k: int
    aggregation: str
    replicates: int
    stack_scores: bool
    folds: int
    seed: int
    label_prior: float
    joint_objective: str
    eval_folds: int
    step: float
    n_boot: int
    joint_features: Literal["factors + cross-fitted model scores", "factors"]
    joint: bool = False


class AblationVariant(Block):
    """One feature set's fusion frontier, compared with the full (factor-aware) set's on the
    same held-out queries.

    ``difference`` is the full frontier's hypervolume minus this one's (what the features the
    variant leaves out buy; 0 for ``full``), ``difference_ci`` its paired percentile bootstrap
    over queries. ``level_gain`` is the full frontier's level@1 minus this one's at equal
    relevance@1, read at ``at_relevance``: the highest relevance@1 both frontiers reach
    (between frontier points the level is interpolated linearly, as mixing the two rankings
    would give). The intervals resample held-out queries with the fitted models held fixed:
    the models' own fitting noise is not in them.
    """

    features: list[str]
    dropped: list[str]
    hypervolume: Num
    difference: Num
    difference_ci: Interval
    level_gain: Num
    level_gain_ci: Interval
    at_relevance: Num
    frontier: list[TradeoffPoint]


class ObjectiveAblation(Keyed[str, AblationVariant]):
    """variant ("full", "crude", "without_<group>") -> :class:`AblationVariant`."""


class AblationBlock(Block):
    """Crude (text match only) vs factor-aware features, and each factor group left out.

    ``groups`` names the features of each factor group; ``text_match`` the crude set.
    """

    purchase: ObjectiveAblation
    engagement: ObjectiveAblation
    groups: dict[str, list[str]]
    text_match: list[str]
    n_boot: int


class TradeoffBlock(Block):
    """Fusion sweep per objective on held-out queries, the factor ablation, and (optional)
    the joint model compared with fusion."""

    purchase: ObjectiveTradeoff
    engagement: ObjectiveTradeoff
    settings: TradeoffSettings
    ablation: AblationBlock | None = None


class ModelEntry(Block):
    """One saved model: held-out metrics, gain importances, and its file in ``out/models``.

    ``sha256`` equals the model directory manifest's ``files`` entry for ``file``; both are
    absent when the models were evaluated but not saved (``seemingly tradeoff``).
    """

    metrics: dict[str, Metric]
    feature_importance: dict[str, Num]
    file: str | None = None
    sha256: str | None = None


class ModelsBlock(Keyed[str, ModelEntry]):
    """model name ("relevance", "purchase", "engagement") -> :class:`ModelEntry`."""
