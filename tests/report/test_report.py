"""The HTML report without a browser: sections, escaping, CSP, re-rendering, missing blocks.

Input: the results of a real small study (``conftest.py``) and variants of them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.fixtures_report import (
    XSS_CATEGORY,
    XSS_QUERY,
    XSS_RELEVANT,
    XSS_TITLE,
    expected_figures,
    without,
)
from typer.testing import CliRunner

from seemingly.cli import app
from seemingly.report import render_html, render_results_dir
from seemingly.report.text import HYPOTHESES
from seemingly.results import HypothesesBlock, Results, ResultsFileError


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

    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture(scope="module")
def sample_html(hostile_results: Results) -> str:
    return render_html(hostile_results)


@pytest.fixture(scope="module")
def sample_page(sample_html: str) -> Page:
    return Page(sample_html)


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}">')
    return html[start : html.index("</section>", start)]


def _pct(x: float | None, digits: int) -> str:
    assert x is not None
    return f"{100 * x:.{digits}f}%"


def test_the_small_study_fills_every_block(results: Results) -> None:
    """The fixture is only useful if it exercises everything the report draws."""
    for block in ("data", "overview", "hypotheses", "examples", "strategies", "tradeoff",
                  "models", "relations", "run"):
        assert getattr(results, block) is not None, block
    assert set(results.hypotheses or {}) == set(HYPOTHESES)
    assert set(results.models or {}) == {"relevance", "purchase", "engagement"}
    flags = [e.supported for h in (results.hypotheses or {}).values() for e in h.values()]
    assert True in flags and False in flags  # both badges appear
    assert results.skipped is None


def test_every_section_and_figure_is_present(
    results: Results, sample_html: str, sample_page: Page
) -> None:
    for sid in ("headline", "data", "hypotheses", "strategies", "tradeoff", "relations",
                "models", "examples", "tables", "methods", "run"):
        assert f'<section id="{sid}">' in sample_html
        assert "Skipped:" not in _section(sample_html, sid), sid
    for name in HYPOTHESES:
        assert f'id="h-{name}"' in sample_html
    assert len(sample_page.figures()) == expected_figures(results) == 1 + 7 + 1 + 2 + 2 + 3
    # Headline numbers: overview.irrelevant_share and the purchase-level ratio.
    ov = results.overview
    assert ov is not None and ov.irrelevant_share is not None and ov.purchase_level is not None
    text = sample_page.words()
    share = ov.irrelevant_share
    assert (f"{_pct(share.purchases.value, 1)} of purchases and "
            f"{_pct(share.engagements.value, 1)} of engagements went to products") in text
    irr, rel = ov.purchase_level.irrelevant.value, ov.purchase_level.relevant.value
    assert irr is not None and rel is not None
    assert f"({irr / rel:.2f}× as often)" in text
    assert results.examples is not None
    first = results.examples["purchase"][0]
    assert first.title and first.title in text
    assert first.relevant_titles and first.relevant_titles[0] in text
    # Verdict badges follow the Holm-corrected `supported` flags, hypothesis by hypothesis.
    summary = _section(sample_html, "hypotheses").split("</table>")[0]
    for name, effects in (results.hypotheses or {}).items():
        row = summary[summary.index(f'href="#h-{name}"') :].split("</tr>")[0]
        assert row.count("not supported") == sum(not e.supported for e in effects.values()), name
    supported = sum(e.supported for h in (results.hypotheses or {}).values() for e in h.values())
    assert summary.count('class="badge yes"') == supported


def test_curve_bands_and_error_bars_carry_the_intervals(
    results: Results, sample_page: Page
) -> None:
    figs = sample_page.figures()
    # The popularity figure (2nd): a filled band whose upper edge is the first bin's ci[1].
    assert results.hypotheses is not None
    curve = results.hypotheses["popularity"]["purchase"].curve
    bands = [t for t in figs[1]["data"] if t.get("fill") == "toself"]
    assert len(bands) == 4  # irrelevant + relevant, purchase + engagement
    assert bands[0]["y"][0] == pytest.approx(curve[0].ci[1])
    assert bands[0]["y"][-1] == pytest.approx(curve[0].ci[0])
    # The overview bars: error_y spans the overview CIs.
    assert results.overview is not None and results.overview.purchase_level is not None
    level = results.overview.purchase_level.irrelevant
    assert level.value is not None and level.ci is not None
    lo, hi = level.ci
    assert lo is not None and hi is not None
    bar = figs[0]["data"][1]  # judged irrelevant
    assert bar["y"][0] == pytest.approx(level.value)
    assert bar["error_y"]["array"][0] == pytest.approx(hi - level.value)
    assert bar["error_y"]["arrayminus"][0] == pytest.approx(level.value - lo)


def test_split_effects_and_category_rows_show_their_numbers(
    results: Results, sample_html: str
) -> None:
    """Fields the report once read under other names (and showed as n/a)."""
    hyps = results.hypotheses
    assert hyps is not None
    length = hyps["query_length"]["purchase"]
    assert length.univariate is not None and length.short is not None
    uni_short = getattr(length.univariate, "short", None)
    assert uni_short is not None
    article = sample_html[sample_html.index('id="h-query_length"') :].split("</article>")[0]
    row = article[article.index("Purchase: short vs medium queries") :].split("</tr>")[0]
    assert f"{uni_short.estimate:.3g}" in row and f"{length.short.estimate:.3g}" in row
    category = hyps["category"]["purchase"].categories or []
    article = sample_html[sample_html.index('id="h-category"') :].split("</article>")[0]
    row = article[article.index(f"<td>{category[1].category}</td>") :].split("</tr>")[0]
    for rate in (category[1].irrelevant.rate, category[1].relevant.rate):
        assert rate is not None and f"{100 * rate:.1f}%" in row
    assert "n/a" not in row


def test_user_strings_are_escaped_everywhere(sample_html: str, sample_page: Page) -> None:
    for raw in (XSS_TITLE, XSS_QUERY, XSS_CATEGORY, "<b>bold</b>"):
        assert raw not in sample_html
    # Parsed as a browser would: exactly the two trusted scripts, no injected elements or handlers.
    assert [t for t, _ in sample_page.tags].count("script") == 2
    assert not any(t == "img" for t, _ in sample_page.tags)
    assert not any(k.startswith("on") for _, attrs in sample_page.tags for k in attrs)
    text = "".join(sample_page.text)
    for raw in (XSS_TITLE, XSS_QUERY, XSS_CATEGORY, XSS_RELEVANT):
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


def _frontier_traces(fig: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in fig["data"] if t["name"].endswith("Pareto front")}


def test_real_report_has_frontier_markers_on_the_tradeoff_charts(
    results: Results, sample_page: Page
) -> None:
    """Each sweep's ringed front is exactly the points the trade-off stage flagged."""
    from seemingly.ranking.tradeoff.pareto import pareto_mask

    assert results.tradeoff is not None
    # the two trade-off charts sit before the two ablation charts and 3 importances
    charts = sample_page.figures()[-7:-5]
    for fig, block in zip(charts, (results.tradeoff.purchase, results.tradeoff.engagement),
                          strict=True):
        fronts = _frontier_traces(fig)
        assert set(fronts) == {"fusion sweep: Pareto front", "joint model: Pareto front"}
        for name, points in (("fusion sweep", block.fusion), ("joint model", block.joint)):
            trace = fronts[f"{name}: Pareto front"]
            flagged = sorted((p.relevance_at_1, p.level_at_1) for p in points if p.on_frontier)
            assert flagged  # a sweep's front is never empty
            assert trace["x"] == pytest.approx([f[0] for f in flagged])
            assert trace["y"] == pytest.approx([f[1] for f in flagged])
            assert "markers" in trace["mode"] and trace["marker"]["size"] > 8
            # The flags are the ranking package's one Pareto rule, not a second copy here.
            xy = np.array([(p.relevance_at_1, p.level_at_1) for p in points], float)
            assert [p.on_frontier for p in points] == list(pareto_mask(xy))


def test_frontier_follows_hand_set_flags(results: Results) -> None:
    assert results.tradeoff is not None
    block = results.tradeoff.purchase
    fusion = [p.model_copy(update={"on_frontier": i in (0, 2)})
              for i, p in enumerate(block.fusion)]
    joint = [p.model_copy(update={"on_frontier": False}) for p in block.joint]
    tradeoff = results.tradeoff.model_copy(
        update={"purchase": block.model_copy(update={"fusion": fusion, "joint": joint})})
    html = render_html(results.model_copy(update={"tradeoff": tradeoff}))
    fig = Page(_section(html, "tradeoff")).figures()[0]
    fronts = _frontier_traces(fig)
    assert set(fronts) == {"fusion sweep: Pareto front"}  # no flag, no joint front
    expected = sorted((fusion[i].relevance_at_1, fusion[i].level_at_1) for i in (0, 2))
    trace = fronts["fusion sweep: Pareto front"]
    assert trace["x"] == pytest.approx([e[0] for e in expected])
    assert trace["y"] == pytest.approx([e[1] for e in expected])


def _copy_study(study_dir: Path, to: Path) -> Path:
    shutil.copy(study_dir / "results.json", to / "results.json")
    shutil.copytree(study_dir / "tables", to / "tables")
    return to


def test_rerender_from_results_dir_and_cli(study_dir: Path, tmp_path: Path) -> None:
    folder = _copy_study(study_dir, tmp_path)
    out = render_results_dir(folder)
    assert out == tmp_path / "report.html"
    page = out.read_text()
    header = (folder / "tables" / "levels.csv").read_text().splitlines()[0].split(",")
    assert 'href="tables/levels.csv"' in page and ", ".join(header[:3]) in page
    assert 4e6 < out.stat().st_size < 6e6

    # Edit results.json and re-render through the CLI: the page follows the file, no recompute.
    raw = json.loads((folder / "results.json").read_text())
    raw["overview"]["irrelevant_share"]["purchases"]["value"] = 0.234
    (folder / "results.json").write_text(json.dumps(raw))
    other = tmp_path / "elsewhere" / "r.html"
    res = CliRunner().invoke(app, ["report", str(folder), "--out", str(other)])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output
    assert "23.4% of purchases" in other.read_text()
    assert 'href="../tables/levels.csv"' in other.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a results object"),
        ('{"contract_version": 99}', "contract version 99"),
        ('{"contract_version": 1, "data": {"offers": "many"}}', "does not match"),
    ],
)
def test_cli_and_loader_errors_say_what_to_do(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "results.json").write_text(text)
    with pytest.raises(ResultsFileError, match=message) as err:
        render_results_dir(tmp_path)
    assert "seemingly study" in str(err.value)
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2
    assert message in res.output and "seemingly study" in res.output


def test_missing_results_json_says_what_to_do(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert res.exit_code == 2
    assert "results.json" in res.output and "seemingly study" in res.output
    with pytest.raises(TypeError, match="Results.from_json"):
        render_html({"contract_version": 1})  # type: ignore[arg-type]


def test_no_offers_skips_every_outcome_section(results: Results) -> None:
    assert results.data is not None
    empty = results.data.model_copy(
        update={"offers": 0, "offers_judged": 0, "queries": 0, "users": 0})
    html = render_html(Results(data=empty))
    for sid in ("headline", "hypotheses", "strategies", "tradeoff", "models", "examples"):
        assert "Skipped:</strong> the data has no offers" in _section(html, sid), sid
    assert Page(html).figures() == []
    assert "Skipped:" not in _section(html, "data")


# Figures each block contributes to a full report (see expected_figures).
BLOCK_FIGURES = {
    "overview": 1,
    "hypotheses": 7,
    "strategies": 1,
    "tradeoff": 4,
    "models": 3,
    "examples": 0,
    "relations": 0,
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
    "relations": "relations",
    "data": "data",
}


@pytest.mark.parametrize("block", sorted(BLOCK_FIGURES))
def test_a_missing_block_is_skipped_with_a_reason(results: Results, block: str) -> None:
    html = render_html(without(results, block))
    page = Page(html)
    assert len(page.figures()) == expected_figures(results) - BLOCK_FIGURES[block]
    if block in BLOCK_SECTION:
        section = _section(html, BLOCK_SECTION[block])
        assert f"results.json has no &#39;{block}&#39; block" in section


def test_explicit_skip_reason_and_partial_hypotheses(results: Results) -> None:
    hyps = results.hypotheses
    assert hyps is not None
    popularity = hyps["popularity"]["purchase"].model_copy(update={
        "estimate": None, "univariate": None, "curve": [], "curve_relevant": None})
    partial = HypothesesBlock({**{k: v for k, v in hyps.items() if k != "price"},
                               "popularity": {"purchase": popularity}})
    html = render_html(results.model_copy(update={
        "skipped": {"tradeoff": "no judgments <for> the relevance model"},
        "tradeoff": None, "hypotheses": partial}))
    assert "Skipped:</strong> no judgments &lt;for&gt; the relevance model" in html
    assert "Price: not in results.json" in html
    pop = html[html.index('id="h-popularity"') :].split("</article>")[0]
    assert "this factor has no estimates or curves" in pop
    assert "data-figure=" not in pop


def test_missing_numbers_render_as_not_available(results: Results) -> None:
    """Every number the schema allows to be null renders as n/a, never as an error."""
    hyps = results.hypotheses
    assert hyps is not None
    nulls = {"estimate": None, "ci": None, "p_value": None, "p_adjusted": None}
    blank = {name: {o: e.model_copy(update=nulls) for o, e in effects.items()}
             for name, effects in hyps.items()}
    html = render_html(results.model_copy(update={"hypotheses": HypothesesBlock(blank)}))
    price = html[html.index('id="h-price"') :].split("</article>")[0]
    row = price[price.index("<td>Purchase</td>") :].split("</tr>")[0]
    assert row.count("n/a") == 3  # multivariable estimate, p, Holm p; univariate still there


BLOCKS = ("data", "overview", "strategies", "tradeoff", "models", "examples", "run",
          "hypotheses")
GARBAGE = ["text", 3, [], [1, "a"], {"x": None}, True]


@pytest.mark.parametrize("junk", GARBAGE, ids=repr)
@pytest.mark.parametrize("block", BLOCKS)
def test_malformed_blocks_are_refused_with_how_to_regenerate(
    study_dir: Path, tmp_path: Path, block: str, junk: Any
) -> None:
    """A hand-edited results.json with junk in a block is refused with a message, not drawn."""
    raw = json.loads((study_dir / "results.json").read_text())
    raw[block] = junk
    (tmp_path / "results.json").write_text(json.dumps(raw))
    with pytest.raises(ResultsFileError, match=rf"(?s)first at {block}.*seemingly study"):
        render_results_dir(tmp_path)


def test_nan_never_reaches_figure_json(results: Results) -> None:
    raw = results.to_dict()
    raw["overview"]["purchase_level"]["relevant"]["value"] = math.nan
    raw["hypotheses"]["price"]["purchase"]["curve"][0]["rate"] = math.inf
    validated = Results.from_dict(raw)  # the schema turns NaN and inf into null ...
    ov = results.overview
    assert ov is not None and ov.purchase_level is not None
    level = ov.purchase_level.model_copy(update={
        "relevant": ov.purchase_level.relevant.model_copy(update={"value": math.nan})})
    unvalidated = results.model_copy(  # ... and the report's own check catches a model_copy
        update={"overview": ov.model_copy(update={"purchase_level": level})})
    for variant in (validated, unvalidated):
        for fig in Page(render_html(variant)).figures():
            assert "NaN" not in json.dumps(fig) and "Infinity" not in json.dumps(fig)


def test_missing_run_block_shows_not_available() -> None:
    run = _section(render_html(Results()), "run")
    assert run.count("Not available.") == 2
    assert "n/a" not in run


def test_relations_block_renders_escaped_and_skips_when_absent(results: Results) -> None:
    relations = results.relations
    assert relations is not None and relations.semantic is not None
    assert relations.copurchase is not None
    semantic = relations.semantic.model_copy(update={"measure": "<b>bold</b>"})
    page = render_html(results.model_copy(
        update={"relations": relations.model_copy(update={"semantic": semantic})}))
    section = page[page.index('<section id="relations">'):page.index('<section id="models">')]
    assert "Semantic relation" in section and "Co-purchase relation" in section
    assert str(relations.copurchase.baskets) in section.replace(",", "")
    assert "&lt;b&gt;bold&lt;/b&gt;" in section and "<b>bold</b>" not in section
    page = render_html(Results(skipped={"relations": "no judgments table"}))
    section = page[page.index('<section id="relations">'):page.index('<section id="models">')]
    assert "no judgments table" in section


def test_labels_section_shows_the_queues_verdicts_and_annotators(results: Results) -> None:
    labels = results.labels
    assert labels is not None and labels.queue and labels.verdicts
    html = render_html(results)
    section = _section(html, "labels")
    assert "Skipped:" not in section
    assert "majority of the votes" in section
    share = labels.mislabelled_share
    assert share is not None and share.purchases.value is not None
    assert _pct(share.purchases.value, 1) in section
    assert labels.queue[0].product_id in section and labels.reverse_queue[0].product_id in section
    assert section.count("<tr") >= 1 + len(labels.verdicts) + len(labels.agreement_by_category)
    assert "built-in method" not in section  # a Jinja key that shadows a dict method
    for name, cat in labels.agreement_by_category.items():
        assert f"<td>{name}</td>" in section and f"{cat.n_items:,}" in section
    html = render_html(Results(skipped={"labels": "no judgments table"}))
    assert "no judgments table" in _section(html, "labels")
