"""CLI: validate / ingest / analyze through typer's CliRunner (exit codes, --json)."""

from __future__ import annotations

import json
from pathlib import Path

from support import FIXTURES
from typer.testing import CliRunner

from seemingly.cli import app
from seemingly.store import open_store

runner = CliRunner()


def test_validate_dirty_folder_json() -> None:
    res = runner.invoke(app, ["validate", str(FIXTURES / "dirty"), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    offers = report["tables"]["offers"]
    assert offers["read"] == offers["accepted"] + offers["quarantined"] == 23
    assert offers["rules"]["duplicate_id"] == 2


def test_validate_table_output() -> None:
    res = runner.invoke(app, ["validate", str(FIXTURES / "dirty")])
    assert res.exit_code == 0, res.output
    assert "quarantined" in res.stdout and "unknown_product" in res.stdout


def test_validate_hard_error_exit_1_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text("product_id,price\np1,1\n")
    res = runner.invoke(app, ["validate", str(tmp_path)])
    assert res.exit_code == 1
    assert "missing required column" in res.output and "Traceback" not in res.output
    assert runner.invoke(app, ["validate", str(tmp_path / "absent")]).exit_code == 1


def test_ingest_then_analyze_store_file(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    res = runner.invoke(app, ["ingest", str(FIXTURES / "dirty"), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert open_store(db).table("offers").count().execute() == 6
    out = tmp_path / "out"
    res = runner.invoke(app, ["analyze", str(db), "--out", str(out), "--min-offers", "1"])
    assert res.exit_code == 0, res.output
    assert "results.json" in res.stdout and " s " in res.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["contract_version"] == 1
    assert results["data"]["offers"] == 6
    assert results["data"]["quarantined"]["offers"] == 17
    assert results["overview"]["purchase_level"]["relevant"]["offers"] >= 1


def test_analyze_folder_and_relevant_at(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["analyze", str(FIXTURES / "dirty"), "--out", str(out)]
    res = runner.invoke(app, [*args, "--relevant-at", "2"])
    assert res.exit_code == 0, res.output
    assert (out / "store.duckdb").exists()
    # No judgment reaches grade 2, so nothing is relevant: no relevant offers.
    results = json.loads((out / "results.json").read_text())
    assert results["overview"]["purchase_level"]["relevant"]["offers"] == 0
    assert results["overview"]["purchase_level"]["relevant"]["value"] is None


def test_analyze_bad_input_exit_code(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "offers.csv").write_text("offer_id\no1\n")
    res = runner.invoke(app, ["analyze", str(tmp_path / "data"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "products table is missing" in res.output
