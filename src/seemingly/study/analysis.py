"""Build the typed :class:`~seemingly.results.Results`: block builders run over one store.

Each builder takes a :class:`Context` and returns its typed block, or None to leave the block
out; a builder that cannot run (a table is missing) says why in ``ctx.warnings`` and
``ctx.skipped``. No block is edited after it is built: the ``data`` block is built last so it
carries every warning the other builders raised, and ``skipped`` is built from the context.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from seemingly.config import AnalysisSettings
from seemingly.results import (
    DataBlock,
    ExamplesBlock,
    HypothesesBlock,
    LabelsBlock,
    ModelsBlock,
    OffPolicyBlock,
    OverviewBlock,
    PositionBlock,
    RelationsBlock,
    Results,
    RunBlock,
    StrategiesBlock,
    TradeoffBlock,
)

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel

    from seemingly.ranking.models.data import ModelData
    from seemingly.ranking.models.training import TrainedModels
    from seemingly.ranking.tradeoff import TradeoffResult
    from seemingly.store import StoreLike

__all__ = ["analyze", "assemble", "BLOCKS", "Context"]


@dataclass
class Context:
    """What every block builder sees, and what the builders leave for each other.

    ``models_dir``: where the ``models`` builder saves the models (None: report their
    metrics only, save nothing). ``fitted``: the trade-off's models and the data they were
    fitted on, which the ``models`` builder saves (so the study trains once). ``built``: the
    blocks built so far (the ``labels`` builder sets its verdicts beside ``hypotheses``).
    """

    store: StoreLike
    settings: AnalysisSettings
    models_dir: Path | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # block -> why (Results.skipped)
    fitted: tuple[TrainedModels, ModelData] | None = None
    built: dict[str, BaseModel | None] = field(default_factory=dict)  # blocks built so far
    #: the trade-off's held-out candidates with their raw scores, per objective, and the
    #: weights swept: the study exports the fused rankings from them (tables/trec)
    rankings: tuple[dict[str, pd.DataFrame], list[float]] | None = None
    # the trade-off's result (its fusion picks), which the off_policy builder evaluates
    tradeoff_result: TradeoffResult | None = None
    # blocks one builder makes for another to return (position -> overview_corrected)
    made: dict[str, BaseModel] = field(default_factory=dict)
    #: blocks computed beside another stage (labels beside the trade-off's fits): the
    #: block's builder takes the result, or the exception, from here
    beside: dict[str, Future[tuple[LabelsBlock, list[str]]]] = field(default_factory=dict)

    def require(self, block: str, *tables: str) -> bool:
        """True when the store has ``tables``; otherwise record why ``block`` is skipped."""
        missing = [t for t in tables if not self.store.has(t)]
        if missing:
            self.warnings.append(
                f"{block}: skipped, the data has no {' and no '.join(missing)} table "
                f"(add {', '.join(m + '.parquet' for m in missing)} to analyse it)"
            )
            self.skipped.setdefault(block, _skip_reason(missing))
        return not missing


# What each missing table rules out, for Results.skipped (the report shows it).
_NEEDED_FOR = {
    "offers": "purchases and engagements are needed",
    "judgments": "relevance judgments are needed to tell relevant from irrelevant products",
    "orders": "order baskets are needed",
}


def _skip_reason(missing: list[str]) -> str:
    tables = " and no ".join(missing)
    why = "; ".join(_NEEDED_FOR.get(m, f"{m} is needed") for m in missing)
    return f"the data has no {tables} table — {why}"


def _overview(ctx: Context) -> OverviewBlock | None:
    from seemingly.explain.measures import overview

    # Without offers or judgments the levels come out null, but agreement is still reported.
    ctx.require("overview purchase/engagement levels", "offers", "judgments")
    return overview(ctx.store, ctx.settings)


def _hypotheses(ctx: Context) -> HypothesesBlock | None:
    from seemingly.explain import hypotheses

    if not ctx.require("hypotheses", "offers", "judgments"):
        return None
    result = hypotheses.fit_hypotheses(ctx.store, ctx.settings)
    ctx.warnings.extend(f"hypotheses: {w}" for w in result.warnings)
    return result.to_block()


def _examples(ctx: Context) -> ExamplesBlock | None:
    from seemingly.explain.examples import top_irrelevant_examples

    if not ctx.require("examples", "offers", "judgments"):
        return None
    return top_irrelevant_examples(ctx.store, ctx.settings)


def _relations(ctx: Context) -> RelationsBlock | None:
    from seemingly.explain.relations_summary import relations_summary

    if not (ctx.store.has("judgments") or ctx.store.has("orders")):
        why = ("the data has neither judgments nor orders — relations are measured between "
               "judged-relevant products or within order baskets")
        ctx.warnings.append(f"relations: skipped, {why}")
        ctx.skipped["relations"] = why
        return None
    block = relations_summary(ctx.store, ctx.settings)
    ctx.warnings.extend(f"relations: {part} skipped, {why}"
                        for part, why in block.skipped.items())
    return block


def _strategies(ctx: Context) -> StrategiesBlock | None:
    from seemingly.explain.strategies import strategies_from_store

    if not ctx.require("strategies", "offers", "judgments"):
        return None
    return strategies_from_store(ctx.store, ctx.settings)


def _position(ctx: Context) -> PositionBlock | None:
    """Position bias (ranked-list logs only): None, and no warning, for a voice log."""
    from seemingly.explain.position import analyze_positions

    if not (ctx.store.has("offers") and ctx.store.has("judgments")):
        return None
    found = analyze_positions(ctx.store, ctx.settings)
    if found is None:
        return None
    ctx.made["overview_corrected"] = found.overview_corrected
    return found.block


def _overview_corrected(ctx: Context) -> OverviewBlock | None:
    block = ctx.made.get("overview_corrected")
    return block if isinstance(block, OverviewBlock) else None


def _tradeoff(ctx: Context) -> TradeoffBlock | None:
    from seemingly.ranking.tradeoff import fit_tradeoff_models, run_tradeoff, tradeoff_data

    if not ctx.require("tradeoff", "offers", "judgments"):
        return None
    below = _below_tradeoff_minimum(ctx)
    if below is not None:
        ctx.warnings.append(f"tradeoff: skipped, {below}")
        ctx.skipped["tradeoff"] = below
        return None
    try:
        data = tradeoff_data(ctx.store, ctx.settings)
        with ThreadPoolExecutor(max_workers=1) as beside:
            # Label quality needs the engine and the model data, the fits and the evaluation
            # below only the model data and LightGBM, which leaves a core idle between its
            # fits: the labels are computed beside them, and the engine has one user at a
            # time.
            if ctx.store.has("judgments"):
                ctx.beside["labels"] = beside.submit(_labels_block, ctx, data)
            trained = fit_tradeoff_models(data, ctx.settings)
            # the models block saves these even when the evaluation finds too few queries
            ctx.fitted = (trained, data)
            result, _ = run_tradeoff(ctx.store, ctx.settings, data, trained)
        held = {o.objective: o.held_out for o in (result.purchase, result.engagement)
                if o.held_out is not None}
        ctx.rankings = (held, [float(w) for w in result.purchase.fusion.weights])
        ctx.tradeoff_result = result
    except ValueError as exc:  # too little data for held-out queries: say so, keep going
        ctx.warnings.append(f"tradeoff: skipped, {exc}")
        ctx.skipped["tradeoff"] = str(exc)
        return None
    return result.to_block()


def _below_tradeoff_minimum(ctx: Context) -> str | None:
    """Why the data is below the trade-off's stated minimum, or None when it meets it: each
    of the K folds over queries (``models.eval_folds``) needs queries to train on and one
    to hold out."""
    from seemingly.ranking.models.train import below_minimum

    k = ctx.settings.models.eval_folds
    return below_minimum(ctx.store, max(3, k + 2),
                         f"to train and hold out queries, models.eval_folds={k}")


def _models(ctx: Context) -> ModelsBlock | None:
    """The trade-off's models, saved to ``ctx.models_dir``; without offers, the relevance
    model alone (trained on judgments, issue 9)."""
    if ctx.fitted is not None:
        trained, data = ctx.fitted
        if ctx.models_dir is None:
            return trained.to_block()
        from seemingly.ranking.models.training import save_models

        m = ctx.settings.models
        path = save_models(trained, data, ctx.models_dir, normalization=m.normalization,
                           extra={"window_split": m.window_split,
                                  "test_fraction": m.test_fraction})
        return trained.to_block(json.loads(path.read_text()))
    if ctx.models_dir is not None and ctx.store.has("judgments") and not ctx.store.has("offers"):
        from seemingly.ranking.models.artifacts import read_manifest
        from seemingly.ranking.models.relevance_only import train_relevance

        trained = train_relevance(ctx.store, ctx.settings, ctx.models_dir)
        ctx.warnings.append("models: purchase and engagement models skipped, the data has no "
                            "offers table; the relevance model is trained on judgments alone")
        return trained.to_block(read_manifest(ctx.models_dir))
    if "tradeoff" in ctx.skipped:
        ctx.skipped.setdefault("models", f"the models are trained with the trade-off, which "
                               f"was skipped: {ctx.skipped['tradeoff']}")
    return None


def _labels(ctx: Context) -> LabelsBlock | None:
    """Label quality and the re-judging queues; the hypotheses re-run on corrected labels."""
    pending = ctx.beside.pop("labels", None)
    if pending is not None:  # computed beside the trade-off (its errors surface here)
        block, warnings = pending.result()
    else:
        if not ctx.require("labels", "judgments"):
            return None
        block, warnings = _labels_block(ctx, ctx.fitted[1] if ctx.fitted is not None else None)
    ctx.warnings.extend(warnings)
    return block


def _labels_block(ctx: Context, data: ModelData | None) -> tuple[LabelsBlock, list[str]]:
    """The labels block and its warnings (reads ``ctx``, changes nothing in it: it may run
    in another thread, see ``_tradeoff``)."""
    from seemingly.ranking.rejudge import label_quality

    lq = label_quality(ctx.store, ctx.settings, data=data)
    original = ctx.built.get("hypotheses")
    verdicts = None
    if isinstance(original, HypothesesBlock) and ctx.store.has("offers"):
        from seemingly.study.corrected import corrected_verdicts

        verdicts = corrected_verdicts(ctx.store, ctx.settings, original,
                                      lq.corrected(ctx.settings.labels.wrong_at))
    return lq.to_block(ctx.settings, verdicts), [f"labels: {w}" for w in lq.warnings]


def _off_policy(ctx: Context) -> OffPolicyBlock | None:
    """Strategies and frontier estimated off-policy (ranked-list logs with propensities
    only): None, and no warning, for a voice log, so its results stay as they were."""
    from seemingly.explain.offpolicy import has_ranked_logs
    from seemingly.ranking.tradeoff.offpolicy import off_policy_block

    if not (ctx.store.has("offers") and ctx.store.has("judgments")
            and has_ranked_logs(ctx.store)):
        return None
    if ctx.fitted is None:
        why = ("the doubly robust estimator's outcome model is trained with the trade-off, "
               f"which was skipped: {ctx.skipped.get('tradeoff', 'no models')}")
        ctx.warnings.append(f"off_policy: skipped, {why}")
        ctx.skipped["off_policy"] = why
        return None
    trained, data = ctx.fitted
    return off_policy_block(ctx.store, ctx.settings, data, trained, ctx.tradeoff_result)


def _data(ctx: Context) -> DataBlock | None:
    from seemingly.explain.measures import data_summary

    return data_summary(ctx.store, ctx.settings, warnings=tuple(ctx.warnings))


Builder = Callable[[Context], "BaseModel | None"]

# Block name -> builder, in the order the study runs them ("data" last, see module docstring).
BLOCKS: dict[str, Builder] = {
    "overview": _overview,
    "hypotheses": _hypotheses,
    "examples": _examples,
    "relations": _relations,
    "strategies": _strategies,
    "position": _position,
    "overview_corrected": _overview_corrected,
    "tradeoff": _tradeoff,
    "models": _models,
    "labels": _labels,
    "off_policy": _off_policy,
    "data": _data,
}


def analyze(store: StoreLike, settings: AnalysisSettings | None = None, *,
            models_dir: str | os.PathLike[str] | None = None) -> Results:
    """Run every registered block over ``store`` and return the typed results.

    Parameters
    ----------
    store
        An open store (DuckDB or Spark).
    settings
        Analysis settings; the defaults when None.
    models_dir
        Save the models the trade-off fitted there, and record each file's sha256 in the
        ``models`` block. None (the default) writes nothing.

    Examples
    --------
    >>> results = analyze(open_store("work/store.duckdb"))  # doctest: +SKIP
    >>> results.overview.purchase_level.irrelevant.value  # doctest: +SKIP
    """
    ctx = Context(store, settings or AnalysisSettings(),
                  models_dir=None if models_dir is None else Path(models_dir))
    for name, build in BLOCKS.items():
        ctx.built[name] = build(ctx)
    return assemble(ctx, dict(ctx.built))


def assemble(ctx: Context, blocks: dict[str, BaseModel | None],
             run: RunBlock | None = None) -> Results:
    """The Results of built blocks: blocks that are None stay out, ``skipped`` says why."""
    skipped = {k: v for k, v in ctx.skipped.items() if k in BLOCKS and blocks.get(k) is None}
    built = {k: v for k, v in blocks.items() if v is not None}
    return Results(**built, skipped=skipped or None, run=run)
