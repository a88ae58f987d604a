"""The HTML report without a browser: sections, escaping, CSP, re-rendering, missing blocks."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from support.fixtures_report import (
    FIGURES_IN_SAMPLE,
    HYPOTHESES,
    XSS_CATEGORY,
    XSS_QUERY,
    XSS_TITLE,
    sample_results,
    without,
)
from typer.testing import CliRunner

from seemingly.cli import app
from seemingly.errors import ContractError
from seemingly.report import render_html, render_report
from seemingly.report.figures import pareto_front


class Page(HTMLParser):
    """Elements, attributes, script bodies and visible text of a page, as a browser parses them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def figures(self) -> list[dict[str, Any]]:
        return [json.loads(a["data-figure"] or "") for t, a in self.tags if "data-figure" in a]


@pytest.fixture(scope="module")
def sample_html() -> str:
    return render_html(sample_results())


@pytest.fixture(scope="module")
def sample_page(sample_html: str) -> Page:
    return Page(sample_html)


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}">')
    return html[start : html.index("</section>", start)]


def test_every_section_and_figure_is_present(sample_html: str, sample_page: Page) -> None:
    for sid in (
        "headline",
        "data",
        "hypotheses",
        "strategies",
        "tradeoff",
        "models",
        "examples",
        "tables",
        "methods",
        "run",
    ):
        assert f'<section id="{sid}">' in sample_html
        assert "Skipped:" not in _section(sample_html, sid), sid
    for name in HYPOTHESES:
        assert f'id="h-{name}"' in sample_html
    assert len(sample_page.figures()) == FIGURES_IN_SAMPLE
    # Headline numbers come from overview.irrelevant_share (0.119, 0.158) and the PL ratio.
    text = " ".join(" ".join(sample_page.text).split())
    assert "11.9% of purchases and 15.8% of engagements went to products" in text
    assert f"({0.034 / 0.081:.2f}× as often)" in text
    assert "Stuffed burger press" in text and "Angus beef burgers, 8 pack" in text
    # Holm-corrected verdicts: co-purchase is the one the sample does not support (p_adj 0.8).
    summary = _section(sample_html, "hypotheses").split("</table>")[0]
    row = summary[summary.index("Co-purchase relation") :].split("</tr>")[0]
    assert row.count("not supported") == 2
    assert summary.count('class="badge yes"') == 12


def test_curve_bands_and_error_bars_carry_the_intervals(sample_page: Page) -> None:
    figs = sample_page.figures()
    # The popularity figure (2nd): a filled band whose upper edge is the first bin's ci[1].
    curve = sample_results()["hypotheses"]["popularity"]["purchase"]["curve"]
    bands = [t for t in figs[1]["data"] if t.get("fill") == "toself"]
    assert len(bands) == 4  # irrelevant + relevant, purchase + engagement
    assert bands[0]["y"][0] == pytest.approx(curve[0]["ci"][1])
    assert bands[0]["y"][-1] == pytest.approx(curve[0]["ci"][0])
    # The overview bars: error_y spans the overview CIs.
    bar = figs[0]["data"][1]  # judged irrelevant
    assert bar["y"][0] == pytest.approx(0.034)
    assert bar["error_y"]["array"][0] == pytest.approx(0.038 - 0.034)
    assert bar["error_y"]["arrayminus"][0] == pytest.approx(0.034 - 0.031)


def test_user_strings_are_escaped_everywhere(sample_html: str, sample_page: Page) -> None:
    for raw in (XSS_TITLE, XSS_QUERY, XSS_CATEGORY, "<b>bold</b>"):
        assert raw not in sample_html
    # Parsed as a browser would: exactly the two trusted scripts, no injected elements or handlers.
    assert [t for t, _ in sample_page.tags].count("script") == 2
    assert not any(t == "img" for t, _ in sample_page.tags)
    assert not any(k.startswith("on") for _, attrs in sample_page.tags for k in attrs)
    text = "".join(sample_page.text)
    for raw in (XSS_TITLE, XSS_QUERY, XSS_CATEGORY, "<b>bold</b> & co"):
        assert raw in text  # shown literally
    # In figures, user labels are entity-escaped so Plotly prints them instead of reading tags.
    category_fig = sample_page.figures()[3]
    ticks = [x for trace in category_fig["data"] for x in trace["x"]]
    assert "&lt;img src=x onerror=alert(3)&gt;" in ticks
    assert not any("<" in str(x) for x in ticks)


def test_figure_json_has_no_raw_angle_brackets(sample_html: str) -> None:
    for m in re.finditer(r'data-figure="([^"]*)"', sample_html):
        assert "<" not in m.group(1) and ">" not in m.group(1)


def test_csp_hashes_match_the_inline_scripts(sample_page: Page) -> None:
    meta = [
        a
        for t, a in sample_page.tags
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(meta) == 1
    policy = meta[0]["content"] or ""
    for body in sample_page.scripts:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "http" not in policy  # nothing may load from the network
    assert len(sample_page.scripts[0]) > 1_000_000  # plotly.js is inlined


def test_rerender_from_results_dir_and_cli(tmp_path: Path) -> None:
    results = sample_results()
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "pairs.csv").write_text("query,product_id,offers\nq,p,3\n")
    (tmp_path / "results.json").write_text(json.dumps(results))
    out = render_report(tmp_path)
    assert out == tmp_path / "report.html"
    page = out.read_text()
    assert 'href="tables/pairs.csv"' in page and "query, product_id, offers" in page
    assert 4e6 < out.stat().st_size < 6e6

    # Edit results.json and re-render through the CLI: the page follows the file, no recompute.
    results["overview"]["irrelevant_share"]["purchases"] = 0.234
    (tmp_path / "results.json").write_text(json.dumps(results))
    other = tmp_path / "elsewhere" / "r.html"
    res = CliRunner().invoke(app, ["report", str(tmp_path), "--out", str(other)])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output
    assert "23.4% of purchases" in other.read_text()
    assert 'href="../tables/pairs.csv"' in other.read_text()


def test_cli_and_loader_errors_say_what_to_do(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert res.exit_code == 2
    assert "results.json" in res.output and "seemingly study" in res.output
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(ContractError, match="not valid JSON"):
        render_report(tmp_path)
    (tmp_path / "results.json").write_text("[1, 2]")
    with pytest.raises(ContractError, match="JSON object"):
        render_report(tmp_path)


def test_no_offers_skips_every_outcome_section() -> None:
    results = {
        "contract_version": 1,
        "data": {
            "offers": 0,
            "offers_judged": 0,
            "queries": 0,
            "products": 40,
            "users": 0,
            "quarantined": {},
            "warnings": [],
        },
    }
    html = render_html(results)
    for sid in ("headline", "hypotheses", "strategies", "tradeoff", "models", "examples"):
        assert "Skipped:</strong> the data has no offers" in _section(html, sid), sid
    assert Page(html).figures() == []
    assert "Skipped:" not in _section(html, "data")


# Figures each block contributes to the sample (see FIGURES_IN_SAMPLE).
BLOCK_FIGURES = {
    "overview": 1,
    "hypotheses": 7,
    "strategies": 1,
    "tradeoff": 2,
    "models": 3,
    "examples": 0,
    "data": 0,
    "run": 0,
}
BLOCK_SECTION = {
    "overview": "headline",
    "hypotheses": "hypotheses",
    "strategies": "strategies",
    "tradeoff": "tradeoff",
    "models": "models",
    "examples": "examples",
    "data": "data",
}


@pytest.mark.parametrize("block", sorted(BLOCK_FIGURES))
def test_a_missing_block_is_skipped_with_a_reason(block: str) -> None:
    html = render_html(without(sample_results(), block))
    page = Page(html)
    assert len(page.figures()) == FIGURES_IN_SAMPLE - BLOCK_FIGURES[block]
    if block in BLOCK_SECTION:
        section = _section(html, BLOCK_SECTION[block])
        assert f"results.json has no &#39;{block}&#39; block" in section


def test_explicit_skip_reason_and_partial_hypotheses() -> None:
    results = sample_results()
    results["skipped"] = {"tradeoff": "no judgments <for> the relevance model"}
    del results["tradeoff"]
    del results["hypotheses"]["price"]
    results["hypotheses"]["popularity"] = {"purchase": {"curve": [], "supported": None}}
    html = render_html(results)
    assert "Skipped:</strong> no judgments &lt;for&gt; the relevance model" in html
    assert "Price: not in results.json" in html
    pop = html[html.index('id="h-popularity"') :].split("</article>")[0]
    assert "this factor has no estimates or curves" in pop
    assert "data-figure=" not in pop


GARBAGE = [None, "text", 3, [], [1, "a"], {"x": None}, float("nan"), True]


@pytest.mark.parametrize("junk", GARBAGE, ids=repr)
def test_malformed_values_render_as_not_available(junk: Any) -> None:
    """Every block and every effect field replaced by junk still renders a page."""
    results: dict[str, Any] = {
        k: junk
        for k in (
            "data",
            "overview",
            "strategies",
            "tradeoff",
            "models",
            "examples",
            "run",
            "hypotheses",
        )
    }
    html = render_html(results)
    assert '<section id="run">' in html
    effect = {
        k: junk
        for k in (
            "estimate",
            "ci",
            "p_value",
            "p_adjusted",
            "supported",
            "direction",
            "unit",
            "curve",
            "univariate",
            "categories",
            "heterogeneity",
            "short",
            "long",
            "brand",
        )
    }
    sample = sample_results()
    sample["hypotheses"] = {n: {"purchase": effect, "engagement": junk} for n in HYPOTHESES}
    sample["tradeoff"]["purchase"]["fusion"] = [{"relevance_at_1": junk, "weight": junk}]
    sample["models"]["purchase"]["feature_importance"] = {"a": junk}
    assert 'id="h-price"' in render_html(sample)


def test_nan_never_reaches_figure_json() -> None:
    results = sample_results()
    results["overview"]["purchase_level"]["relevant"]["value"] = math.nan
    results["hypotheses"]["price"]["purchase"]["curve"][0]["rate"] = math.inf
    for fig in Page(render_html(results)).figures():
        assert "NaN" not in json.dumps(fig) and "Infinity" not in json.dumps(fig)


def test_pareto_front_hand_worked() -> None:
    # (0.5, 0.3) is dominated by (0.6, 0.3); (0.7, 0.1) by (0.8, 0.2); the rest trade off.
    points = [(0.9, 0.1), (0.5, 0.3), (0.6, 0.3), (0.7, 0.1), (0.8, 0.2), (0.2, 0.5)]
    assert pareto_front(points) == [(0.2, 0.5), (0.6, 0.3), (0.8, 0.2), (0.9, 0.1)]
    assert pareto_front([]) == []


def test_missing_run_block_shows_not_available() -> None:
    run = _section(render_html({"contract_version": 1}), "run")
    assert run.count("Not available.") == 2
    assert "n/a" not in run


def test_relations_block_renders_escaped_and_skips_when_absent() -> None:
    from seemingly.report import render_html

    results = {
        "contract_version": 1,
        "relations": {
            "semantic": {"mean_relevant": 0.594, "note": "<b>bold</b>"},
            "copurchase": {"baskets": 18405},
        },
        "skipped": {"relations": "no judgments"},
    }
    page = render_html(results)
    section = page[page.index('<section id="relations">'):page.index('<section id="models">')]
    assert "Semantic relation" in section and "Co-purchase relation" in section
    assert "18405" in section.replace(",", "") and "0.594" in section
    assert "&lt;b&gt;bold&lt;/b&gt;" in section and "<b>bold</b>" not in section
    page = render_html({"contract_version": 1, "skipped": {"relations": "no judgments table"}})
    section = page[page.index('<section id="relations">'):page.index('<section id="models">')]
    assert "no judgments table" in section
