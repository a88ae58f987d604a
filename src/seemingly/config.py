"""One typed settings object per concern (pydantic), built by the caller, never at import time."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from seemingly.text import Language

__all__ = [
    "ModelSettings", "LabelSettings", "HypothesisSettings", "AnalysisSettings", "IngestSettings"
]


class LabelSettings(BaseModel):
    """How raw judgment labels become relevant / not relevant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relevant_at: float = Field(1.0, description="numeric grades >= this are relevant")
    esci_relevant: tuple[str, ...] = Field(("E",), description="ESCI letters read as relevant")
    tie: Literal["not_relevant", "relevant"] = "not_relevant"
    aggregation: Literal["majority", "dawid_skene", "mace"] = Field(
        "majority",
        description="how several judgments of a pair become one label: majority of the votes "
        "(ties by `tie`), or P(relevant) > 0.5 under Dawid-Skene or MACE (annotator models)",
    )
    wrong_at: float = Field(
        0.5, gt=0, lt=1,
        description="re-judging queue: a label is 'likely wrong' (and flipped in the corrected "
        "hypotheses) when the posterior that it is wrong exceeds this",
    )
    rejudge_folds: int = Field(
        5, ge=2, le=20, description="query folds of the cross-fitted relevance score"
    )
    rejudge_rows: int = Field(
        500, ge=0, description="rows of each re-judging queue kept in results.json / tables"
    )
    n_draws: int = Field(
        2000, ge=100, description="posterior draws for the mislabelled-share interval"
    )


class HypothesisSettings(BaseModel):
    """Knobs of the hypothesis tests (issue 4); every exclusion rule is one of these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    short_max: int = Field(default=2, ge=1, description="<= this many tokens: 'short' query")
    long_min: int = Field(default=6, ge=2, description=">= this many tokens: 'long' query")
    min_relevant_priced: int = Field(
        default=1, ge=1, description="priced judged-relevant products a query needs (price factor)"
    )
    copurchase_basket: Literal["order", "user_window"] = Field(
        default="order", description="bought together: in one order, or in one user's window"
    )
    copurchase_window_days: float = Field(
        default=30.0, gt=0, description="per-user tumbling window (basket='user_window')"
    )
    semantic_backend: Literal["tfidf", "embeddings"] = "tfidf"
    alpha: float = Field(default=0.05, gt=0, lt=1, description="family-wise level (Holm)")
    curve_bins: int = Field(default=8, ge=2, le=50, description="quantile bins per curve")
    # Continuous factors are rounded to these steps before offers are aggregated to covariate
    # patterns; the steps are far below each factor's spread, so the fit barely moves.
    round_popularity: float = Field(default=0.5, gt=0, description="percentile points (curves)")
    round_popularity_log2: float = Field(default=0.01, gt=0, description="log2(1 + purchases)")
    round_price: float = Field(default=0.02, gt=0, description="log2 price ratio")
    round_semantic: float = Field(default=0.005, gt=0, description="cosine similarity")
    round_copurchase: float = Field(default=0.02, gt=0, description="log2(1 + lift)")
    flexible_categories: tuple[str, ...] = Field(default=("toys", "digital"))
    strict_categories: tuple[str, ...] = Field(default=("beauty", "grocery"))


class ModelSettings(BaseModel):
    """Models, fusion trade-off and joint model (seemingly.ranking.models and .tradeoff)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_split: float = Field(
        0.5, gt=0, lt=1,
        description="offer-time quantile: statistics before, labels after",
    )
    test_fraction: float = Field(
        0.3, gt=0, lt=1,
        description="share of queries held out (single split)",
    )
    eval_folds: int = Field(
        3, ge=1,
        description="trade-off: K-fold over queries (1 = single split)",
    )
    normalization: Literal["min-max", "z-score", "rank"] = "min-max"
    weight_step: float = Field(0.05, gt=0, le=1, description="relevance weight grid step")
    ndcg_k: int = Field(10, ge=1)
    aggregation: Literal["linear", "stochastic"] = "linear"
    replicates: int = Field(4, ge=1, description="stochastic aggregation: draws per query")
    stack_scores: bool = Field(True, description="joint model also sees cross-fitted model scores")
    label_prior: float = Field(
        10.0, ge=0,
        description="pseudo-offers shrinking joint labels to the cross-fitted outcome",
    )
    # 100 trees at 0.1 score as 200 at 0.05 did on the default world (relevance AUC 0.9593
    # vs 0.9596, purchase log-loss 0.3899 vs 0.3895) and halve the service's predict time
    n_estimators: int = Field(100, ge=1)
    learning_rate: float = Field(0.1, gt=0)
    joint_n_estimators: int = Field(100, ge=1)
    joint_learning_rate: float = Field(0.1, gt=0)
    n_boot: int = Field(1000, ge=0)
    # docs/joint-vs-fusion.md: the joint model does not beat fusion on the default world and
    # cost most of the study's time, so it runs only when asked for (`seemingly study --joint`)
    joint: bool = Field(False, description="trade-off: also fit the joint model per weight")
    ablation: bool = Field(
        True, description="trade-off: crude and leave-one-factor-group-out feature sets",
    )
    n_jobs: int = Field(2, ge=1, description="threads for the trade-off's model fits")
    strategy_min_offers: int | None = Field(
        None, ge=1,
        description="strategies: offers per candidate (default min_offers)",
    )


class AnalysisSettings(BaseModel):
    """Knobs of the analysis; defaults are the documented ones (``seemingly config`` prints
    them as TOML, ``seemingly.cli.config_file.load_settings`` reads such a file back).

    Examples
    --------
    >>> s = AnalysisSettings(seed=3, language="spanish")
    >>> s.models.window_split, s.labels.relevant_at
    (0.5, 1.0)
    >>> AnalysisSettings.model_validate({"hypotheses": {"short_max": 3}}).hypotheses.short_max
    3
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    labels: LabelSettings = LabelSettings()
    min_offers: int = Field(
        5, ge=1, description="offers a (query, product) pair needs to be used as a level"
    )
    confidence: float = Field(0.95, gt=0, lt=1)
    seed: int = 7
    language: Language = Field(
        "english", description="language of titles and queries: picks the Snowball stemmer of "
        "the ranking features (seemingly.text); a converter's dataset.json may set it")
    hypotheses: HypothesisSettings = HypothesisSettings()
    models: ModelSettings = ModelSettings()


class IngestSettings(BaseModel):
    """Resource limits for the DuckDB engine while ingesting.

    ``memory_limit`` None: seemingly's default (``store.default_memory_limit``: 4 GB, or half
    the RAM of a smaller machine); ``threads`` None: DuckDB's default (one per core). DuckDB
    spills beyond the limit to a temp folder beside the store, removed after the ingest.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory_limit: str | None = Field(default=None, description="e.g. '4GB'")
    threads: int | None = Field(default=None, ge=1)
    # Epoch-zero and year-1 timestamps are almost always a lost value, not a real event.
    earliest_timestamp: date = Field(
        default=date(2000, 1, 1), description="timestamps before this day are quarantined"
    )
