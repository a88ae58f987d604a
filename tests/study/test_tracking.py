"""`seemingly track`: a study's settings, numbers, files and ranker logged to a local MLflow
file store, read back through MLflow's own client."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

mlflow = pytest.importorskip("mlflow")

from seemingly.cli import app  # noqa: E402
from seemingly.ranking.models import Ranker  # noqa: E402
from seemingly.study.run import run_study  # noqa: E402


@pytest.fixture(scope="module")
def study_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_study(None, tmp_path_factory.mktemp("track") / "out", n_offers=2_000,
                     seed=5).out_dir


def test_track_logs_params_metrics_artifacts_and_a_pyfunc_ranker(study_out: Path,
                                                                 tmp_path: Path) -> None:
    uri = (tmp_path / "mlruns").as_uri()
    res = CliRunner().invoke(app, ["track", str(study_out), "--tracking-uri", uri,
                                   "--experiment", "t", "--run-name", "demo"])
    assert res.exit_code == 0, res.output
    run_id = res.output.split()[-1]
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    results = json.loads((study_out / "results.json").read_text())
    # params: every setting, dotted, with the value the run used
    assert run.data.params["seed"] == "5"
    assert run.data.params["hypotheses.short_max"] == str(
        results["run"]["settings"]["hypotheses"]["short_max"])
    assert run.data.params["language"] == "english"
    # metrics: the same numbers as results.json
    m = run.data.metrics
    assert m["purchase_level.irrelevant"] == pytest.approx(
        results["overview"]["purchase_level"]["irrelevant"]["value"])
    assert m["hypothesis.price.purchase.estimate"] == pytest.approx(
        results["hypotheses"]["price"]["purchase"]["estimate"])
    assert m["model.relevance.auc"] == pytest.approx(
        results["models"]["relevance"]["metrics"]["auc"])
    files = {f.path for f in client.list_artifacts(run_id)}
    assert {"results.json", "report.html", "models"} <= files
    assert "models/manifest.json" in {f.path for f in client.list_artifacts(run_id, "models")}
    # the pyfunc ranker orders candidates as Ranker.rank does
    products = pd.read_parquet(study_out / "data" / "products.parquet").head(6)
    query = "buy " + str(products["title"].iloc[0]).split()[0]
    frame = pd.DataFrame({"query": query, "product_id": products["product_id"]})
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(run.data.tags["seemingly.ranker_uri"])
    got = model.predict(frame, params={"weight": 0.7, "objective": "purchase"})
    want = Ranker.load(study_out / "models").rank(
        query, [{"product_id": p} for p in products["product_id"]], weight=0.7,
        objective="purchase")
    assert got["product_id"].tolist() == list(want.product_ids)
    assert got["fused_score"].tolist() == pytest.approx(list(want.fused_scores))


def test_track_names_a_folder_without_results(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["track", str(tmp_path), "--tracking-uri",
                                   (tmp_path / "mlruns").as_uri()])
    assert res.exit_code == 1
    assert "results.json" in res.output and "Traceback" not in res.output
