"""The report's position-bias section: the examination curve and the naive and corrected
numbers side by side. Built only when results.json has a ``position`` block (ranked-list
logs); a voice log's report has no such section, so it is what it was."""

from __future__ import annotations

from typing import Any

from seemingly.report._format import ci_pair, fmt_ci, fmt_int, fmt_num, fmt_pct, num
from seemingly.report.figures import OUTCOMES, STRATEGIES, Fig, _figure, strategy_values
from seemingly.results import Results
from seemingly.results.explain import LevelRate, OverviewBlock, ShareRate, Term

__all__ = ["position_context", "examination_figure"]

_TERM_NAMES = {
    "popularity": "popularity (per doubling of purchases)",
    "price_ratio": "price (per doubling of the price ratio)",
    "semantic": "semantic relation (per +0.1)",
    "copurchase": "co-purchase (per doubling of 1 + lift)",
    "history": "bought the product before",
    "short": "short query (vs medium)",
    "long": "long query (vs medium)",
}
_METHOD = {
    "harvesting": "intervention harvesting: the logged stochastic policy showed the same "
                  "(query, product) at several positions, and its engagement rate across "
                  "positions gives the curve",
    "em": "a position-based click model fitted by EM on engagements (the log has no "
          "stochastic-policy propensities)",
}


def examination_figure(results: Results) -> Fig | None:
    """Examination probability by position (relative to position 1) with intervals."""
    block = results.position
    if block is None or not block.examination:
        return None
    xs, ys, up, down = [], [], [], []
    for p in block.examination:
        v = num(p.value)
        if v is None:
            continue
        lo, hi = ci_pair(p.ci)
        xs.append(p.position)
        ys.append(v)
        up.append(max(0.0, hi - v) if hi is not None else 0.0)
        down.append(max(0.0, v - lo) if lo is not None else 0.0)
    trace = {"type": "scatter", "mode": "lines+markers", "x": xs, "y": ys,
             "name": "examination", "marker": {"color": "#4c6ef5"},
             "error_y": {"type": "data", "array": up, "arrayminus": down}}
    return _figure([trace], height=320, xaxis={"title": {"text": "position"}, "dtick": 1},
                   yaxis={"title": {"text": "examination (position 1 = 1)"},
                          "rangemode": "tozero"})


def _level_row(name: str, naive: LevelRate | ShareRate | None,
               corrected: LevelRate | ShareRate | None) -> dict[str, str]:
    return {"name": name,
            "naive": fmt_pct(naive.value) if naive else "n/a",
            "naive_ci": fmt_ci(naive.ci, fmt_pct) if naive else "",
            "corrected": fmt_pct(corrected.value) if corrected else "n/a",
            "corrected_ci": fmt_ci(corrected.ci, fmt_pct) if corrected else ""}


def _levels(naive: OverviewBlock | None, corr: OverviewBlock | None) -> list[dict[str, str]]:
    rows = []
    for attr, oname in (("purchase_level", "purchase"), ("engagement_level", "engagement")):
        for group in ("relevant", "irrelevant"):
            n = getattr(getattr(naive, attr), group) if naive and getattr(naive, attr) else None
            c = getattr(getattr(corr, attr), group) if corr and getattr(corr, attr) else None
            rows.append(_level_row(f"{oname} level, {group}", n, c))
    for key in ("purchases", "engagements"):
        n = getattr(naive.irrelevant_share, key) if naive and naive.irrelevant_share else None
        c = getattr(corr.irrelevant_share, key) if corr and corr.irrelevant_share else None
        rows.append(_level_row(f"share of {key} to irrelevant", n, c))
    return rows


def _term(t: Term | None) -> dict[str, str]:
    if t is None:
        return {"value": "n/a", "ci": ""}
    return {"value": f"{fmt_num(t.estimate)} ({t.direction})", "ci": fmt_ci(t.ci)}


def position_context(results: Results) -> dict[str, Any] | None:
    """The section's strings; None without a position block."""
    block = results.position
    if block is None:
        return None
    curve = [{"position": str(p.position), "value": fmt_num(p.value),
              "ci": fmt_ci(p.ci), "offers": fmt_int(p.offers)} for p in block.examination]
    terms = []
    for name, by in block.hypotheses.items():
        cells = []
        for outcome, _ in OUTCOMES:
            tc = by.get(outcome)
            cells.append({"naive": _term(tc.naive if tc else None),
                          "corrected": _term(tc.corrected if tc else None)})
        terms.append({"name": _TERM_NAMES.get(name, name), "cells": cells})
    strategies = []
    naive_st, corr_st = results.strategies, block.strategies
    for s in STRATEGIES:
        row: list[dict[str, str]] = []
        for outcome, _ in OUTCOMES:
            nv = strategy_values(getattr(naive_st, outcome))[s] if naive_st else None
            cv = strategy_values(getattr(corr_st, outcome))[s] if corr_st else None
            cci = getattr(corr_st, outcome).ci.get(s) if corr_st else None
            row.append({"naive": fmt_num(nv), "corrected": fmt_num(cv), "ci": fmt_ci(cci)})
        strategies.append({"name": s.capitalize(), "cells": row})
    return {
        "method": _METHOD.get(block.method, block.method),
        "correction": block.correction,
        "curve": curve,
        "levels": _levels(results.overview, results.overview_corrected),
        "terms": terms,
        "strategies": strategies,
        "notes": list(block.notes),
        "max_position": str(block.max_position),
    }
