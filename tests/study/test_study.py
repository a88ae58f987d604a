"""The whole job on a small simulated world: every output written, numbers reproducible, and
the real report (not a fixture) renders in headless Chromium with a hostile product title."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from seemingly.config import AnalysisSettings, ModelSettings
from seemingly.ranking.models.artifacts import sha256_file
from seemingly.results import Results
from seemingly.study.run import STAGES, StudyResult, run_study

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
def studies(world: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[StudyResult, StudyResult]:
    first, second = (run_study(world, tmp_path_factory.mktemp(name),
                               settings=AnalysisSettings(seed=3))
                     for name in ("first", "second"))
    return first, second


@pytest.fixture(scope="module")
def runs(studies: tuple[StudyResult, StudyResult]) -> tuple[Path, Path]:
    return studies[0].out_dir, studies[1].out_dir


def test_every_output_is_written(runs: tuple[Path, Path]) -> None:
    out = runs[0]
    results = json.loads((out / "results.json").read_text())
    for key in ("contract_version", "data", "overview", "hypotheses", "strategies", "tradeoff",
                "examples", "models", "labels", "run"):
        assert key in results, key
    assert results["data"]["offers"] == 20_000
    timed = set(results["run"]["timings"])
    assert timed == set(STAGES) - {"simulate"}  # data was given, so nothing was simulated
    for table in ("levels", "hypothesis_effects", "hypothesis_curves", "strategies", "tradeoff",
                  "examples", "rejudge"):
        assert (out / "tables" / f"{table}.csv").stat().st_size > 0, table
    assert (out / "models" / "manifest.json").is_file()
    assert (out / "report.html").stat().st_size > 1_000_000  # plotly.js is inlined
    assert any(XSS in e["title"] for e in results["examples"]["purchase"])


def test_labels_block_and_rejudge_table(runs: tuple[Path, Path]) -> None:
    out = runs[0]
    labels = json.loads((out / "results.json").read_text())["labels"]
    assert labels["aggregation"] == "majority"
    for outcome in ("purchases", "engagements"):
        share = labels["mislabelled_share"][outcome]
        assert set(share) == {"value", "ci"}
        assert share["ci"][0] <= share["value"] <= share["ci"][1]
    assert labels["model_score"] is True  # the trade-off ran, so the score is in
    assert {v["hypothesis"] for v in labels["verdicts"]} >= {"popularity", "price"}
    table = pd.read_csv(out / "tables" / "rejudge.csv")
    assert list(table.columns[:4]) == ["query", "product_id", "label", "posterior_wrong"]
    assert table["posterior_wrong"].is_monotonic_decreasing
    assert set(table["label"]) == {"relevant", "irrelevant"}
    assert len(table) == len(labels["queue"]) + len(labels["reverse_queue"])


def test_same_inputs_and_seed_give_the_same_numbers(runs: tuple[Path, Path]) -> None:
    a, b = (json.loads((out / "results.json").read_text()) for out in runs)
    for block in ("data", "overview", "hypotheses", "strategies", "tradeoff", "examples",
                  "labels"):
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


def test_the_models_block_describes_the_saved_files(runs: tuple[Path, Path]) -> None:
    out = runs[0]
    block = json.loads((out / "results.json").read_text())["models"]
    manifest = json.loads((out / "models" / "manifest.json").read_text())
    assert set(block) == set(manifest["models"]) == {"relevance", "purchase", "engagement"}
    for name, entry in block.items():
        assert entry["file"] == f"{name}.txt"
        assert entry["sha256"] == manifest["files"][entry["file"]]
        assert entry["sha256"] == sha256_file(out / "models" / entry["file"])
        # one fit: the block's metrics are those of the saved model, not of another fit
        assert entry["metrics"] == manifest["models"][name]["metrics"]
        assert manifest["models"][name]["params"]["n_estimators"] == 100


def test_results_json_validates_against_the_committed_schema(runs: tuple[Path, Path]) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parents[2] / "docs" / "results.schema.json").read_text())
    jsonschema.validate(json.loads((runs[0] / "results.json").read_text()), schema)


def test_the_study_returns_the_results_it_wrote(studies: tuple[StudyResult, StudyResult]
                                                ) -> None:
    study = studies[0]
    assert Results.from_json(study.results_path) == study.results
    assert study.results.hypotheses is not None and study.results.run is not None
    assert study.results.run.timings == study.timings
    assert study.models_dir == study.out_dir / "models"


def test_every_model_is_fitted_with_the_model_settings(world: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Saved models, K-fold refits and cross-fitted scores all use settings.models."""
    from seemingly.ranking.models import training
    from seemingly.ranking.tradeoff import run as tradeoff_run
    from seemingly.store import open_data
    from seemingly.study.analysis import analyze

    seen: list[int] = []
    real_init = training.RelevanceModel.__init__

    def spy(self: training.RelevanceModel, **kwargs: object) -> None:
        seen.append(int(kwargs.get("n_estimators", -1)))  # type: ignore[call-overload]
        real_init(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tradeoff_run.RelevanceModel, "__init__", spy)
    models = ModelSettings(n_estimators=7, learning_rate=0.2, eval_folds=2, weight_step=0.5,
                           replicates=1, n_boot=10, joint=True)
    settings = AnalysisSettings(seed=3, models=models)
    with open_data(world, tmp_path) as store:
        results = analyze(store, settings, models_dir=tmp_path / "models")
    # 1 saved + 2 folds x 8 ablation variants (full, crude, 6 groups left out; leaving out
    # the purchase history changes no relevance model) + 2 folds x 3 cross-fits, then the
    # re-judging queue's cross-fitted relevance score (one per query fold), all 7 trees
    assert seen == [7] * (1 + 2 * 8 + 2 * 3 + settings.labels.rejudge_folds)
    manifest = json.loads((tmp_path / "models" / "manifest.json").read_text())
    assert manifest["models"]["purchase"]["params"]["learning_rate"] == 0.2
    assert results.models is not None and results.tradeoff is not None
    for name, entry in results.models.items():
        assert entry.sha256 == manifest["files"][f"{name}.txt"]


def _trec(study: StudyResult) -> Path:
    return study.out_dir / "tables" / "trec"


def test_ranx_reads_the_exported_rankings_and_gets_the_study_numbers(
        studies: tuple[StudyResult, StudyResult]) -> None:
    """tables/trec: one run per weight and objective, qrels of relevance and of levels."""
    ranx = pytest.importorskip("ranx")
    study = studies[0]
    trec, tradeoff = _trec(study), study.results.tradeoff
    assert tradeoff is not None
    rel = ranx.Qrels.from_file(str(trec / "qrels.relevance.txt"), kind="trec").to_dict()
    for objective in ("purchase", "engagement"):
        block = getattr(tradeoff, objective)
        levels = ranx.Qrels.from_file(str(trec / f"qrels.{objective}.txt"), kind="trec")
        assert len(list((trec / "runs").glob(f"fusion.{objective}.w*.txt"))) == len(block.fusion)
        for p in block.fusion[::5]:
            run = ranx.Run.from_file(
                str(trec / "runs" / f"fusion.{objective}.w{p.weight:.2f}.txt"), kind="trec")
            # the relevance qrels hold both objectives' queries; this run has its own
            qrels = ranx.Qrels.from_dict({q: rel[q] for q in run.to_dict()})
            m = ranx.evaluate(qrels, run, ["precision@1", f"ndcg@{block.k}"])
            assert m["precision@1"] == pytest.approx(p.relevance_at_1, abs=1e-12)
            assert m[f"ndcg@{block.k}"] == pytest.approx(p.ndcg_at_k, abs=1e-9)
            # level qrels are relative levels in parts per million: NDCG@1 is level@1
            assert ranx.evaluate(levels, run, "ndcg@1") == pytest.approx(p.level_at_1, abs=1e-6)


def test_evaluate_puts_the_study_runs_on_its_points_and_a_random_run_inside(
        studies: tuple[StudyResult, StudyResult], tmp_path: Path) -> None:
    import numpy as np
    from typer.testing import CliRunner

    from seemingly.cli import app
    from seemingly.ranking.evaluate import read_query_table
    from seemingly.results.evaluate import EvaluationResults

    study = studies[0]
    trec, tradeoff = _trec(study), study.results.tradeoff
    assert tradeoff is not None
    picks = [tradeoff.purchase.fusion[i] for i in (0, 10, -1)]
    runs = [str(trec / "runs" / f"fusion.purchase.w{p.weight:.2f}.txt") for p in picks]
    # a random ranker: every judged candidate, seeded random scores
    qids = read_query_table(trec / "queries.tsv")
    pool = pd.read_csv(trec / "qrels.relevance.txt", sep=" ", dtype=str,
                       names=["qid", "iteration", "product_id", "grade"])
    rng = np.random.default_rng(11)
    pd.DataFrame({"query": pool["qid"].map(qids), "product_id": pool["product_id"],
                  "score": rng.random(len(pool))}).to_csv(tmp_path / "random.csv", index=False)
    out = tmp_path / "ev"
    result = CliRunner().invoke(app, [
        "evaluate", *runs, str(tmp_path / "random.csv"), "--data",
        str(study.out_dir / "store.duckdb"), "--queries", str(trec / "queries.tsv"),
        "--study", str(study.out_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    ev = EvaluationResults.from_json(out)
    for p in picks:
        f = ev.runs[f"fusion.purchase.w{p.weight:.2f}"].frontier["purchase"]
        assert f.relevance_at_1.value == pytest.approx(p.relevance_at_1, abs=1e-12)
        assert f.level_at_1.value == pytest.approx(p.level_at_1, abs=1e-12)
        assert f.ndcg_at_k.value == pytest.approx(p.ndcg_at_k, abs=1e-12)
    for objective in ("purchase", "engagement"):
        rnd = ev.runs["random"].frontier[objective]
        front = [(p.relevance_at_1, p.level_at_1) for p in getattr(tradeoff, objective).fusion
                 if p.on_frontier]
        x, y = rnd.relevance_at_1.value, rnd.level_at_1.value
        assert x is not None and y is not None
        # below the frontier: some frontier point is better on both axes, by a margin
        assert any(fx > x + 0.05 and fy > y + 0.05 for fx, fy in front), (objective, x, y)
    assert ev.runs["random"].coverage.judged_at_k == 1.0
    page = (out / "report.html").read_text()
    assert "fusion sweep" in page and "random" in page
