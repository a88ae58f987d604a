"""The Spark backend gives DuckDB's answers: ingest report, quarantine, tables, blocks.

DuckDB is the reference: every number here is computed by both engines from the same files and
compared. Floats must agree to 1e-9 relative (1e-12 absolute): sums of doubles may be added in
another order on Spark, which moves the last bits, never the ninth significant digit.
One SparkSession (local[2]) serves the whole file; Java 17 and pyspark come from `make test`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support import FIXTURES

from seemingly.config import AnalysisSettings, IngestSettings
from seemingly.errors import ContractError
from seemingly.store import StoreLike, ingest, open_store

pytestmark = pytest.mark.spark

REL, ABS = 1e-9, 1e-12


@pytest.fixture(scope="session")
def spark() -> Any:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs a Java 17 runtime (none on PATH, no JAVA_HOME): `make sysdeps`")
    pytest.importorskip("pyspark", reason="pyspark is missing: pip install -e '.[spark]'")
    from seemingly.store.spark import SparkSettings, spark_session

    conf = {
        "spark.driver.memory": "2g",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        # Kilobytes of data: re-planning every stage (AQE) and the JIT's slow tier cost more
        # than they save; with them off the file runs in about half the time.
        "spark.sql.adaptive.enabled": "false",
        "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
    }
    session = spark_session(SparkSettings(master="local[2]", conf=conf))
    yield session
    session.stop()


def diffs(a: Any, b: Any, path: str = "") -> list[tuple[Any, ...]]:
    """Every place where two JSON-like values differ (floats within REL/ABS count as equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [(path, "keys", sorted(set(a) ^ set(b), key=str))]
        return [d for k in a for d in diffs(a[k], b[k], f"{path}/{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [(path, "length", len(a), len(b))]
        pairs = zip(a, b, strict=True)
        return [d for i, (x, y) in enumerate(pairs) for d in diffs(x, y, f"{path}[{i}]")]
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return [] if a is b or (a == b and type(a) is type(b)) else [(path, a, b)]
    if isinstance(a, float) or isinstance(b, float):
        same = math.isclose(a, b, rel_tol=REL, abs_tol=ABS) or (math.isnan(a) and math.isnan(b))
        return [] if same else [(path, a, b)]
    return [] if a == b else [(path, a, b)]


def test_diffs_sees_a_difference() -> None:
    assert diffs({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 * (1 + 1e-12)]}) == []
    assert diffs({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 * (1 + 1e-8)]}) != []
    assert diffs({"a": 1}, {"a": True}) != []
    assert diffs({"a": None}, {"a": 0.0}) != []


def _frame(store: Any, name: str) -> pd.DataFrame:
    df = store.table(name).to_pandas()
    for c in df.columns:  # DuckDB hands microseconds to pandas, Spark nanoseconds
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].astype("datetime64[ns]")
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def _types(store: Any, name: str) -> dict[str, str]:
    # Spark does not report a timestamp's precision (always microseconds); compare the rest.
    return {k: str(v).replace("(6)", "") for k, v in store.table(name).schema().items()}


def _assert_same_store(spark_store: Any, duck: Any, *, listed_by_url: bool = False) -> None:
    a, b = spark_store.report.to_dict(), duck.report.to_dict()
    a.pop("source"), b.pop("source")
    if listed_by_url:  # Hadoop's listing has mtimes in ms: another (equally stable) fingerprint
        a.pop("fingerprint"), b.pop("fingerprint")
    assert diffs(a, b) == []
    for name in ("products", "offers", "judgments", "orders", "quarantine"):
        assert spark_store.has(name) == duck.has(name), name
        if duck.has(name):
            assert _types(spark_store, name) == _types(duck, name), name
            pd.testing.assert_frame_equal(_frame(spark_store, name), _frame(duck, name))


@pytest.fixture(scope="module")
def dirty_duck(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("duck") / "store.duckdb"
    ingest(FIXTURES / "dirty", db)
    with open_store(db) as store:
        yield store


def test_dirty_folder_same_quarantine_tables_and_report(spark: Any, dirty_duck: Any) -> None:
    from seemingly.store.spark import open_spark_store

    with open_spark_store(FIXTURES / "dirty", spark) as store:
        assert isinstance(store, StoreLike)
        _assert_same_store(store, dirty_duck)
        # the fixture has problems in every table, so the comparison above compared something
        assert all(t.quarantined > 0 for t in store.report.tables.values())
        with pytest.raises(KeyError, match=r"no table 'clicks'.*known: products"):
            store.table("clicks")


def test_file_order_across_splits_and_parts(spark: Any, tmp_path: Path) -> None:
    """Duplicate ids resolved by file order when Spark splits one JSONL file into many tasks
    and a table comes in two part files of different formats."""
    from seemingly.store.spark import open_spark_store

    data = tmp_path / "data"
    (data / "products").mkdir(parents=True)
    n = 3000
    rows = [{"product_id": f"p{i % 1000}", "title": f"t{i}", "category": "toys",
             "price": float(i % 7) - 1.0} for i in range(n)]
    with open(data / "products" / "part-0.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    pd.DataFrame({"product_id": ["p5", "p1001"], "title": ["late", "new"], "category": ["x", None],
                  "price": ["2", "abc"]}).to_csv(data / "products" / "part-1.csv", index=False)
    db = tmp_path / "s.duckdb"
    ingest(data, db)
    # By hand: rows with price -1 (i % 7 == 0) break negative_price; among the other rows the
    # first of each id is kept and every later one is a duplicate, as is p5 in part-1.csv.
    seen: set[str] = set()
    expected = set()
    for i, r in enumerate(rows):
        if r["price"] < 0:
            continue
        if r["product_id"] in seen:
            expected.add(("products/part-0.jsonl", i + 1))
        seen.add(r["product_id"])
    expected.add(("products/part-1.csv", 1))
    old = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "16k")  # ~10 splits of the JSONL file
    try:
        split = spark.read.json(str(data / "products" / "part-0.jsonl"))
        assert split.select("_metadata.file_block_start").distinct().count() > 1
        with open_spark_store(data, spark) as store, open_store(db) as duck:
            _assert_same_store(store, duck)
            q = _frame(store, "quarantine")
        dup = q[q.rule == "duplicate_id"]
        assert set(zip(dup.source_file, dup.source_row, strict=True)) == expected
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", old)


def test_no_products_is_a_contract_error(spark: Any, tmp_path: Path) -> None:
    from seemingly.store.spark import open_spark_store

    shutil.copy(FIXTURES / "dirty" / "offers.csv", tmp_path / "offers.csv")
    with pytest.raises(ContractError, match="products table is missing"):
        open_spark_store(tmp_path, spark)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seemingly.simulate import simulate

    out = tmp_path_factory.mktemp("world")
    simulate(out, "default", n_offers=20_000, seed=11)
    return out


def test_simulated_world_same_numbers(spark: Any, world: Path, tmp_path: Path) -> None:
    from seemingly.explain import hypotheses
    from seemingly.explain.measures import data_summary, overview
    from seemingly.store.spark import open_spark_store

    settings = AnalysisSettings()
    ingest(world, tmp_path / "s.duckdb")
    blocks = {
        "data": lambda s: data_summary(s, settings).model_dump(),
        "overview": lambda s: overview(s, settings).model_dump(),
        "hypotheses": lambda s: hypotheses.fit_hypotheses(s, settings).to_dict(),
    }
    with open_spark_store(world, spark) as store, open_store(tmp_path / "s.duckdb") as duck:
        assert diffs(store.report.to_dict(), duck.report.to_dict()) == []
        results = {}
        for name, block in blocks.items():
            results[name] = block(duck)
            assert diffs(block(store), results[name]) == [], name
    # what was compared is a real analysis, not empty blocks
    assert results["data"]["offers"] == 20_000
    assert results["hypotheses"]["popularity"]["purchase"]["estimate"] is not None


def test_cli_ingest_and_analyze_with_spark_backend(
    spark: Any, dirty_duck: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from seemingly.cli import app
    from seemingly.store.spark import open_spark_store
    from seemingly.study import analysis

    # The blocks the Spark path is held to here; the other blocks are slow on a tiny local
    # Spark and are compared by test_simulated_world_same_numbers where it matters.
    monkeypatch.setattr(analysis, "BLOCKS", {k: analysis.BLOCKS[k] for k in ("overview", "data")})
    runner = CliRunner()
    spark_args = ["--backend", "spark", "--spark-conf", "spark.sql.shuffle.partitions=2"]
    url = (FIXTURES / "dirty").absolute().as_uri()  # file:///...: listed by Hadoop, as s3a://
    res = runner.invoke(app, ["ingest", url, "--db", str(tmp_path / "st"), "--json", *spark_args])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["tables"] == dirty_duck.report.to_dict()["tables"]
    assert (tmp_path / "st" / "seemingly_meta").is_dir()
    with open_spark_store(tmp_path / "st", spark) as store:  # the written store, reopened
        assert store.report.to_dict() == json.loads(res.stdout)
        _assert_same_store(store, dirty_duck, listed_by_url=True)
    res = runner.invoke(app, ["analyze", str(tmp_path / "st"), "--out", str(tmp_path / "s"),
                              *spark_args])
    assert res.exit_code == 0, res.output
    assert not spark.sparkContext._jsc.sc().isStopped()  # the test's session was borrowed
    res = runner.invoke(app, ["analyze", str(FIXTURES / "dirty"), "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    on_spark = json.loads((tmp_path / "s" / "results.json").read_text())
    on_duckdb = json.loads((tmp_path / "d" / "results.json").read_text())
    assert diffs(on_spark, on_duckdb) == []
    bad = runner.invoke(app, ["analyze", "x", "--out", str(tmp_path / "y"), "--backend", "spark",
                              "--spark-conf", "novalue"])
    assert bad.exit_code != 0 and "KEY=VALUE" in bad.output


def _rule_rows(data: Path) -> None:
    """Files breaking each of the contract's newer row rules, a few rows each."""
    data.mkdir()
    long = "x" * 16_385  # one byte over rules.MAX_TEXT_BYTES
    products = [
        {"product_id": "p1", "title": "ok", "category": "toys", "price": 1.0},
        {"product_id": "p2", "title": ["a", "list"], "category": "toys", "price": 1.0},
        {"product_id": "p3", "title": "ok", "category": {"an": "object"}, "price": 1.0},
        {"product_id": "p4", "title": long, "category": "toys", "price": 1.0},
        {"product_id": "p5", "title": "fine", "category": "toys", "price": 2.0},
    ]
    with open(data / "products.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in products)
    stamps = ["2020-01-01T00:00:00", "infinity", "-infinity", "1970-01-01", "1999-12-31T23:59:59",
              "2100-01-01", "2099-12-31T23:59:59", "epoch", "2000-01-01", "not a time"]
    pd.DataFrame({
        "offer_id": [f"o{i}" for i in range(len(stamps))], "timestamp": stamps,
        "user_id": "u1", "query": ["q"] * 9 + ["q" * 16_385], "product_id": "p1",
        "engaged": "true", "purchased": "false",
    }).to_csv(data / "offers.csv", index=False)
    labels = ["0", "1", "2.5", "100", "101", "-1", "nan", "inf", "X", "1d", " 3 ", "", "1e2"]
    pd.DataFrame({"query": "q", "product_id": "p1", "label": labels}).to_csv(
        data / "judgments.csv", index=False)
    pd.DataFrame({"order_id": ["r1", "r2"], "user_id": "u1", "product_id": "p1",
                  # microseconds: Spark cannot read Parquet's nanosecond timestamps
                  "timestamp": pd.to_datetime(["1990-05-05", "2021-05-05"]).astype(
                      "datetime64[us]")}).to_parquet(data / "orders.parquet")


def _triples(store: Any) -> set[tuple[str, int, str]]:
    q = store.table("quarantine").to_pandas()
    return set(zip(q.source_file, q.source_row.astype(int), q.rule, strict=True))


def test_newer_row_rules_same_quarantine(spark: Any, tmp_path: Path) -> None:
    """timestamp_out_of_range, invalid_label, non_scalar_value and value_too_long quarantine
    the same (file, row, rule) on both engines, and those are the rows worked out by hand."""
    from seemingly.store.spark import open_spark_store

    data = tmp_path / "data"
    _rule_rows(data)
    ingest(data, tmp_path / "s.duckdb")
    expected = {
        ("products.jsonl", 2, "non_scalar_value"), ("products.jsonl", 3, "non_scalar_value"),
        ("products.jsonl", 4, "value_too_long"),
        *(("offers.csv", r, "timestamp_out_of_range") for r in (2, 3, 4, 5, 6, 8)),
        ("offers.csv", 10, "unparseable_timestamp"),
        *(("judgments.csv", r, "invalid_label") for r in (5, 6, 7, 8, 9, 10)),
        ("judgments.csv", 12, "null_label"),
        ("orders.parquet", 1, "timestamp_out_of_range"),
    }
    with open_spark_store(data, spark) as store, open_store(tmp_path / "s.duckdb") as duck:
        assert _triples(duck) == expected
        assert _triples(store) == expected
        a, b = store.report.to_dict(), duck.report.to_dict()
        assert a["tables"] == b["tables"]
    # the earliest day is a setting on both engines, and the CLI passes it to Spark
    from typer.testing import CliRunner

    from seemingly.cli import app

    early = ingest(data, tmp_path / "e.duckdb", IngestSettings(earliest_timestamp=date(1960, 1, 1)))
    res = CliRunner().invoke(app, [
        "ingest", str(data), "--db", str(tmp_path / "sp"), "--json", "--backend", "spark",
        "--spark-conf", "spark.sql.shuffle.partitions=2", "--earliest-timestamp", "1960-01-01"])
    assert res.exit_code == 0, res.output
    rules = json.loads(res.stdout)["tables"]["offers"]["rules"]
    # 1970-01-01, epoch and 1999-12-31 are now in range; +-infinity and 2100 are not
    assert rules["timestamp_out_of_range"] == 3
    assert rules == early.tables["offers"].rules


def test_mixed_label_kinds_refused_on_both(spark: Any, tmp_path: Path) -> None:
    from seemingly.store.spark import open_spark_store

    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"product_id": ["p1"], "title": "t", "category": "c", "price": 1.0}).to_csv(
        data / "products.csv", index=False)
    pd.DataFrame({"query": "q", "product_id": "p1", "label": ["1", "E", "3", "yes"]}).to_csv(
        data / "judgments.csv", index=False)
    msg = (r"labels mix kinds \(boolean 'yes' at judgments.csv row 4; esci 'E' at "
           r"judgments.csv row 2; numeric '3' at judgments.csv row 3\); rule one_label_kind")
    with pytest.raises(ContractError, match=msg):
        ingest(data, tmp_path / "s.duckdb")
    with pytest.raises(ContractError, match=msg):
        open_spark_store(data, spark)
