"""The ``off_policy`` block: the strategy table's and the fusion frontier's rankers, their
purchase and engagement level@1 estimated from ranked-list logs with IPS, SNIPS and DR.

On ranked lists the per-(query, product) levels behind the strategy table and the frontier
mix positions: a product shown low is examined less, so its level understates what it
would reach first. Here every ranker is instead a target policy for position 1 and is
evaluated on the requests' logged position-1 offers with their logged propensities
(:mod:`seemingly.explain.offpolicy`); the direct method of DR is the outcome model the
trade-off trained (its predicted level of the ranker's pick). Values are rates per request.

- Strategies: every query of the pair table, all its logged requests.
- Frontier: the held-out queries of the evaluation (every query when ``eval_folds > 1``),
  their requests in the label window (the window the frontier's levels come from).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from seemingly.contract import OUTCOME_COUNTS, Outcome
from seemingly.explain.offpolicy import (
    OffPolicyValue,
    cells_for,
    has_ranked_logs,
    off_policy_values,
    position_one_cells,
)
from seemingly.explain.strategies import STRATEGIES, strategy_targets
from seemingly.ranking.features import FEATURE_NAMES
from seemingly.results.offpolicy import (
    STRATEGY_PREFIX,
    ObjectiveOffPolicy,
    OffPolicyBlock,
    RankerEstimates,
    fusion_ranker,
)

if TYPE_CHECKING:
    from seemingly.ranking.models.data import ModelData
    from seemingly.ranking.models.training import TrainedModels
    from seemingly.ranking.tradeoff.run import TradeoffResult
    from seemingly.store import StoreLike

__all__ = ["evaluate_targets", "frontier_off_policy", "strategies_off_policy",
           "off_policy_block"]


def evaluate_targets(cells: pd.DataFrame, targets: pd.DataFrame, rankers: list[str],
                     outcome: str, *, n_boot: int = 1000, seed: int = 7,
                     confidence: float = 0.95) -> dict[str, OffPolicyValue]:
    """IPS, SNIPS and DR of target rankers on position-1 ``cells`` (from
    :func:`~seemingly.explain.offpolicy.position_one_cells`).

    ``targets``: one row per (query, product_id) a ranker may put first, a column per ranker
    with its probability, and ``reward_hat`` (the outcome model's level of the product). A
    ranker's queries are those of ``targets``; every logged request of them counts.
    """
    dup = targets.duplicated(["query", "product_id"])
    if dup.any():
        row = targets[dup].iloc[0]
        raise ValueError(f"targets: (query {row['query']!r}, product_id {row['product_id']!r}) "
                         "appears twice; give one row per product a ranker may put first")
    queries = pd.Index(sorted(targets["query"].unique()))
    lc = cells_for(cells, queries, outcome)
    sub = cells[cells["query"].isin(queries)][["query", "product_id"]]
    joined = sub.merge(targets, on=["query", "product_id"], how="left")
    codes = queries.get_indexer(pd.Index(targets["query"]))
    hat = targets["reward_hat"].to_numpy(float)
    pi = targets[rankers].to_numpy(float)
    dm = np.column_stack([np.bincount(codes, weights=pi[:, r] * hat, minlength=len(queries))
                          for r in range(len(rankers))])
    return off_policy_values(
        lc, joined[rankers].fillna(0.0).to_numpy(float), rankers,
        reward_hat=joined["reward_hat"].fillna(0.0).to_numpy(float), dm=dm,
        n_boot=n_boot, seed=seed, confidence=confidence)


def strategies_off_policy(levels: pd.DataFrame, cells: pd.DataFrame,
                          reward_hat: pd.DataFrame, outcome: Outcome, *, min_offers: int,
                          n_boot: int = 1000, seed: int = 7, confidence: float = 0.95
                          ) -> dict[str, OffPolicyValue]:
    """The pair strategies (:func:`~seemingly.explain.strategies.strategy_targets`) as target
    rankers; ``reward_hat``: query, product_id and the outcome model's level per outcome."""
    t = strategy_targets(levels, outcome, min_offers=min_offers)
    if t.empty:
        return {}
    t = t.merge(reward_hat[["query", "product_id", outcome]], on=["query", "product_id"],
                how="left").rename(columns={outcome: "reward_hat"})
    t["reward_hat"] = t["reward_hat"].fillna(0.0)
    vals = evaluate_targets(cells, t, list(STRATEGIES), outcome, n_boot=n_boot, seed=seed,
                            confidence=confidence)
    return {f"{STRATEGY_PREFIX}{k}": v for k, v in vals.items()}


def frontier_off_policy(picks: pd.DataFrame, cells: pd.DataFrame, outcome: str, *,
                        n_boot: int = 1000, seed: int = 7, confidence: float = 0.95
                        ) -> dict[str, OffPolicyValue]:
    """Every fusion weight's first products (``ObjectiveTradeoff.fusion_picks``) as a
    deterministic target ranker."""
    wide = picks.assign(pick=1.0).pivot_table(index=["query", "product_id"], columns="weight",
                                              values="pick", aggfunc="max", fill_value=0.0)
    hat = picks.groupby(["query", "product_id"])["outcome_score"].first()
    weights = sorted(picks["weight"].unique())
    names = [fusion_ranker(w) for w in weights]
    t = pd.DataFrame(wide[weights].to_numpy(float), columns=names, index=wide.index)
    t = t.assign(reward_hat=hat.reindex(t.index).to_numpy(float)).reset_index()
    return evaluate_targets(cells, t, names, outcome, n_boot=n_boot, seed=seed,
                            confidence=confidence)


def _block(values: dict[str, dict[str, OffPolicyValue]]) -> OffPolicyBlock:
    return OffPolicyBlock.model_validate({
        objective: ObjectiveOffPolicy.model_validate(
            {r: RankerEstimates.model_validate(v.to_block()) for r, v in rankers.items()})
        for objective, rankers in values.items()})


def off_policy_block(store: StoreLike, settings: Any, data: ModelData,
                     trained: TrainedModels, result: TradeoffResult | None
                     ) -> OffPolicyBlock | None:
    """The ``off_policy`` block, or None when the offers are not ranked lists with logged
    propensities (voice logs: the results stay as they were)."""
    from seemingly.explain.measures import levels as measure_levels

    if not has_ranked_logs(store):
        return None
    m = settings.models
    boot = {"n_boot": m.n_boot, "seed": settings.seed, "confidence": settings.confidence}
    lv = measure_levels(store, settings).select(
        "query", "product_id", "offers", "purchases", "engagements", "relevant").to_pandas()
    c = data.candidates
    feats = c[list(FEATURE_NAMES)]
    hat = c[["query", "product_id"]].assign(
        **{o: trained.models[o].predict(feats) for o in OUTCOME_COUNTS})
    all_cells = position_one_cells(store)
    label_cells = position_one_cells(store, since=data.cutoff.to_pydatetime())
    min_offers = m.strategy_min_offers or settings.min_offers
    values: dict[str, dict[str, OffPolicyValue]] = {}
    for objective in OUTCOME_COUNTS:
        values[objective] = strategies_off_policy(lv, all_cells, hat, objective,
                                                  min_offers=min_offers, **boot)
        ot = getattr(result, objective, None) if result is not None else None
        if ot is not None and ot.fusion_picks is not None and len(ot.fusion_picks):
            values[objective].update(frontier_off_policy(ot.fusion_picks, label_cells,
                                                         objective, **boot))
    return _block(values)
