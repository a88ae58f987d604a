"""Bad service logs given to ``seemingly logs collect``: one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from seemingly.cli import app

T0 = pd.Timestamp("2026-01-02 10:00:00", tz="UTC")


def _logs(root: Path) -> tuple[Path, Path]:
    d = root / "logs"
    (d / "impressions").mkdir(parents=True)
    (d / "feedback").mkdir()
    pd.DataFrame({"offer_id": ["r1-1", "r1-2"], "request_id": ["r1", "r1"],
                  "timestamp": [T0, T0], "user_id": ["u1", "u1"], "query": ["tea", "tea"],
                  "product_id": ["p1", "p2"], "position": [1, 2], "propensity": [0.5, 1.0]}
                 ).to_parquet(d / "impressions" / "part-1.parquet", index=False)
    pd.DataFrame({"request_id": ["r1"], "product_id": ["p1"], "engaged": [True],
                  "purchased": [False]}).to_parquet(d / "feedback" / "part-1.parquet",
                                                    index=False)
    products = root / "products.csv"
    products.write_text("product_id,title,category,price\np1,tea,food,1\np2,mug,home,2\n")
    return d, products


def _garbage(d: Path, root: Path) -> Path:
    (d / "impressions" / "part-2.parquet").write_bytes(b"PAR1 not really")
    return root / "out"


def _null_feedback(d: Path, root: Path) -> Path:
    pd.DataFrame({"request_id": [None], "product_id": ["p1"], "engaged": [True],
                  "purchased": [True]}).to_parquet(d / "feedback" / "part-2.parquet")
    return root / "out"


def _null_position(d: Path, root: Path) -> Path:
    pd.DataFrame({"offer_id": ["r2-1"], "request_id": ["r2"], "timestamp": [T0],
                  "user_id": ["u1"], "query": ["tea"], "product_id": ["p1"],
                  "position": [None], "propensity": [0.5]}
                 ).to_parquet(d / "impressions" / "part-2.parquet", index=False)
    return root / "out"


def _out_inside_logs(d: Path, root: Path) -> Path:
    return d / "collected"


def _out_is_a_users_folder(d: Path, root: Path) -> Path:
    (root / "out").mkdir()
    (root / "out" / "notes.txt").write_text("mine")
    return root / "out"


CASES = [
    ("unreadable parquet", _garbage, r"part-2.parquet: not a readable Parquet file"),
    ("null request id in feedback", _null_feedback, r"part-2.parquet: row 1: request_id is null"),
    ("null position", _null_position, r"part-2.parquet: row 1: position is null"),
    ("output inside the logs", _out_inside_logs, r"inside the input folder"),
    ("output holds a user's files", _out_is_a_users_folder, r"did not write \(notes.txt\)"),
]


@pytest.mark.parametrize(("make", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_logs_one_line_nothing_written(tmp_path: Path, make, pattern: str) -> None:
    d, products = _logs(tmp_path)
    out = make(d, tmp_path)
    before = sorted(p.name for p in out.iterdir()) if out.exists() else None
    res = CliRunner().invoke(app, ["logs", "collect", str(d), "-o", str(out), "--products",
                                   str(products)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert pd.Series(lines).str.contains(pattern).all(), res.output
    after = sorted(p.name for p in out.iterdir()) if out.exists() else None
    assert before == after


def test_good_logs_pass(tmp_path: Path) -> None:
    d, products = _logs(tmp_path)
    res = CliRunner().invoke(app, ["logs", "collect", str(d), "-o", str(tmp_path / "out"),
                                   "--products", str(products)])
    assert res.exit_code == 0, res.output
    o = pd.read_parquet(tmp_path / "out" / "offers.parquet")
    assert o["engaged"].tolist() == [True, False]
