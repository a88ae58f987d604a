"""The report's off-policy parts: on the frontier chart (right axis, the estimator named)
and in a table per objective; a voice study (no off_policy block) renders as before."""

from __future__ import annotations

import json
import re

import pytest

from seemingly.report import render_html
from seemingly.results import OffPolicyBlock, Results
from seemingly.results.offpolicy import fusion_ranker


def _figures(section: str) -> list[dict]:
    return [json.loads(m.replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&"))
            for m in re.findall(r'data-figure="([^"]*)"', section)]


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}">')
    return html[start: html.index("</section>", start)]


def _with_off_policy(results: Results) -> tuple[Results, dict]:
    assert results.tradeoff is not None
    raw: dict = {}
    for objective in ("purchase", "engagement"):
        ob = getattr(results.tradeoff, objective)
        rankers = {"strategy:relevant": {
            e: {"value": 0.123, "ci": [0.1, 0.15], "ess": 812.4} for e in ("ips", "snips", "dr")}}
        for i, p in enumerate(ob.fusion):
            v = 0.2 + 0.01 * i
            rankers[fusion_ranker(p.weight)] = {
                "ips": {"value": v + 0.001, "ci": [v - 0.02, v + 0.03], "ess": 500.0},
                "snips": {"value": v + 0.002, "ci": [v - 0.02, v + 0.03], "ess": 500.0},
                "dr": {"value": v, "ci": [v - 0.02, v + 0.03], "ess": 500.0}}
        raw[objective] = rankers
    block = OffPolicyBlock.model_validate(raw)
    return results.model_copy(update={"off_policy": block}), raw


def test_voice_report_has_no_off_policy(results: Results) -> None:
    assert results.off_policy is None
    html = _section(render_html(results), "tradeoff")
    assert "off-policy" not in html
    for fig in _figures(html):
        assert "yaxis2" not in fig["layout"]


def test_frontier_chart_draws_the_dr_estimates(results: Results) -> None:
    variant, raw = _with_off_policy(results)
    html = render_html(variant)
    section = _section(html, "tradeoff")
    # the two frontier charts come first; the factor ablation's charts follow them
    figs = _figures(section)
    assert len(figs) == 4
    figs = figs[:2]
    for fig, objective in zip(figs, ("purchase", "engagement"), strict=True):
        trace = next(t for t in fig["data"] if "off-policy" in t.get("name", ""))
        assert trace["name"] == "fusion sweep, off-policy DR (right axis)"
        assert trace["yaxis"] == "y2"
        assert fig["layout"]["yaxis2"]["title"]["text"] == "off-policy DR, per request"
        points = [p for p in getattr(results.tradeoff, objective).fusion
                  if p.relevance_at_1 is not None]
        want = [raw[objective][fusion_ranker(p.weight)]["dr"]["value"] for p in points]
        assert trace["y"] == pytest.approx(want)
        assert trace["x"] == pytest.approx([p.relevance_at_1 for p in points])
        assert trace["error_y"]["array"] == pytest.approx([0.03] * len(want))
        assert trace["error_y"]["arrayminus"] == pytest.approx([0.02] * len(want))
    text = " ".join(re.sub(r"<[^>]+>", " ", section).split())
    assert "Purchase: level@1 estimated off-policy" in text
    assert "strategy: relevant 12.3% [10.0%, 15.0%] 12.3% [10.0%, 15.0%]" in text
    assert "doubly robust (DR) estimator" in text  # the caption names it
    assert "Off-policy estimates." in " ".join(_section(html, "methods").split())
