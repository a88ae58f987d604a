"""Degenerate data degrades, what is written is safe to open, and a killed run leaves a usable
model (issue 22, findings 5, 7, 14)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from support.adversarial import ROOT, assert_refused, invoke, tree_hash, write_data

from seemingly.config import AnalysisSettings
from seemingly.results import Results
from seemingly.store import store_from_frames
from seemingly.study.tables import write_tables


def test_finding5_readme_minimal_example_gives_a_report(tmp_path: Path) -> None:
    """The README's example, byte for byte, runs the study to a report; the stages it is too
    small for are skipped with their stated minimum, in results.json and in the page."""
    data = write_data(tmp_path / "mydata")
    before = tree_hash(data)
    r = invoke(["study", data, "--out", tmp_path / "out" / "mine"])
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    out = tmp_path / "out" / "mine"
    results = json.loads((out / "results.json").read_text())
    skipped = results["skipped"]
    assert skipped["tradeoff"].startswith(
        "the models need judged offers of at least 5 queries (to train and hold out queries, "
        "models.eval_folds=3); the data has 1")
    assert "which was skipped" in skipped["models"]
    assert results["data"]["offers"] == 2
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "at least 5 queries" in page
    assert tree_hash(data) == before


def test_train_below_its_minimum_says_so(tmp_path: Path) -> None:
    """`train` on the README example stops with its minimum, not a scikit-learn ValueError,
    and writes no model folder."""
    data = write_data(tmp_path / "mydata")
    before = tree_hash(data)
    assert_refused(invoke(["train", data, "-o", tmp_path / "model"]), 1,
                   r"train: the models need judged offers of at least 3 queries .*the data "
                   r"has 1")
    assert not (tmp_path / "model").exists()
    assert tree_hash(data) == before


_FORMULA = '=HYPERLINK("http://x","click")'


def test_finding7_tables_are_inert_in_a_spreadsheet(tmp_path: Path) -> None:
    """User text in tables/*.csv that a spreadsheet would run as a formula (OWASP: = + - @
    tab CR) is written as text: opened with openpyxl, no cell is a formula."""
    openpyxl = pytest.importorskip("openpyxl")
    products = pd.DataFrame({"product_id": ["+p1", "p2"], "title": [_FORMULA, "@SUM(A1)"],
                             "category": ["c", "c"], "price": [1.0, 2.0]})
    offers = pd.DataFrame({
        "offer_id": ["o1", "o2", "o3"], "timestamp": pd.to_datetime(["2026-01-03"] * 3),
        "user_id": ["u", "u", "u"], "query": [_FORMULA, "-2+3", "\tcmd"],
        "product_id": ["+p1", "p2", "p2"], "engaged": [True, False, True],
        "purchased": [True, False, False]})
    store = store_from_frames(tmp_path / "s.duckdb", products=products, offers=offers)
    examples = {"purchase": [{
        "query": _FORMULA, "product_id": "+p1", "title": "@SUM(A1)", "category": "\tcmd",
        "price": 1.0, "offers": 1, "purchases": 1, "engagements": 1, "purchase_level": 1.0,
        "engagement_level": 1.0, "relevant_titles": ["=1+1"]}]}
    with store:
        written = write_tables(store, AnalysisSettings(min_offers=1),
                               Results.model_validate({"examples": examples}), tmp_path / "t")
    assert {p.name for p in written} == {"levels.csv", "examples.csv"}
    cells: list[str] = []
    for path in written:
        with path.open(newline="", encoding="utf-8") as fh:
            cells += [c for row in csv.reader(fh) for c in row]
    sheet = openpyxl.Workbook().active
    for i, value in enumerate(cells, start=1):
        sheet.cell(row=i, column=1, value=value)
        assert sheet.cell(row=i, column=1).data_type != "f", value
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    # the text itself survives, behind the apostrophe a spreadsheet hides (levels.csv holds
    # the normalised query, examples.csv the query as given)
    assert {"'" + _FORMULA, "'" + _FORMULA.casefold(), "'+p1", "'\tcmd", "'-2+3"} <= set(cells)
    assert "'=1+1" in cells  # (" | ".join of the relevant titles)


def test_kill_9_during_train_leaves_a_usable_model(tmp_path: Path) -> None:
    """Finding 14: `train` killed with SIGKILL while writing the new model leaves the old one
    loadable (the new one is written beside it and swapped in only when complete)."""
    from support.serve_model import shared_model_dir

    from seemingly.ranking.models import Ranker

    trained = shared_model_dir()
    model = tmp_path / "model"
    shutil.copytree(trained, model)
    before = tree_hash(model)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from seemingly.cli import main; main()", "train",
         str(trained.parent / "data"), "-o", str(model), "--work", str(tmp_path / "work")],
        env={"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    partial = tmp_path / f".model.partial-{proc.pid}"
    deadline = time.monotonic() + 300
    # kill as soon as the new model's first file lands in the partial folder
    while proc.poll() is None and time.monotonic() < deadline:
        if partial.is_dir() and any(partial.iterdir()):
            break
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    ranker = Ranker.load(model)  # the old model, or (if the kill came too late) the new one
    assert ranker is not None
    if proc.returncode == -9 and partial.exists():
        assert tree_hash(model) == before
        assert not any(p.name.startswith(".") for p in model.iterdir())
