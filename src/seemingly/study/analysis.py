"""Assemble results.json: a sequence of block builders run over one store.

Each builder takes a :class:`Context` and returns the JSON-ready block, or None to leave the
block out; a builder that cannot run (a table is missing) says why in ``ctx.warnings``.
Later stages register their blocks in :data:`BLOCKS` (hypotheses, strategies, tradeoff).
The ``data`` block is built last so it carries every warning the other blocks raised.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seemingly.config import AnalysisSettings
from seemingly.contract import CONTRACT_VERSION

__all__ = ["analyze", "assemble", "write_results", "BLOCKS"]


@dataclass
class Context:
    """What every block builder sees; ``warnings`` collects what was skipped and why."""

    store: Any
    settings: AnalysisSettings
    warnings: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # block -> why (results["skipped"])

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


# What each missing table rules out, for results["skipped"] (the report shows it).
_NEEDED_FOR = {
    "offers": "purchases and engagements are needed",
    "judgments": "relevance judgments are needed to tell relevant from irrelevant products",
    "orders": "order baskets are needed",
}


def _skip_reason(missing: list[str]) -> str:
    tables = " and no ".join(missing)
    why = "; ".join(_NEEDED_FOR.get(m, f"{m} is needed") for m in missing)
    return f"the data has no {tables} table — {why}"


def skipped_blocks(ctx: Context, blocks: dict[str, Any]) -> dict[str, str]:
    """results["skipped"]: why each registered block that produced nothing was skipped."""
    return {k: v for k, v in ctx.skipped.items() if k in BLOCKS and blocks.get(k) is None}


def _overview(ctx: Context) -> dict[str, Any] | None:
    from seemingly.explain.measures import overview

    # Without offers or judgments the levels come out null, but agreement is still reported.
    ctx.require("overview purchase/engagement levels", "offers", "judgments")
    return overview(ctx.store, ctx.settings).to_dict()


def _data(ctx: Context) -> dict[str, Any] | None:
    from seemingly.explain.measures import data_summary

    d = data_summary(ctx.store, ctx.settings).to_dict()
    d["warnings"] = [*d["warnings"], *ctx.warnings]
    return d


def _hypotheses(ctx: Context) -> dict[str, Any] | None:
    from seemingly.explain import hypotheses

    if not ctx.require("hypotheses", "offers", "judgments"):
        return None
    result = hypotheses.test_hypotheses(ctx.store, ctx.settings)
    ctx.warnings.extend(f"hypotheses: {w}" for w in result.warnings)
    return result.to_dict()


Builder = Callable[[Context], "dict[str, Any] | None"]

# Block name -> builder, run in this order ("data" last, see module docstring).
def _examples(ctx: Context) -> dict[str, Any] | None:
    from seemingly.explain.examples import top_irrelevant_examples

    if not ctx.require("examples", "offers", "judgments"):
        return None
    return top_irrelevant_examples(ctx.store, ctx.settings)


def _strategies(ctx: Context) -> dict[str, Any] | None:
    from seemingly.explain.strategies import strategies_from_store

    if not ctx.require("strategies", "offers", "judgments"):
        return None
    return strategies_from_store(ctx.store, ctx.settings).to_dict()


def _tradeoff(ctx: Context) -> dict[str, Any] | None:
    from seemingly.ranking.tradeoff import run_tradeoff

    if not ctx.require("tradeoff", "offers", "judgments"):
        return None
    try:
        result, trained = run_tradeoff(ctx.store, ctx.settings)
    except ValueError as exc:  # too little data for held-out queries: say so, keep going
        ctx.warnings.append(f"tradeoff: skipped, {exc}")
        ctx.skipped["tradeoff"] = str(exc)
        return None
    ctx.__dict__["_models_block"] = trained.to_dict()  # the "models" block reuses this run
    return result.to_dict()


def _models(ctx: Context) -> dict[str, Any] | None:
    block = ctx.__dict__.get("_models_block")
    if block is None and "tradeoff" in ctx.skipped:  # the study's train stage may add it
        ctx.skipped.setdefault("models", f"the models are trained with the trade-off, which "
                               f"was skipped: {ctx.skipped['tradeoff']}")
    return block


def _relations(ctx: Context) -> dict[str, Any] | None:
    from seemingly.explain.relations_summary import relations_summary

    if not (ctx.store.has("judgments") or ctx.store.has("orders")):
        why = ("the data has neither judgments nor orders — relations are measured between "
               "judged-relevant products or within order baskets")
        ctx.warnings.append(f"relations: skipped, {why}")
        ctx.skipped["relations"] = why
        return None
    block = relations_summary(ctx.store, ctx.settings).to_dict()
    ctx.warnings.extend(f"relations: {part} skipped, {why}"
                        for part, why in block["skipped"].items())
    return block


BLOCKS: dict[str, Builder] = {
    "overview": _overview,
    "hypotheses": _hypotheses,
    "examples": _examples,
    "strategies": _strategies,
    "tradeoff": _tradeoff,
    "models": _models,
    "relations": _relations,
    "data": _data,
}


def analyze(store: Any, settings: AnalysisSettings | None = None) -> dict[str, Any]:
    """Run every registered block over ``store`` and return the results.json dict.

    Examples
    --------
    >>> results = analyze(open_store("work/store.duckdb"))  # doctest: +SKIP
    >>> results["overview"]["purchase_level"]["irrelevant"]["value"]  # doctest: +SKIP
    """
    ctx = Context(store, settings or AnalysisSettings())
    blocks = {name: build(ctx) for name, build in BLOCKS.items()}
    return assemble({**blocks, "skipped": skipped_blocks(ctx, blocks) or None})


def assemble(blocks: dict[str, Any]) -> dict[str, Any]:
    """results.json from built blocks: contract_version, data, then the rest; None dropped."""
    results: dict[str, Any] = {"contract_version": CONTRACT_VERSION}
    if blocks.get("data") is not None:
        results["data"] = blocks["data"]
    results.update({k: v for k, v in blocks.items() if k != "data" and v is not None})
    return results


def _jsonable(x: Any) -> Any:
    """Turn numpy scalars/arrays, tuples and NaN/inf into plain JSON values (NaN -> null)."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "to_dict") and callable(x.to_dict):
        return _jsonable(x.to_dict())
    if isinstance(x, Path):
        return str(x)
    return x


def write_results(results: dict[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    """Write ``out_dir/results.json`` (atomically) and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    tmp = out / f".results.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(_jsonable(results), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path
