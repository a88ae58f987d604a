"""The factor ablation in the report: crude and full frontiers, the table "what each factor
buys", and each group's difference beside its hypothesis verdict."""

from __future__ import annotations

import json
import re
from html import unescape

from seemingly.report import render_html
from seemingly.report._format import fmt_ci, fmt_num
from seemingly.results import Results


def _between(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i: html.index(end, i)]


def test_ablation_table_and_frontiers_show_the_block(results: Results) -> None:
    assert results.tradeoff is not None and results.tradeoff.ablation is not None
    ab = results.tradeoff.ablation
    html = render_html(results)
    part = _between(html, 'id="ablation"', "</section>")
    figures = [json.loads(unescape(f)) for f in re.findall(r'data-figure="([^"]*)"', part)]
    assert len(figures) == 2  # one chart per objective
    for fig, variants in zip(figures, (ab.purchase, ab.engagement), strict=True):
        names = {t["name"] for t in fig["data"]}
        assert names == {"factor-aware (all features)", "crude (text match only)",
                         "factor-aware (all features): Pareto front",
                         "crude (text match only): Pareto front"}
        crude = next(t for t in fig["data"] if t["name"] == "crude (text match only)")
        assert crude["x"] == [p.relevance_at_1 for p in variants["crude"].frontier]
    for variants in (ab.purchase, ab.engagement):
        for v in variants.values():
            cell = f"{fmt_num(v.difference)} {fmt_ci(v.difference_ci)}".strip()
            assert unescape(cell) in unescape(part)
    assert part.count("<tr>") >= 2 * (1 + len(ab.purchase))  # header + one row per variant


def test_hypothesis_table_shows_what_each_group_buys(results: Results) -> None:
    assert results.tradeoff is not None and results.tradeoff.ablation is not None
    ab = results.tradeoff.ablation
    html = render_html(results)
    summary = _between(html, '<section id="hypotheses">', "</table>")
    assert "buys in ranking" in summary
    for group in ab.groups:
        row = _between(summary, f'href="#h-{group}"', "</tr>")
        for variants in (ab.purchase, ab.engagement):
            v = variants[f"without_{group}"]
            text = f"{fmt_num(v.difference)} {fmt_ci(v.difference_ci)}".strip()
            assert unescape(text) in unescape(row), group
    # without the ablation the columns are gone, and the rest still renders
    plain = results.model_copy(update={"tradeoff": results.tradeoff.model_copy(
        update={"ablation": None})})
    html = render_html(plain)
    assert "buys in ranking" not in html and 'id="ablation"' not in html
