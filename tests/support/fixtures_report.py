"""The report tests' input: a real small study, and variants built from the same types.

The results come from :func:`seemingly.study.run.run_study` on a small simulated world, so
they have the shape the pipeline writes today and cannot drift from it. Variants (a block
removed, hostile strings) are ``model_copy`` edits of those results. The hostile strings (a
product titled ``<script>alert(1)</script>``, an HTML-ish query and category) give the escaping
tests something to bite on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seemingly.config import AnalysisSettings, ModelSettings
from seemingly.results import ExamplesBlock, HypothesesBlock, Results

XSS_TITLE = "<script>alert(1)</script>"
XSS_QUERY = '"><img src=x onerror=alert(2)>'
XSS_CATEGORY = "<img src=x onerror=alert(3)>"
XSS_RELEVANT = "<b>bold</b> & co"

# Large enough that every block appears (the trade-off needs held-out queries with judged
# offers), small enough for a few seconds; the model settings trim the trade-off's sweep.
SMALL_STUDY_OFFERS = 20_000
SMALL_STUDY_SEED = 7


def small_study_settings() -> AnalysisSettings:
    return AnalysisSettings(
        seed=SMALL_STUDY_SEED,
        # joint on: the report draws it next to fusion when a study ran it (--joint)
        models=ModelSettings(weight_step=0.2, eval_folds=2, n_estimators=30,
                             joint_n_estimators=30, n_boot=50, joint=True),
    )


def run_small_study(out: Path) -> Results:
    """Simulate the default world, run the whole study into ``out``; its results as written."""
    from seemingly.study.run import run_study

    run_study(None, out, n_offers=SMALL_STUDY_OFFERS, seed=SMALL_STUDY_SEED,
              settings=small_study_settings())
    return Results.from_json(out)


def expected_figures(results: Results) -> int:
    """Figures a report of ``results`` draws: headline, one per hypothesis, strategies, one
    trade-off chart per outcome (and one ablation chart per outcome), one importance chart
    per model."""
    return (
        (results.overview is not None)
        + (len(results.hypotheses) if results.hypotheses else 0)
        + (results.strategies is not None)
        + 2 * (results.tradeoff is not None)
        + 2 * (results.tradeoff is not None and results.tradeoff.ablation is not None)
        + (len(results.models) if results.models else 0)
    )


def without(results: Results, *blocks: str) -> Results:
    """``results`` with the top-level ``blocks`` absent (as a stage that did not run)."""
    return results.model_copy(update=dict.fromkeys(blocks))


def hostile(results: Results) -> Results:
    """``results`` with user strings an attacker could choose: the second purchase example's
    query, title, category and relevant titles, and the first category of the category
    hypothesis."""
    assert results.examples is not None and results.hypotheses is not None
    purchase = list(results.examples["purchase"])
    purchase[1] = purchase[1].model_copy(update={
        "query": XSS_QUERY, "title": XSS_TITLE, "category": XSS_CATEGORY,
        "relevant_titles": [XSS_RELEVANT]})
    examples = ExamplesBlock({**results.examples.root, "purchase": purchase})
    category = {}
    for outcome, effect in results.hypotheses["category"].items():
        rows = list(effect.categories or [])
        rows[0] = rows[0].model_copy(update={"category": XSS_CATEGORY})
        category[outcome] = effect.model_copy(update={"categories": rows})
    hypotheses = HypothesesBlock({**results.hypotheses.root, "category": category})
    return results.model_copy(update={"examples": examples, "hypotheses": hypotheses})


@dataclass
class PageLog:
    """What a page did while a test looked at it."""

    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    dialogs: list[str] = field(default_factory=list)  # alert()/confirm() messages
    requests: list[str] = field(default_factory=list)  # every URL the page fetched

    def dismiss(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@contextmanager
def open_report(chromium: Path, report: Path) -> Iterator[tuple[Any, PageLog]]:
    """A headless Chromium page on ``report``, waited until every figure is drawn, with a
    log of its errors, dialogs and requests; the browser closes on exit."""
    from playwright.sync_api import sync_playwright

    from seemingly.report.screenshot import CHROMIUM_ARGS

    log = PageLog()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: log.errors.append(str(e)))
            page.on("dialog", log.dismiss)
            page.on("request", lambda r: log.requests.append(r.url))
            page.goto(report.as_uri())
            page.wait_for_selector("body[data-rendered]", state="attached", timeout=60_000)
            yield page, log
        finally:
            browser.close()
