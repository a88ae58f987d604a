"""`seemingly evaluate`: a bad run file or option is one line on stderr, exit code 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from seemingly.cli import app


def _invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["evaluate", *args, "--data", str(tmp_path / "nodata"),
                                      "--out", str(tmp_path / "out")])
    return result.exit_code, result.output


@pytest.mark.parametrize(("name", "text", "extra", "message"), [
    ("run.txt", "1 Q0 p1 1 0.5 bm25\n", (), "pass the query-id table"),
    ("run.txt", "1 Q0 p1 1 0.5\n", ("--queries", "q.tsv"), "row 1: a TREC run line has 6"),
    ("run.csv", "query,product_id,score\nred,p1,x\n", (), "row 2: score must be a finite"),
    ("run.csv", "query,score\nred,0.5\n", (), "missing column(s) ['product_id']"),
])
def test_bad_runs_are_one_line_errors(tmp_path: Path, name: str, text: str,
                                      extra: tuple[str, ...], message: str) -> None:
    (tmp_path / "q.tsv").write_text("1\tred shoes\n")
    (tmp_path / name).write_text(text)
    extra = tuple(str(tmp_path / e) if e.endswith(".tsv") else e for e in extra)
    code, output = _invoke(tmp_path, str(tmp_path / name), *extra)
    assert code == 1
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / name}"), output
    assert message in lines[0]


def test_a_missing_run_file_and_missing_data(tmp_path: Path) -> None:
    code, output = _invoke(tmp_path, str(tmp_path / "nope.csv"))
    assert code == 1 and "run file not found" in output
    (tmp_path / "ok.csv").write_text("query,product_id,score\nred,p1,1\n")
    code, output = _invoke(tmp_path, str(tmp_path / "ok.csv"))
    assert code == 1 and output.startswith("error:") and len(output.strip().splitlines()) == 1
