"""The factor ablation in the report: crude vs full frontiers per objective, the table "what
each factor buys", and the same numbers beside each hypothesis verdict.

Reads ``results.tradeoff.ablation`` only (see :class:`seemingly.results.AblationBlock`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seemingly.report._format import NA, fmt_ci, fmt_num, num
from seemingly.report.figures import OUTCOMES, Fig, _figure, _tradeoff_points, plot_text
from seemingly.results import AblationBlock, AblationVariant, Results

__all__ = ["ablation_context", "factor_buys"]

_FRONTIERS = (("full", "factor-aware (all features)", "#4c6ef5", "circle"),
              ("crude", "crude (text match only)", "#868e96", "square"))


def _ablation(results: Results) -> AblationBlock | None:
    return results.tradeoff.ablation if results.tradeoff is not None else None


def frontiers_figure(variants: dict[str, AblationVariant], outcome_name: str) -> Fig | None:
    """The full and crude fusion sweeps of one objective, each Pareto front as a dashed
    step line through ringed points (as the trade-off figure draws them)."""
    data: list[dict[str, Any]] = []
    for key, name, color, symbol in _FRONTIERS:
        if key not in variants:
            continue
        rows = _tradeoff_points(variants[key].frontier)
        if not rows:
            continue
        data.append({
            "type": "scatter", "mode": "markers", "x": [r[0] for r in rows],
            "y": [r[1] for r in rows], "name": name,
            "marker": {"symbol": symbol, "size": 7, "color": color},
            "hovertext": [f"{key} weight {plot_text(r[2])}" for r in rows],
            "hoverinfo": "text+x+y"})
        front = sorted((r[0], r[1]) for r in rows if r[3])
        data.append({
            "type": "scatter", "mode": "lines", "name": f"{name}: Pareto front",
            "hoverinfo": "skip", "x": [p[0] for p in front], "y": [p[1] for p in front],
            "line": {"color": color, "dash": "dash", "width": 2, "shape": "vh"}})
    if not data:
        return None
    return _figure(data, xaxis={"title": {"text": "relevance@1"}},
                   yaxis={"title": {"text": f"{outcome_name} level@1"}})


def _verdict(v: AblationVariant) -> dict[str, str]:
    """Badge of a hypervolume difference: what the left-out features buy."""
    lo, hi = (num(x) for x in v.difference_ci)
    if lo is None or hi is None:
        return {"cls": "na", "text": NA}
    if lo > 0:
        return {"cls": "yes", "text": "pays off"}
    if hi < 0:
        return {"cls": "no", "text": "costs"}
    return {"cls": "no", "text": "nothing detectable"}


def _variant_label(name: str, groups: dict[str, list[str]]) -> str:
    if name == "full":
        return "full (factor-aware)"
    if name == "crude":
        return "crude (text match only)"
    group = name.removeprefix("without_")
    return f"without {group.replace('_', ' ')} ({', '.join(groups.get(group, []))})"


def ablation_context(results: Results, fig: Callable[..., Any]) -> dict[str, Any] | None:
    """Per objective: the frontiers figure and one table row per variant; None without an
    ablation block."""
    ab = _ablation(results)
    if ab is None:
        return None
    items = []
    for (outcome, name), variants in zip(OUTCOMES, (ab.purchase, ab.engagement), strict=True):
        rows = [{"variant": _variant_label(v, ab.groups),
                 "hypervolume": fmt_num(x.hypervolume),
                 "difference": f"{fmt_num(x.difference)} {fmt_ci(x.difference_ci)}".strip(),
                 "gain": f"{fmt_num(x.level_gain)} {fmt_ci(x.level_gain_ci)}".strip(),
                 "verdict": _verdict(x) if v != "full" else {"cls": "na", "text": "reference"}}
                for v, x in variants.items()]
        at = variants["crude"].at_relevance if "crude" in variants else None
        figure = fig(frontiers_figure(dict(variants.items()), outcome),
                     f"{name}: fusion sweeps of the factor-aware and the crude models; dashed "
                     "lines are their Pareto fronts. The gap between them is what the paper's "
                     "factors buy in ranking.")
        items.append({"name": name, "figure": figure, "rows": rows,
                      "at_relevance": fmt_num(at)})
    return {"items": items, "n_boot": ab.n_boot, "text_match": ", ".join(ab.text_match)}


def factor_buys(results: Results) -> dict[str, dict[str, dict[str, str]]]:
    """Hypothesis name -> outcome -> {badge cls, text}: the hypervolume the factor's feature
    group buys in ranking (full minus without the group), for the hypothesis table."""
    ab = _ablation(results)
    if ab is None:
        return {}
    out: dict[str, dict[str, dict[str, str]]] = {}
    for (outcome, _), variants in zip(OUTCOMES, (ab.purchase, ab.engagement), strict=True):
        for group in ab.groups:
            if f"without_{group}" not in variants:
                continue
            v = variants[f"without_{group}"]
            badge = _verdict(v)
            # its own class too: the verdict columns' badges stay countable on their own
            badge = {"cls": f"{badge['cls']} buys",
                     "text": f"{fmt_num(v.difference)} {fmt_ci(v.difference_ci)}".strip()}
            out.setdefault(group, {})[outcome] = badge
    return out
