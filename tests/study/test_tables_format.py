"""`seemingly study --tables-format parquet --mlflow`: the same tables as CSV (typed, text not
neutralised), and the study logged to a local MLflow file store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from seemingly.cli import app
from seemingly.results import Results
from seemingly.study.run import run_study
from seemingly.study.tables import FORMULA_START, write_tables

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seemingly.simulate import simulate

    base = tmp_path_factory.mktemp("fmt")
    sim = base / "sim"
    simulate(sim, "default", n_offers=2_000, seed=6)
    # user text that a spreadsheet would run as a formula: one query starts with '='. The
    # copy is a plain folder of contract tables (not the simulator's, whose marker lists sizes).
    data = base / "data"
    shutil.copytree(sim, data, ignore=shutil.ignore_patterns(".seemingly-output.json"))
    query = sorted(pd.read_parquet(data / "judgments.parquet")["query"])[0]
    for part in [data / "judgments.parquet", *sorted((data / "offers").glob("*.parquet"))]:
        df = pd.read_parquet(part)
        df.loc[df["query"] == query, "query"] = "=" + query
        df.to_parquet(part, index=False)
    return data


def _unneutralise(v: object) -> object:
    if isinstance(v, str) and v.startswith("'") and v[1:2] and v[1] in "".join(FORMULA_START):
        return v[1:]
    return v


def test_parquet_tables_hold_the_csv_values_and_the_study_is_logged(
        data: Path, tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    out = tmp_path / "out"
    uri = (tmp_path / "mlruns").as_uri()
    res = runner.invoke(app, ["study", str(data), "-o", str(out), "--tables-format", "parquet",
                              "--mlflow-uri", uri])
    assert res.exit_code == 0, res.output
    tables = out / "tables"
    parquet = sorted(p.stem for p in tables.glob("*.parquet"))
    assert not list(tables.glob("*.csv"))
    assert {"levels", "hypothesis_effects", "strategies", "tradeoff", "examples"} <= set(parquet)
    # the report's Tables section links them
    assert 'href="tables/levels.parquet"' in (out / "report.html").read_text()

    # the same study with CSV tables (the study is deterministic for its seed)
    csv_out = run_study(data, tmp_path / "csv", tables_format="csv").out_dir / "tables"
    results = Results.from_json(out)
    assert results.run is not None
    assert sorted(p.stem for p in csv_out.glob("*.csv")) == parquet
    for name in parquet:
        want = pd.read_parquet(tables / f"{name}.parquet")
        # round_trip: pandas' default float parser can be one ulp off
        got = pd.read_csv(csv_out / f"{name}.csv", keep_default_na=False, na_values=[""],
                          float_precision="round_trip")
        assert list(got.columns) == list(want.columns), name
        assert len(got) == len(want), name
        for col in want.columns:
            w, g = want[col], got[col].map(_unneutralise)
            if pd.api.types.is_numeric_dtype(w) and not pd.api.types.is_bool_dtype(w):
                pd.testing.assert_series_equal(g.astype(float), w.astype(float),
                                               check_names=False, rtol=0, atol=0,
                                               obj=f"{name}.{col}")
            else:
                assert [None if pd.isna(x) else str(x) for x in g] == \
                       [None if pd.isna(x) else str(x) for x in w], (name, col)
    levels = pd.read_parquet(tables / "levels.parquet")
    # parquet keeps the user's text as it is; the CSV made it inert
    assert levels["query"].str.startswith("=").any()
    csv_levels = pd.read_csv(csv_out / "levels.csv")
    assert csv_levels["query"].str.startswith("'=").any()
    assert not csv_levels["query"].str.startswith("=").any()

    # --mlflow-uri: the study is in the file store, with its settings and files
    run_id = res.output.split("mlflow:")[1].split()[1]
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.data.params["seed"] == str(results.run.settings.seed)
    assert run.data.metrics["purchase_level.irrelevant"] == pytest.approx(
        results.overview.purchase_level.irrelevant.value)  # type: ignore[union-attr]
    assert {"results.json", "report.html", "models"} <= {
        f.path for f in client.list_artifacts(run_id)}


def test_study_mlflow_without_the_extra_is_one_line_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import seemingly.cli._extras as extras

    monkeypatch.setattr(extras, "_importable", lambda module: module != "mlflow")
    out = tmp_path / "out"
    res = runner.invoke(app, ["study", "-o", str(out), "--offers", "1000", "--mlflow"])
    assert res.exit_code == 2
    assert res.output.strip() == ("error: seemingly study --mlflow needs the [mlflow] extra "
                                  "(mlflow is not installed): pip install 'seemingly[mlflow]'")
    assert not out.exists()


def test_unknown_tables_format_is_refused(tmp_path: Path) -> None:
    res = runner.invoke(app, ["study", "-o", str(tmp_path / "o"), "--tables-format", "xlsx"])
    assert res.exit_code == 2 and "xlsx" in res.output
    with pytest.raises(ValueError, match="'xlsx'"):
        write_tables(None, None, Results(), tmp_path / "t", fmt="xlsx")  # type: ignore[arg-type]
