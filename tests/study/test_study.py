"""The whole job on a small simulated world: every output written, numbers reproducible, and
the real report (not a fixture) renders in headless Chromium with a hostile product title."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from seemingly.config import AnalysisSettings
from seemingly.study.run import STAGES, run_study

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seemingly.simulate import simulate

    data = tmp_path_factory.mktemp("study") / "data"
    simulate(data, "default", n_offers=20_000, seed=3)
    products = pd.read_parquet(data / "products.parquet")
    # Every product gets a hostile title, so it reaches the examples table whatever is bought.
    products["title"] = XSS + " " + products["title"]
    products.to_parquet(data / "products.parquet", index=False)
    return data


@pytest.fixture(scope="module")
def runs(world: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    outs = []
    for name in ("first", "second"):
        out = tmp_path_factory.mktemp(name)
        run_study(world, out, settings=AnalysisSettings(seed=3))
        outs.append(out)
    return outs[0], outs[1]


def test_every_output_is_written(runs: tuple[Path, Path]) -> None:
    out = runs[0]
    results = json.loads((out / "results.json").read_text())
    for key in ("contract_version", "data", "overview", "hypotheses", "strategies", "tradeoff",
                "examples", "models", "run"):
        assert key in results, key
    assert results["data"]["offers"] == 20_000
    timed = set(results["run"]["timings"])
    assert timed == set(STAGES) - {"simulate"}  # data was given, so nothing was simulated
    for table in ("levels", "hypothesis_effects", "hypothesis_curves", "strategies", "tradeoff",
                  "examples"):
        assert (out / "tables" / f"{table}.csv").stat().st_size > 0, table
    assert (out / "models" / "manifest.json").is_file()
    assert (out / "report.html").stat().st_size > 1_000_000  # plotly.js is inlined
    assert any(XSS in e["title"] for e in results["examples"]["purchase"])


def test_same_inputs_and_seed_give_the_same_numbers(runs: tuple[Path, Path]) -> None:
    a, b = (json.loads((out / "results.json").read_text()) for out in runs)
    for block in ("data", "overview", "hypotheses", "strategies", "tradeoff", "examples"):
        assert a[block] == b[block], block


@pytest.mark.browser
def test_study_report_renders_in_chromium(runs: tuple[Path, Path], tmp_path: Path) -> None:
    from support.fixtures_report import open_report

    from seemingly.report.screenshot import chromium_path

    chromium = chromium_path()
    if chromium is None:
        pytest.skip("no Chromium at /usr/bin/chromium (scripts/install-system-deps.sh installs it)")
    pytest.importorskip("playwright.sync_api")
    with open_report(chromium, runs[0] / "report.html") as (page, log):
        n = page.locator("[data-figure]").count()
        assert n >= 10  # headline, 7 hypotheses, strategies, trade-off, importances
        drawn = page.eval_on_selector_all(
            "[data-figure]",
            "els => els.map(e => e.classList.contains('js-plotly-plot')"
            " && e.querySelectorAll('.main-svg').length > 0)",
        )
        assert drawn == [True] * n
        assert XSS in page.inner_text("#examples")  # shown as text, never run
        page.screenshot(path=str(tmp_path / "study.png"), full_page=True)
    assert log.errors == [] and log.dialogs == []
    assert (tmp_path / "study.png").stat().st_size > 50_000
