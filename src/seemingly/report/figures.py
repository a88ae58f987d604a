"""Plotly figures of the report, each built from one typed results block.

Figures are plain Plotly JSON dicts (``{"data": [...], "layout": {...}}``): building them
through ``plotly.graph_objects`` validated every property and took seconds per report, and
the browser's plotly.js is what draws them anyway.

Every builder returns None when its block holds nothing to draw, so the page can say why.
Labels that come from user data go through :func:`plot_text`: Plotly reads a small HTML
subset (``<b>``, ``<a href>``, ``<br>``) in labels, so a raw category name could restyle a
chart or add a link; escaped, it shows literally.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from seemingly.contract import Outcome
from seemingly.report._format import ci_pair, num
from seemingly.results import (
    Effect,
    ModelEntry,
    ObjectiveTradeoff,
    OverviewBlock,
    StrategiesBlock,
    TradeoffPoint,
)
from seemingly.results.explain import CurvePoint, LevelPair, OutcomeStrategies

__all__ = ["Figures", "figure_json"]

Fig = dict[str, Any]

IRRELEVANT = "#d95f02"
RELEVANT = "#1b9e77"
OUTCOME_COLORS = {"purchase": "#4c6ef5", "engagement": "#e8590c"}
OUTCOMES: tuple[tuple[Outcome, str], ...] = (("purchase", "Purchase"), ("engagement", "Engagement"))
STRATEGIES = ("optimal", "relevant", "irrelevant", "random", "worst")
#: hypothesis name's outcome -> Effect, as ``results.hypotheses[name]`` holds it.
Effects = Mapping[Outcome, Effect]


def strategy_values(st: OutcomeStrategies) -> dict[str, float | None]:
    """Each strategy's level relative to Optimal, by the names of :data:`STRATEGIES`."""
    return {"optimal": st.optimal, "relevant": st.relevant, "irrelevant": st.irrelevant,
            "random": st.random, "worst": st.worst}
MAX_FEATURES = 15
_AXIS = {"gridcolor": "#e9ecef", "zeroline": False, "automargin": True}


def plot_text(x: Any) -> str:
    return html.escape(str(x), quote=False)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _figure(data: list[dict[str, Any]], height: int = 360, **layout: Any) -> Fig:
    base: dict[str, Any] = {
        "height": height,
        "margin": {"l": 64, "r": 24, "t": 48, "b": 56},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        "legend": {"orientation": "h", "y": 1.12, "x": 0, "yanchor": "bottom"},
        "hoverlabel": {"namelength": -1},
        "plot_bgcolor": "#fbfbfd",
        "paper_bgcolor": "#ffffff",
        "xaxis": dict(_AXIS),
        "yaxis": dict(_AXIS),
    }
    for key, value in layout.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return {"data": data, "layout": base}


def figure_json(fig: Fig) -> str:
    """The figure as JSON that is safe inside HTML (no ``<``, ``>`` or ``&`` left raw).

    The three characters only occur inside JSON strings, where ``\\u003c`` etc. mean the same.
    ``allow_nan=False``: every number went through :func:`num`, so NaN here is a bug to see.
    """
    text = json.dumps(fig, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _error_bars(v: float, ci: Any) -> tuple[float, float]:
    lo, hi = ci_pair(ci)
    up = max(0.0, hi - v) if hi is not None else 0.0
    down = max(0.0, v - lo) if lo is not None else 0.0
    return up, down


def _bar(x: list[str], y: list[float], bars: list[tuple[float, float]], name: str,
         color: str) -> dict[str, Any]:
    return {"type": "bar", "x": x, "y": y, "name": name, "marker": {"color": color},
            "error_y": {"type": "data", "array": [b[0] for b in bars],
                        "arrayminus": [b[1] for b in bars]}}


Row = tuple[str, float | None, float | None, float | None, Any]


def _curve_rows(curve: Sequence[CurvePoint] | None) -> list[Row]:
    rows: list[Row] = []
    for point in curve or ():
        lo, hi = ci_pair(point.ci)
        rows.append((point.bin, num(point.rate), lo, hi, point.offers))
    return rows


def _curve_traces(rows: list[Row], index: dict[str, int], name: str, color: str, axes: str,
                  show_legend: bool, dash: str = "solid") -> list[dict[str, Any]]:
    xa, ya = f"x{axes}", f"y{axes}"
    traces = []
    band = [(index[r[0]], r[2], r[3]) for r in rows if r[2] is not None and r[3] is not None]
    if band:
        bx = [b[0] for b in band]
        traces.append({
            "type": "scatter", "mode": "lines", "x": bx + bx[::-1],
            "y": [b[2] for b in band] + [b[1] for b in band][::-1], "fill": "toself",
            "fillcolor": _rgba(color, 0.18), "line": {"width": 0}, "hoverinfo": "skip",
            "showlegend": False, "legendgroup": name, "xaxis": xa, "yaxis": ya})
    points = [r for r in rows if r[1] is not None]
    hover = []
    for b, rate, lo, hi, offers in points:
        h = f"{plot_text(b)}<br>rate {100 * rate:.2f}%"  # type: ignore[operator]
        if lo is not None and hi is not None:
            h += f" [{100 * lo:.2f}, {100 * hi:.2f}]"
        if num(offers) is not None:
            h += f"<br>offers {num(offers):,.0f}"
        hover.append(h)
    traces.append({
        "type": "scatter", "mode": "lines+markers", "name": name, "legendgroup": name,
        "showlegend": show_legend, "x": [index[r[0]] for r in points], "y": [r[1] for r in points],
        "line": {"color": color, "dash": dash, "width": 2}, "marker": {"size": 6},
        "hovertext": hover, "hoverinfo": "text", "xaxis": xa, "yaxis": ya})
    return traces


def _tradeoff_points(points: Sequence[TradeoffPoint]) -> list[tuple[float, float, float, bool]]:
    """(relevance@1, level@1, weight, on_frontier) of the points that have both numbers."""
    out = []
    for p in points:
        x, y = num(p.relevance_at_1), num(p.level_at_1)
        if x is not None and y is not None:
            out.append((x, y, p.weight, p.on_frontier))
    return out


class Figures:
    """Builders for each figure; all take typed results blocks and return Plotly JSON."""

    @staticmethod
    def overview(overview: OverviewBlock) -> Fig | None:
        data = []
        levels: tuple[tuple[LevelPair | None, str], ...] = (
            (overview.purchase_level, "Purchase level"),
            (overview.engagement_level, "Engagement level"))
        for group, color, name in (("relevant", RELEVANT, "judged relevant"),
                                   ("irrelevant", IRRELEVANT, "judged irrelevant")):
            x, y, bars = [], [], []
            for pair, text in levels:
                if pair is None:
                    continue
                rate = pair.relevant if group == "relevant" else pair.irrelevant
                v = num(rate.value)
                if v is not None:
                    x.append(text)
                    y.append(v)
                    bars.append(_error_bars(v, rate.ci))
            if x:
                data.append(_bar(x, y, bars, name, color))
        if not data:
            return None
        return _figure(data, height=320, barmode="group",
                       yaxis={"tickformat": ".1%", "title": {"text": "share of offers"}})

    @staticmethod
    def curve(effects: Effects, title: str) -> Fig | None:
        """Irrelevant vs relevant level per factor bin, purchase and engagement side by side."""
        data: list[dict[str, Any]] = []
        layout: dict[str, Any] = {"annotations": []}
        for col, (outcome, oname) in enumerate(OUTCOMES, start=1):
            effect = effects.get(outcome)
            if effect is None:
                continue
            irr = _curve_rows(effect.curve)
            rel = _curve_rows(effect.curve_relevant)
            labels = list(dict.fromkeys(r[0] for r in irr + rel))
            if not labels:
                continue
            index = {b: i for i, b in enumerate(labels)}
            axes = "" if col == 1 else "2"
            first = not data
            if irr:
                data += _curve_traces(irr, index, "judged irrelevant", IRRELEVANT, axes, first)
            if rel:
                data += _curve_traces(rel, index, "judged relevant", RELEVANT, axes, first,
                                      dash="dot")
            domain = [0.0, 0.45] if col == 1 else [0.55, 1.0]
            layout[f"xaxis{axes}"] = {
                **_AXIS, "domain": domain, "anchor": f"y{axes}", "title": {"text": title},
                "tickvals": list(range(len(labels))), "ticktext": [plot_text(b) for b in labels],
                "tickangle": -30 if len(labels) > 8 else 0}
            layout[f"yaxis{axes}"] = {
                **_AXIS, "anchor": f"x{axes}", "tickformat": ".1%",
                "title": {"text": f"{outcome} level"}}
            layout["annotations"].append({
                "text": oname, "showarrow": False, "xref": "paper", "yref": "paper",
                "x": sum(domain) / 2, "y": 1.0, "yanchor": "bottom", "font": {"size": 14}})
        return _figure(data, **layout) if data else None

    @staticmethod
    def categories(effects: Effects) -> Fig | None:
        """Irrelevant / relevant level ratio per category (the block has no interval for it)."""
        data = []
        for outcome, name in OUTCOMES:
            effect = effects.get(outcome)
            x, y = [], []
            for row in (effect.categories or []) if effect is not None else []:
                v = num(row.ratio)
                if v is not None:
                    x.append(plot_text(row.category))
                    y.append(v)
            if x:
                data.append({"type": "bar", "x": x, "y": y, "name": name,
                             "marker": {"color": OUTCOME_COLORS[outcome]}})
        if not data:
            return None
        return _figure(data, barmode="group", xaxis={"type": "category"},
                       yaxis={"title": {"text": "irrelevant / relevant level"},
                              "rangemode": "tozero"},
                       shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 1, "y1": 1,
                                "line": {"dash": "dash", "color": "#868e96", "width": 1}}])

    @staticmethod
    def strategies(block: StrategiesBlock) -> Fig | None:
        data = []
        for outcome, name in OUTCOMES:
            st = block.purchase if outcome == "purchase" else block.engagement
            x, y, bars = [], [], []
            for s, value in strategy_values(st).items():
                v = num(value)
                if v is not None:
                    x.append(s.capitalize())
                    y.append(v)
                    bars.append(_error_bars(v, st.ci.get(s)))
            if x:
                data.append(_bar(x, y, bars, name, OUTCOME_COLORS[outcome]))
        if not data:
            return None
        return _figure(data, height=320, barmode="group",
                       yaxis={"title": {"text": "level, optimal = 1"}, "rangemode": "tozero"})

    @staticmethod
    def tradeoff(block: ObjectiveTradeoff, outcome_name: str) -> Fig | None:
        """Relevance@1 against the outcome level@1 for the fusion sweep and the joint model.

        Each sweep's Pareto front is the points the trade-off stage flagged ``on_frontier``
        (computed once, in :mod:`seemingly.ranking.tradeoff.pareto`); the report draws them
        as rings joined by a dashed step line.
        """
        sweeps: list[dict[str, Any]] = []
        fronts: list[dict[str, Any]] = []
        for name, points, color, symbol in (("fusion", block.fusion, "#4c6ef5", "circle"),
                                            ("joint", block.joint or [], "#e8590c",
                                             "diamond")):
            rows = _tradeoff_points(points)
            if not rows:
                continue
            label = "fusion sweep" if name == "fusion" else "joint model"
            sweeps.append({
                "type": "scatter", "mode": "lines+markers", "x": [r[0] for r in rows],
                "y": [r[1] for r in rows], "name": label,
                "line": {"color": color}, "marker": {"symbol": symbol, "size": 8},
                "hovertext": [f"{name} weight {plot_text(r[2])}" for r in rows],
                "hoverinfo": "text+x+y"})
            front = sorted((r[0], r[1]) for r in rows if r[3])
            if front:
                fronts.append({
                    "type": "scatter", "mode": "lines+markers", "name": f"{label}: Pareto front",
                    "hoverinfo": "skip", "x": [p[0] for p in front], "y": [p[1] for p in front],
                    "line": {"color": color, "dash": "dash", "width": 1, "shape": "vh"},
                    "marker": {"size": 14, "color": "rgba(0,0,0,0)",
                               "line": {"color": color, "width": 2}}})
        if not sweeps:
            return None
        return _figure(sweeps + fronts, xaxis={"title": {"text": "relevance@1"}},
                       yaxis={"title": {"text": f"{outcome_name} level@1"}})

    @staticmethod
    def importance(model: ModelEntry, name: str) -> Fig | None:
        gains = [(k, num(v)) for k, v in model.feature_importance.items()]
        valid = [(k, v) for k, v in gains if v is not None]
        top = sorted(valid, key=lambda g: -g[1])[:MAX_FEATURES]
        if not top:
            return None
        top.reverse()  # Plotly draws horizontal bars bottom-up; largest on top.
        bar = {"type": "bar", "orientation": "h", "x": [g[1] for g in top],
               "y": [plot_text(g[0]) for g in top], "marker": {"color": "#495057"}, "name": name}
        return _figure([bar], height=max(220, 26 * len(top) + 90),
                       margin={"l": 24, "r": 24, "t": 24, "b": 48}, showlegend=False,
                       xaxis={"title": {"text": "gain"}}, yaxis={"type": "category"})
