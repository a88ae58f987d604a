"""Plotly figures of the report, each built from one results.json block.

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
from typing import Any

from seemingly.report._format import as_dict, as_list, ci_pair, dig, num

__all__ = ["Figures", "figure_json", "pareto_front"]

Fig = dict[str, Any]

IRRELEVANT = "#d95f02"
RELEVANT = "#1b9e77"
OUTCOME_COLORS = {"purchase": "#4c6ef5", "engagement": "#e8590c"}
OUTCOMES = (("purchase", "Purchase"), ("engagement", "Engagement"))
STRATEGIES = ("optimal", "relevant", "irrelevant", "random", "worst")
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


def _curve_rows(curve: Any) -> list[Row]:
    rows = []
    for row in as_list(curve):
        if isinstance(row, dict) and "bin" in row:
            lo, hi = ci_pair(row.get("ci"))
            rows.append((str(row["bin"]), num(row.get("rate")), lo, hi, row.get("offers")))
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


def _tradeoff_points(rows: Any, level_key: str) -> list[tuple[float, float, Any]]:
    out = []
    for r in as_list(rows):
        x, y = num(dig(r, "relevance_at_1")), num(dig(r, level_key))
        if x is not None and y is not None:
            out.append((x, y, r.get("weight")))
    return out


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not dominated when both coordinates are to be maximised, by ascending x."""
    front: list[tuple[float, float]] = []
    best_y = float("-inf")
    for x, y in sorted(set(points), key=lambda p: (-p[0], -p[1])):
        if y > best_y:
            front.append((x, y))
            best_y = y
    return front[::-1]


def _pareto_fusion(marked: Any, fusion: Any, level_key: str) -> list[tuple[float, float]]:
    """``pareto_fusion`` as a list of points, or as a list of fusion weights."""
    out = []
    rows = _tradeoff_points(fusion, level_key)
    for m in as_list(marked):
        if isinstance(m, dict):
            x, y = num(m.get("relevance_at_1")), num(m.get(level_key))
            if x is not None and y is not None:
                out.append((x, y))
        elif (weight := num(m)) is not None:
            out += [(r[0], r[1]) for r in rows if num(r[2]) == weight]
    return out


class Figures:
    """Builders for each figure; all take plain results.json blocks and return Plotly JSON."""

    @staticmethod
    def overview(overview: Any) -> Fig | None:
        data = []
        for group, color, name in (("relevant", RELEVANT, "judged relevant"),
                                   ("irrelevant", IRRELEVANT, "judged irrelevant")):
            x, y, bars = [], [], []
            for key, text in (("purchase_level", "Purchase level"),
                              ("engagement_level", "Engagement level")):
                block = as_dict(dig(overview, key, group))
                v = num(block.get("value"))
                if v is not None:
                    x.append(text)
                    y.append(v)
                    bars.append(_error_bars(v, block.get("ci")))
            if x:
                data.append(_bar(x, y, bars, name, color))
        if not data:
            return None
        return _figure(data, height=320, barmode="group",
                       yaxis={"tickformat": ".1%", "title": {"text": "share of offers"}})

    @staticmethod
    def curve(effects: Any, title: str) -> Fig | None:
        """Irrelevant vs relevant level per factor bin, purchase and engagement side by side."""
        data: list[dict[str, Any]] = []
        layout: dict[str, Any] = {"annotations": []}
        for col, (outcome, oname) in enumerate(OUTCOMES, start=1):
            effect = as_dict(dig(effects, outcome))
            irr = _curve_rows(effect.get("curve"))
            rel = _curve_rows(effect.get("curve_relevant"))
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
    def categories(effects: Any) -> Fig | None:
        """Irrelevant / relevant level ratio per category with its interval."""
        data = []
        for outcome, name in OUTCOMES:
            x, y, bars = [], [], []
            for r in as_list(dig(effects, outcome, "categories")):
                v = num(dig(r, "ratio"))
                if v is not None:
                    x.append(plot_text(r.get("category")))
                    y.append(v)
                    bars.append(_error_bars(v, r.get("ci")))
            if x:
                data.append(_bar(x, y, bars, name, OUTCOME_COLORS[outcome]))
        if not data:
            return None
        return _figure(data, barmode="group", xaxis={"type": "category"},
                       yaxis={"title": {"text": "irrelevant / relevant level"},
                              "rangemode": "tozero"},
                       shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 1, "y1": 1,
                                "line": {"dash": "dash", "color": "#868e96", "width": 1}}])

    @staticmethod
    def strategies(block: Any) -> Fig | None:
        data = []
        for outcome, name in OUTCOMES:
            st = as_dict(dig(block, outcome))
            x, y, bars = [], [], []
            for s in STRATEGIES:
                v = num(st.get(s))
                if v is not None:
                    x.append(s.capitalize())
                    y.append(v)
                    bars.append(_error_bars(v, dig(st, "ci", s)))
            if x:
                data.append(_bar(x, y, bars, name, OUTCOME_COLORS[outcome]))
        if not data:
            return None
        return _figure(data, height=320, barmode="group",
                       yaxis={"title": {"text": "level, optimal = 1"}, "rangemode": "tozero"})

    @staticmethod
    def tradeoff(block: Any, level_key: str, outcome_name: str) -> Fig | None:
        """Relevance@1 against the outcome level@1 for the fusion sweep and the joint model."""
        data: list[dict[str, Any]] = []
        points: list[tuple[float, float]] = []
        for name, color, symbol in (("fusion", "#4c6ef5", "circle"),
                                    ("joint", "#e8590c", "diamond")):
            rows = _tradeoff_points(dig(block, name), level_key)
            if not rows:
                continue
            points += [(r[0], r[1]) for r in rows]
            data.append({
                "type": "scatter", "mode": "lines+markers", "x": [r[0] for r in rows],
                "y": [r[1] for r in rows],
                "name": "fusion sweep" if name == "fusion" else "joint model",
                "line": {"color": color}, "marker": {"symbol": symbol, "size": 8},
                "hovertext": [f"{name} weight {plot_text(r[2])}" for r in rows],
                "hoverinfo": "text+x+y"})
        if not points:
            return None
        front = pareto_front(points)
        data.append({
            "type": "scatter", "mode": "lines", "name": "Pareto front", "hoverinfo": "skip",
            "x": [p[0] for p in front], "y": [p[1] for p in front],
            "line": {"color": "#212529", "dash": "dash", "width": 1, "shape": "vh"}})
        marked = _pareto_fusion(dig(block, "pareto_fusion"), dig(block, "fusion"), level_key)
        if marked:
            data.append({
                "type": "scatter", "mode": "markers", "name": "fusion Pareto points",
                "hoverinfo": "skip", "x": [m[0] for m in marked], "y": [m[1] for m in marked],
                "marker": {"size": 14, "color": "rgba(0,0,0,0)",
                           "line": {"color": "#4c6ef5", "width": 2}}})
        return _figure(data, xaxis={"title": {"text": "relevance@1"}},
                       yaxis={"title": {"text": f"{outcome_name} level@1"}})

    @staticmethod
    def importance(model: Any, name: str) -> Fig | None:
        gains = [(str(k), num(v)) for k, v in as_dict(dig(model, "feature_importance")).items()]
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
