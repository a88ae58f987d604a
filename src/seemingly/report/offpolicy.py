"""The report's off-policy parts: the frontier chart with each fusion weight's level@1
estimated off-policy (on a right-hand axis, the estimator named), and a table of every
ranker's IPS, SNIPS and DR values. Built only when results.json has an ``off_policy``
block (ranked-list logs); a voice log's trade-off section is what it was."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seemingly.report._format import ci_pair, fmt_ci, fmt_int, fmt_pct, num
from seemingly.report.figures import Fig, Figures
from seemingly.results import ObjectiveTradeoff, Results, TradeoffPoint
from seemingly.results.offpolicy import (
    FUSION_PREFIX,
    STRATEGY_PREFIX,
    ObjectiveOffPolicy,
    fusion_ranker,
)

__all__ = ["CHART_ESTIMATOR", "ESTIMATOR_NAMES", "frontier_figure", "frontier_note",
           "off_policy_rows"]

#: the estimator the frontier chart draws (DR: unbiased with right propensities, and the
#: outcome model's direct method lowers its variance)
CHART_ESTIMATOR = "dr"
ESTIMATOR_NAMES = {"ips": "inverse propensity scoring (IPS)",
                   "snips": "self-normalised IPS (SNIPS)", "dr": "doubly robust (DR)"}
_COLOR = "#2f9e44"


def _block(results: Results, objective: str) -> ObjectiveOffPolicy | None:
    op = results.off_policy
    if op is None or objective not in op:
        return None
    return op[objective]  # type: ignore[index]


def _off_policy_trace(block: ObjectiveOffPolicy, points: Sequence[TradeoffPoint],
                      objective: str) -> dict[str, Any] | None:
    xs, ys, up, down, text = [], [], [], [], []
    for p in points:
        est = block.root.get(fusion_ranker(p.weight))
        e = est.root.get(CHART_ESTIMATOR) if est is not None else None  # type: ignore[call-overload]
        x, y = num(p.relevance_at_1), num(e.value) if e is not None else None
        if e is None or x is None or y is None:
            continue
        lo, hi = ci_pair(e.ci)
        xs.append(x)
        ys.append(y)
        up.append(max(0.0, hi - y) if hi is not None else 0.0)
        down.append(max(0.0, y - lo) if lo is not None else 0.0)
        text.append(f"fusion weight {p.weight:g}, off-policy {CHART_ESTIMATOR.upper()}")
    if not xs:
        return None
    return {"type": "scatter", "mode": "lines+markers", "x": xs, "y": ys, "yaxis": "y2",
            "name": f"fusion sweep, off-policy {CHART_ESTIMATOR.upper()} (right axis)",
            "line": {"color": _COLOR, "dash": "dot"}, "marker": {"symbol": "square", "size": 7},
            "error_y": {"type": "data", "array": up, "arrayminus": down, "color": _COLOR},
            "hovertext": text, "hoverinfo": "text+x+y"}


def frontier_figure(results: Results, ob: ObjectiveTradeoff, objective: str) -> Fig | None:
    """The trade-off chart (:meth:`Figures.tradeoff`), plus, on ranked-list logs, the fusion
    points' level@1 per request estimated off-policy with :data:`CHART_ESTIMATOR` and its
    95% query-bootstrap interval, on a right-hand axis named after the estimator."""
    fig = Figures.tradeoff(ob, objective)
    block = _block(results, objective)
    if fig is None or block is None:
        return fig
    trace = _off_policy_trace(block, ob.fusion, objective)
    if trace is None:
        return fig
    axis = {"title": {"text": f"off-policy {CHART_ESTIMATOR.upper()}, per request"},
            "overlaying": "y", "side": "right", "showgrid": False, "zeroline": False,
            "tickformat": ".0%", "automargin": True}
    layout = fig["layout"]
    return {"data": [*fig["data"], trace],
            "layout": {**layout, "yaxis2": axis, "margin": {**layout["margin"], "r": 72}}}


def frontier_note(results: Results, objective: str) -> str:
    """The caption's extra sentence on ranked-list logs ("" otherwise)."""
    if _block(results, objective) is None:
        return ""
    return (f" Green squares (right axis): each fusion weight's {objective} level@1 per request "
            f"estimated off-policy from the logged position-1 offers with the "
            f"{ESTIMATOR_NAMES[CHART_ESTIMATOR]} estimator, 95% query-bootstrap intervals.")


def _label(ranker: str) -> str:
    if ranker.startswith(STRATEGY_PREFIX):
        return f"strategy: {ranker[len(STRATEGY_PREFIX):]}"
    if ranker.startswith(FUSION_PREFIX):
        return f"fusion, relevance weight {ranker[len(FUSION_PREFIX):]}"
    return ranker


def off_policy_rows(results: Results, objective: str) -> list[dict[str, Any]]:
    """One row per ranker: IPS, SNIPS and DR as ``value [CI]`` and the DR weights' ESS;
    strategies first, then the fusion weights (every fourth, and both ends)."""
    block = _block(results, objective)
    if block is None:
        return []
    fusion = [r for r in block if r.startswith(FUSION_PREFIX)]
    keep = set(fusion[::4]) | set(fusion[-1:])
    rows = []
    for ranker, est in block.items():
        if ranker.startswith(FUSION_PREFIX) and ranker not in keep:
            continue
        cells = []
        for name in ("ips", "snips", "dr"):
            e = est.root.get(name)  # type: ignore[call-overload]
            cells.append(f"{fmt_pct(e.value)} {fmt_ci(e.ci, fmt_pct)}".strip() if e else "n/a")
        any_e = next(iter(est.values()), None)
        rows.append({"name": _label(ranker), "cells": cells,
                     "ess": fmt_int(any_e.ess) if any_e is not None else "n/a"})
    return rows
