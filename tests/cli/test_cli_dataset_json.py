"""CLI: a data folder's dataset.json sets the label rule; a malformed one is a clean error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import FIXTURES
from typer.testing import CliRunner

from seemingly.cli import app
from seemingly.contract import DATASET_FILE

runner = CliRunner()


def _data(tmp_path: Path, dataset_json: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "dirty", data)
    (data / DATASET_FILE).write_text(dataset_json)
    return data


def test_analyze_reads_label_settings_from_dataset_json(tmp_path: Path) -> None:
    data = _data(tmp_path, json.dumps({"labels": {"relevant_at": 2}}))
    res = runner.invoke(app, ["analyze", str(data), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    # As --relevant-at 2 does: no judgment of the fixture reaches grade 2.
    assert results["overview"]["purchase_level"]["relevant"]["offers"] == 0


@pytest.mark.parametrize("command", ["analyze", "study"])
def test_malformed_dataset_json_exit_1_no_traceback(tmp_path: Path, command: str) -> None:
    data = _data(tmp_path, '{"labels": {"relevant_at": "high"}}')
    res = runner.invoke(app, [command, str(data), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert f"{DATASET_FILE}: labels.relevant_at" in " ".join(res.output.split())
