"""The report in headless Chromium: no console errors, every figure drawn, XSS strings inert,
frontier rings on the trade-off charts. Input: the small real study with hostile strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fixtures_report import (
    XSS_CATEGORY,
    XSS_QUERY,
    XSS_TITLE,
    expected_figures,
    open_report,
)

from seemingly.report import render_report
from seemingly.report.screenshot import chromium_path
from seemingly.results import Results

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Path:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium at /usr/bin/chromium (scripts/install-system-deps.sh installs it)")
    pytest.importorskip("playwright.sync_api", reason="Playwright is a dev dependency")
    return path


def test_report_renders_in_chromium(
    hostile_results: Results, tmp_path: Path, chromium: Path
) -> None:
    report = render_report(hostile_results, tmp_path)
    figures = expected_figures(hostile_results)

    with open_report(chromium, report) as (page, log):
        containers = page.locator("[data-figure]")
        assert containers.count() == figures
        assert page.locator("body").get_attribute("data-rendered") == str(figures)
        # Every container became a Plotly plot with its SVG drawn and at least one trace.
        drawn = page.eval_on_selector_all(
            "[data-figure]",
            """els => els.map(e => e.classList.contains('js-plotly-plot')
                                   && e.querySelectorAll('.main-svg').length > 0
                                   && e.querySelectorAll('.trace').length > 0)""",
        )
        assert drawn == [True] * figures
        # Interval bands are drawn as filled paths in the popularity curve.
        fills = page.locator("#h-popularity .js-fill").count()
        assert fills >= 4

        body = page.inner_text("body")
        for raw in (XSS_TITLE, XSS_QUERY, XSS_CATEGORY):
            assert raw in body  # shown as text ...
        assert page.locator("img").count() == 0  # ... and never parsed into elements
        # The escaped category label is printed literally on the category chart's axis.
        ticks = page.eval_on_selector_all(
            "#h-category .xtick text", "els => els.map(e => e.textContent)"
        )
        assert XSS_CATEGORY in ticks
        # Each trade-off chart draws both sweeps' Pareto fronts (legend entries and points).
        legend = page.eval_on_selector_all(
            "#tradeoff .legendtext", "els => els.map(e => e.textContent)"
        )
        assert legend.count("fusion sweep: Pareto front") == 2
        assert legend.count("joint model: Pareto front") == 2
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

    assert log.errors == []
    assert log.dialogs == []
    assert all(u.startswith(("file:", "data:", "blob:")) for u in log.requests), log.requests
    assert (tmp_path / "report.png").stat().st_size > 50_000
