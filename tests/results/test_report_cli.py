"""``seemingly report DIR`` on results.json files of other releases: v1 renders, others are
refused with one line that says how to regenerate them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from seemingly.cli import app

V1 = Path(__file__).resolve().parents[1] / "support" / "fixtures" / "results_v1.json"


def test_a_results_json_of_the_previous_release_renders(tmp_path: Path) -> None:
    shutil.copy(V1, tmp_path / "results.json")
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.html").stat().st_size > 1_000_000


def test_another_contract_version_is_refused_with_the_fix(tmp_path: Path) -> None:
    raw = json.loads(V1.read_text())
    (tmp_path / "results.json").write_text(json.dumps({**raw, "contract_version": 0}))
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "contract version 0" in lines[0] and "seemingly study" in lines[0]
    assert not (tmp_path / "report.html").exists()
