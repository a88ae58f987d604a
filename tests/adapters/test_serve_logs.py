"""``seemingly logs collect``: hand-made service logs joined into contract tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from seemingly.adapters.serve_logs import collect_logs
from seemingly.cli import app
from seemingly.errors import ContractError

T0 = pd.Timestamp("2026-01-02 10:00:00", tz="UTC")


def _impressions(rows: list[tuple]) -> pa.Table:
    df = pd.DataFrame(rows, columns=["request_id", "user_id", "query", "product_id", "position",
                                     "propensity"])
    df.insert(0, "offer_id", df["request_id"] + "-" + df["position"].astype(str))
    df.insert(2, "timestamp", T0)
    df["position"] = df["position"].astype("int32")
    df["weight"] = 0.5  # an extra column the service logs: collect ignores it
    return pa.Table.from_pandas(df, preserve_index=False)


def _feedback(rows: list[tuple]) -> pa.Table:
    df = pd.DataFrame(rows, columns=["request_id", "product_id", "engaged", "purchased"])
    df["timestamp"] = T0 + pd.Timedelta(seconds=1)
    return pa.Table.from_pandas(df, preserve_index=False)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    (d / "impressions").mkdir(parents=True)
    (d / "feedback").mkdir()
    # two rotated impression files: r1 (user u1), r2 (anonymous)
    pq.write_table(_impressions([("r1", "u1", "Red Shoes", "p1", 1, 0.6),
                                 ("r1", "u1", "Red Shoes", "p2", 2, 1.0)]),
                   d / "impressions" / "part-a-1-000000.parquet")
    pq.write_table(_impressions([("r2", None, "tea", "p3", 1, 0.25),
                                 ("r2", None, "tea", "p1", 2, 0.5),
                                 ("r2", None, "tea", "p2", 3, 1.0)]),
                   d / "impressions" / "part-a-1-000001.parquet")
    # r1/p1 answered twice (engaged, then purchased): OR-ed; r2/p3 purchased only (engaged
    # follows); one answer names an offer never served
    pq.write_table(_feedback([("r1", "p1", True, False), ("r1", "p1", False, True),
                              ("r2", "p3", False, True), ("r9", "p1", True, False)]),
                   d / "feedback" / "part-a-1-000000.parquet")
    # a file being written (hidden temporary name) is not read
    (d / "impressions" / ".part-a-1-000002.parquet.tmp").write_bytes(b"half a file")
    return d


@pytest.fixture
def products(tmp_path: Path) -> Path:
    p = tmp_path / "products.parquet"
    pd.DataFrame({"product_id": ["p1", "p2", "p3"], "title": ["red shoe", "blue shoe", "tea"],
                  "category": ["shoes", "shoes", "food"], "price": [10.0, 12.0, 3.0]}
                 ).to_parquet(p, index=False)
    return p


def test_collect_joins_feedback_and_fills_zero(logs: Path, products: Path, tmp_path: Path
                                               ) -> None:
    out = tmp_path / "out"
    report = collect_logs(logs, out, products=products)
    offers = pd.read_parquet(out / "offers.parquet").set_index("offer_id").sort_index()
    assert offers.index.tolist() == ["r1-1", "r1-2", "r2-1", "r2-2", "r2-3"]
    assert offers["engaged"].tolist() == [True, False, True, False, False]
    assert offers["purchased"].tolist() == [True, False, True, False, False]
    assert offers["propensity"].tolist() == [0.6, 1.0, 0.25, 0.5, 1.0]
    assert offers["position"].tolist() == [1, 2, 1, 2, 3]
    # the anonymous request is a user of its own; the timestamp is naive UTC
    assert offers.loc["r2-1", "user_id"] == "anonymous:r2"
    assert offers.loc["r1-1", "timestamp"] == pd.Timestamp("2026-01-02 10:00:00")
    assert "weight" not in offers
    assert (report.offers, report.requests, report.feedback_rows, report.feedback_matched,
            report.feedback_unmatched, report.engaged, report.purchased) == (5, 2, 4, 2, 1, 2, 2)
    assert report.impression_files == 2 and report.feedback_files == 1
    assert pd.read_parquet(out / "products.parquet")["product_id"].tolist() == ["p1", "p2", "p3"]


def test_collected_folder_is_read_by_the_store(logs: Path, products: Path, tmp_path: Path
                                               ) -> None:
    from seemingly.store import ingest, open_store

    out = tmp_path / "out"
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"query": ["red shoes"], "product_id": ["p1"], "label": ["1"]}).to_parquet(
        data / "judgments.parquet", index=False)
    collect_logs(logs, out, products=products, data=data)
    assert (out / "judgments.parquet").is_file() and not (out / "orders.parquet").exists()
    ingest(out, tmp_path / "s.duckdb")
    store = open_store(tmp_path / "s.duckdb")
    try:
        o = store.table("offers").to_pandas()
        assert len(o) == 5 and int(o["purchased"].sum()) == 2
        assert sorted(o["query"].unique()) == ["red shoes", "tea"]  # normalised on ingest
        assert store.has("judgments")
    finally:
        store.close()


def test_products_from_the_model_snapshot(logs: Path, products: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    pd.read_parquet(products).to_parquet(model / "catalog.parquet", index=False)
    report = collect_logs(logs, tmp_path / "out", model=model)
    assert report.products == 3 and report.products_source.endswith("catalog.parquet")


def test_no_feedback_at_all_means_nothing_engaged(logs: Path, products: Path, tmp_path: Path
                                                  ) -> None:
    for f in (logs / "feedback").iterdir():
        f.unlink()
    report = collect_logs(logs, tmp_path / "out", products=products)
    assert (report.offers, report.engaged, report.purchased) == (5, 0, 0)


def _break(logs: Path, what: str) -> str:
    f = logs / "impressions" / "part-a-1-000001.parquet"
    t = pq.read_table(f).to_pandas()
    if what == "dup":
        pq.write_table(_impressions([("r1", "u1", "Red Shoes", "p1", 1, 0.6)]),
                       logs / "impressions" / "copy.parquet")
        return r"offer_id 'r1-1' is logged 2 times"
    if what == "propensity":
        t.loc[1, "propensity"] = 0.0
        pq.write_table(pa.Table.from_pandas(t, preserve_index=False), f)
        return r"part-a-1-000001.parquet: row 2: propensity must be in \(0, 1\]"
    if what == "column":
        pq.write_table(pa.Table.from_pandas(t.drop(columns=["request_id"]),
                                            preserve_index=False), f)
        return r"impression file lacks column\(s\) request_id"
    if what == "unknown_kind":
        pd.DataFrame({"x": [1]}).to_parquet(logs / "stray.parquet")
        return r"stray.parquet: neither an impression file"
    if what == "product":
        t.loc[0, "product_id"] = "p404"
        pq.write_table(pa.Table.from_pandas(t, preserve_index=False), f)
        return r"row 1: product_id 'p404' is not in the products table"
    raise AssertionError(what)


@pytest.mark.parametrize("what", ["dup", "propensity", "column", "unknown_kind", "product"])
def test_bad_logs_are_one_line_errors(logs: Path, products: Path, tmp_path: Path,
                                      what: str) -> None:
    match = _break(logs, what)
    with pytest.raises(ContractError, match=match):
        collect_logs(logs, tmp_path / "out", products=products)
    assert not (tmp_path / "out").exists()
    res = CliRunner().invoke(app, ["logs", "collect", str(logs), "-o", str(tmp_path / "out"),
                                   "--products", str(products)])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output


def test_cli_collect_and_missing_inputs(logs: Path, products: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["logs", "collect", str(logs), "-o", str(tmp_path / "out"),
                              "--products", str(products)])
    assert res.exit_code == 0, res.output
    assert "5 offers of 2 requests" in res.output and "1 naming no served offer" in res.output
    # neither --model nor --products; an empty log folder
    res = runner.invoke(app, ["logs", "collect", str(logs), "-o", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "exactly one of them" in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["logs", "collect", str(tmp_path / "empty"), "-o",
                              str(tmp_path / "o3"), "--products", str(products)])
    assert res.exit_code == 2 and "holds no impression files" in res.output
