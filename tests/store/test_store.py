"""Store: hard errors, every row rule, the dirty fixture folder, formats, determinism."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from support import FIXTURES

from seemingly.errors import ContractError
from seemingly.store import RULES, ingest, open_store, store_from_frames, validate

PRODUCTS = "product_id,title,category,price\np1,Milk,grocery,2.5\np2,Toy car,toys,10\n"
OFFERS_HEADER = "offer_id,timestamp,user_id,query,product_id,position,engaged,purchased,propensity"
GOOD_OFFER = "o1,2024-01-01,u1,milk,p1,1,true,false,0.5"
JUDGMENTS = "query,product_id,label,annotator_id\nmilk,p1,1,a1\n"


def _write(folder: Path, files: Mapping[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


# --- hard errors -------------------------------------------------------------------------------

HARD_ERRORS = [
    ("no_products", {"offers.csv": OFFERS_HEADER + "\n" + GOOD_OFFER + "\n"},
     r"products table is missing.*products\.parquet"),
    ("missing_column", {"products.csv": "product_id,category,price\np1,toys,1\n"},
     r"products\.csv.*missing required column.*'title'.*First rows"),
    ("misspelt_column", {"products.csv": "product_id,titel,category,price\np1,x,toys,1\n"},
     r"rename 'titel' to 'title'"),
    ("unknown_table", {"products.csv": PRODUCTS, "offer.csv": "a\n1\n"},
     r"offer\.csv.*'offer' is not a table of the data contract.*judgments"),
    ("unknown_table_folder", {"products.csv": PRODUCTS, "clicks/part-0.csv": "a\n1\n"},
     r"'clicks' is not a table"),
    ("unreadable_parquet", {"products.parquet": b"this is not parquet"},
     r"products\.parquet: cannot read it as table 'products'"),
    ("empty_table_folder", {"products.csv": PRODUCTS, "offers/notes.txt": "x"},
     r"folder of table 'offers' holds no data files"),
    ("numeric_timestamp", {
        "products.csv": PRODUCTS,
        "offers.jsonl": json.dumps({"offer_id": "o1", "timestamp": 1700000000, "user_id": "u",
                                    "query": "q", "product_id": "p1", "engaged": True,
                                    "purchased": False}) + "\n",
     }, r"offers\.jsonl: column 'timestamp'.*type BIGINT.*to_timestamp"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "files", "match"), HARD_ERRORS, ids=[c[0] for c in HARD_ERRORS])
def test_hard_errors(tmp_path: Path, case: str, files: dict[str, str | bytes], match: str) -> None:
    data = _write(tmp_path / "data", files)
    with pytest.raises(ContractError, match=match):
        validate(data)


def test_missing_folder_is_a_contract_error(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="no such file or folder"):
        validate(tmp_path / "absent")


def test_failed_ingest_keeps_previous_store(tmp_path: Path) -> None:
    good = _write(tmp_path / "good", {"products.csv": PRODUCTS})
    bad = _write(tmp_path / "bad", {"products.csv": "product_id\np1\n"})
    db = tmp_path / "s.duckdb"
    ingest(good, db)
    with pytest.raises(ContractError):
        ingest(bad, db)
    store = open_store(db)
    assert store.table("products").count().execute() == 2
    assert not list(tmp_path.glob("s.duckdb.tmp-*"))


# --- one row rule at a time --------------------------------------------------------------------

# (case, table, bad row, expected rule, expected column)
ROW_RULES = [
    ("null_product_id", "products", ",Milk,grocery,1", "null_id", "product_id"),
    ("blank_title", "products", "p9,  ,grocery,1", "null_value", "title"),
    ("duplicate_product", "products", "p1,Milk again,grocery,1", "duplicate_id", "product_id"),
    ("negative_price", "products", "p9,X,grocery,-0.01", "negative_price", "price"),
    ("nan_price", "products", "p9,X,grocery,nan", "non_finite_price", "price"),
    ("text_price", "products", "p9,X,grocery,cheap", "unparseable_number", "price"),
    ("null_offer_id", "offers", ",2024-01-01,u1,milk,p1,1,true,false,0.5", "null_id", "offer_id"),
    ("duplicate_offer", "offers", GOOD_OFFER, "duplicate_id", "offer_id"),
    ("bad_timestamp", "offers", "o2,2024-13-45,u1,milk,p1,1,true,false,0.5",
     "unparseable_timestamp", "timestamp"),
    ("blank_query", "offers", "o2,2024-01-01,u1, \t ,p1,1,true,false,0.5", "blank_query", "query"),
    ("unknown_product", "offers", "o2,2024-01-01,u1,milk,p7,1,true,false,0.5",
     "unknown_product", "product_id"),
    ("position_zero", "offers", "o2,2024-01-01,u1,milk,p1,0,true,false,0.5",
     "invalid_position", "position"),
    ("propensity_zero", "offers", "o2,2024-01-01,u1,milk,p1,1,true,false,0",
     "invalid_propensity", "propensity"),
    ("propensity_above_one", "offers", "o2,2024-01-01,u1,milk,p1,1,true,false,1.01",
     "invalid_propensity", "propensity"),
    ("bad_boolean", "offers", "o2,2024-01-01,u1,milk,p1,1,true,sometimes,0.5",
     "invalid_boolean", "purchased"),
    ("null_boolean", "offers", "o2,2024-01-01,u1,milk,p1,1,,false,0.5", "null_value", "engaged"),
    ("null_label", "judgments", "milk,p2,,a1", "null_label", "label"),
    ("judgment_unknown_product", "judgments", "milk,p7,1,a1", "unknown_product", "product_id"),
    ("order_unknown_product", "orders", "ord1,u1,p7,2024-01-01", "unknown_product", "product_id"),
    ("order_bad_timestamp", "orders", "ord1,u1,p1,soon", "unparseable_timestamp", "timestamp"),
]  # fmt: skip


def _folder_with(tmp_path: Path, table: str, bad_row: str) -> Path:
    files = {
        "products.csv": PRODUCTS,
        "offers.csv": OFFERS_HEADER + "\n" + GOOD_OFFER + "\n",
        "judgments.csv": JUDGMENTS,
        "orders.csv": "order_id,user_id,product_id,timestamp\nord0,u1,p1,2023-12-01\n",
    }
    name = f"{table}.csv"
    files[name] = files[name] + bad_row + "\n"
    return _write(tmp_path / "data", files)


@pytest.mark.parametrize(
    ("case", "table", "row", "rule", "column"), ROW_RULES, ids=[r[0] for r in ROW_RULES]
)
def test_row_rule(tmp_path: Path, case: str, table: str, row: str, rule: str, column: str) -> None:
    assert rule in RULES
    db = tmp_path / "s.duckdb"
    report = ingest(_folder_with(tmp_path, table, row), db)
    t = report.tables[table]
    assert dict(t.rules) == {rule: 1}
    assert t.read == t.accepted + t.quarantined == t.accepted + 1
    q = open_store(db).table("quarantine").to_pandas()
    assert q[["table_name", "rule", "column_name"]].values.tolist() == [[table, rule, column]]
    # The bad row is the last data row of its file.
    assert q["source_row"].tolist() == [t.read]
    assert q["source_file"].tolist() == [f"{table}.csv"]
    # The good rows of every other table are untouched.
    for other, r in report.tables.items():
        if other != table:
            assert r.quarantined == 0


# --- the dirty folder: every rule at once -------------------------------------------------------

EXPECTED_QUARANTINE = {
    "products": {5: "duplicate_id", 6: "null_id", 7: "negative_price", 8: "non_finite_price",
                 9: "unparseable_number", 10: "null_value"},
    "offers": {5: "duplicate_id", 6: "null_id", 7: "unparseable_timestamp", 8: "blank_query",
               9: "unknown_product", 10: "invalid_boolean", 11: "invalid_position",
               12: "invalid_propensity", 13: "invalid_propensity", 14: "null_id",
               15: "unknown_product", 16: "invalid_position", 17: "null_value", 19: "null_value",
               20: "unparseable_number", 21: "duplicate_id", 22: "unparseable_timestamp"},
    "judgments": {6: "null_label", 7: "unknown_product", 8: "blank_query", 9: "blank_query",
                  10: "null_id"},
    "orders": {3: "unknown_product", 4: "null_id", 5: "unparseable_timestamp", 6: "null_id"},
}  # fmt: skip
EXPECTED_ACCEPTED = {
    "products": ["p1", "p2", "p3", "p4", "p9"],
    "offers": ["o1", "o2", "o3", "o4", "o18", "o7"],  # o7: first *valid* occurrence (row 23)
}


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    db = tmp_path_factory.mktemp("dirty") / "s.duckdb"
    report = ingest(FIXTURES / "dirty", db)
    return report, open_store(db)


def test_dirty_every_bad_row_quarantined_for_its_rule(dirty) -> None:  # noqa: ANN001
    _, store = dirty
    q = store.table("quarantine").to_pandas()
    got = {t: dict(zip(g.source_row, g.rule, strict=True)) for t, g in q.groupby("table_name")}
    assert got == EXPECTED_QUARANTINE


def test_dirty_counts_reconcile(dirty) -> None:  # noqa: ANN001
    report, store = dirty
    for name, t in report.tables.items():
        lines = (FIXTURES / "dirty" / f"{name}.csv").read_text().strip().splitlines()
        assert t.read == len(lines) - 1
        assert t.read == t.accepted + t.quarantined
        assert t.quarantined == len(EXPECTED_QUARANTINE[name]) == sum(t.rules.values())
        assert store.table(name).count().execute() == t.accepted
    assert report.quarantined == {k: len(v) for k, v in EXPECTED_QUARANTINE.items()}


def test_dirty_no_good_row_lost_and_repairs_counted(dirty) -> None:  # noqa: ANN001
    report, store = dirty
    for table, ids in EXPECTED_ACCEPTED.items():
        key = "product_id" if table == "products" else "offer_id"
        assert store.table(table).to_pandas()[key].tolist() == ids
    assert dict(report.tables["products"].repairs) == {"category_unknown": 1, "price_missing": 1}
    assert dict(report.tables["offers"].repairs) == {
        "purchase_read_as_engagement": 1,
        "request_id_defaulted": 1,
        "position_defaulted": 1,
    }
    o = store.table("offers").to_pandas().set_index("offer_id")
    assert bool(o.loc["o4", "engaged"]) and bool(o.loc["o4", "purchased"])
    assert o.loc["o3", "request_id"] == "o3" and o.loc["o3", "position"] == 1
    assert bool(o.loc["o3", "engaged"]) and not bool(o.loc["o3", "purchased"])  # yes / no
    # '+02:00' is converted to UTC, 'Z' kept, naive read as UTC.
    assert o.loc["o4", "timestamp"] == pd.Timestamp("2024-01-02 06:00:00")
    assert o.loc["o1", "timestamp"] == pd.Timestamp("2024-01-01 10:00:00")
    assert o.loc["o18", "query"] == "toy car" and o.loc["o18", "query_length"] == 2
    assert o.loc["o2", "query"] == "milk"
    p = store.table("products").to_pandas().set_index("product_id")
    assert p.loc["p3", "category"] == "unknown" and pd.isna(p.loc["p4", "price"])
    assert any("README.md" in w for w in report.warnings)


def test_dirty_multi_problem_row_lists_all_rules(dirty) -> None:  # noqa: ANN001
    _, store = dirty
    q = store.table("quarantine").to_pandas()
    row = q[(q.table_name == "offers") & (q.source_row == 22)].iloc[0]
    assert row.detail.startswith("timestamp=notatime")
    for rule in (
        "invalid_position",
        "invalid_boolean",
        "invalid_propensity",
        "blank_query",
        "unknown_product",
    ):
        assert rule in row.detail


def test_store_types_follow_design(dirty) -> None:  # noqa: ANN001
    _, store = dirty
    schema = store.table("offers").schema()
    assert str(schema["query_length"]) == "int32" and str(schema["position"]) == "int32"
    assert str(schema["timestamp"]).startswith("timestamp")
    assert store.has("orders") and store.has("quarantine") and not store.has("clicks")
    with pytest.raises(KeyError):
        store.table("clicks")


def test_missing_optional_table_error_says_how_to_fix(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    ingest(_write(tmp_path / "d", {"products.csv": PRODUCTS}), db)
    store = open_store(db)
    assert not store.has("offers")
    with pytest.raises(ContractError, match="no 'offers' table.*offers.parquet"):
        store.table("offers")


# --- formats ------------------------------------------------------------------------------------


def test_parquet_parts_jsonl_and_duplicates_across_parts(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", {"products.csv": PRODUCTS})
    (data / "offers").mkdir()
    cols = ["offer_id", "timestamp", "user_id", "query", "product_id", "engaged", "purchased"]
    t1, t2 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")
    parts = [
        [("o1", t1, "u1", "Milk", "p1", True, True), ("o2", t1, "u1", "milk", "p2", False, False)],
        [("o1", t2, "u2", "milk", "p2", False, False), ("o3", t2, "u2", "milk", "p2", False, True)],
    ]
    for i, rows in enumerate(parts):
        pd.DataFrame(rows, columns=cols).to_parquet(data / "offers" / f"part-{i}.parquet")
    (data / "judgments.jsonl").write_text(
        '{"query": "MILK", "product_id": "p1", "label": "E"}\n'
        '{"query": "milk", "product_id": "p2", "label": "I", "annotator_id": "a"}\n'
    )
    db = tmp_path / "s.duckdb"
    report = ingest(data, db)
    store = open_store(db)
    o = store.table("offers").to_pandas()
    assert o.offer_id.tolist() == ["o1", "o2", "o3"]
    assert o.loc[0, "user_id"] == "u1"  # the part-0 row is first in file order
    assert bool(o.loc[2, "engaged"])  # purchase read as engagement
    q = store.table("quarantine").to_pandas()
    assert q[["source_file", "source_row", "rule"]].values.tolist() == [
        ["offers/part-1.parquet", 1, "duplicate_id"]
    ]
    assert report.tables["offers"].files == ("offers/part-0.parquet", "offers/part-1.parquet")
    assert store.table("judgments").to_pandas().label.tolist() == ["E", "I"]


def test_duckdb_database_as_input(tmp_path: Path) -> None:
    src = tmp_path / "raw.duckdb"
    con = duckdb.connect(str(src))
    con.execute(
        "CREATE TABLE products AS SELECT 'p1' AS product_id, 'Milk' AS title, "
        "'grocery' AS category, 1.0 AS price UNION ALL SELECT 'p1', 'dup', 'x', 2.0"
    )
    con.close()
    report = ingest(src, tmp_path / "s.duckdb")
    assert (report.tables["products"].accepted, report.tables["products"].quarantined) == (1, 1)
    assert report.tables["products"].files == ("raw.duckdb:products",)


def test_store_from_frames_same_rules(tmp_path: Path) -> None:
    products = pd.DataFrame(
        {
            "product_id": ["p1", "p2", "p2"],
            "title": ["a", "b", "c"],
            "category": ["toys", None, "x"],
            "price": [1.0, float("inf"), 2.0],
        }
    )
    offers = pd.DataFrame(
        {
            "offer_id": ["o1", "o2", "o3"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "user_id": ["u1", "u1", "u2"],
            "query": [" Milk", "milk", "milk"],
            "product_id": ["p1", "p1", "p2"],
            "engaged": [False, True, True],
            "purchased": [True, False, False],
        }
    )
    judgments = pd.DataFrame(
        {"query": ["milk", "milk"], "product_id": ["p1", "p1"], "label": [1, "1"]}
    )  # mixed types are read as text
    store = store_from_frames(
        tmp_path / "f.duckdb", products=products, offers=offers, judgments=judgments
    )
    r = store.report
    assert dict(r.tables["products"].rules) == {"non_finite_price": 1}  # p2 row 2
    assert store.table("products").to_pandas().title.tolist() == ["a", "c"]
    assert dict(r.tables["offers"].rules) == {}  # p2 exists: its first valid row is accepted
    o = store.table("offers").to_pandas()
    assert o["query"].tolist() == ["milk"] * 3 and o["engaged"].tolist() == [True] * 3
    assert store.table("judgments").to_pandas().label.tolist() == ["1", "1"]
    assert r.tables["products"].files == ("<frame:products>",)


def test_reingest_is_deterministic(tmp_path: Path) -> None:
    data = tmp_path / "dirty"
    shutil.copytree(FIXTURES / "dirty", data)
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ra, rb = ingest(data, a), ingest(data, b)
    assert ra.to_dict() | {"source": ""} == rb.to_dict() | {"source": ""}
    sa, sb = open_store(a), open_store(b)
    for t in ("products", "offers", "judgments", "orders", "quarantine", "seemingly_meta"):
        pd.testing.assert_frame_equal(sa.table(t).to_pandas(), sb.table(t).to_pandas())
    # Re-ingesting into the same path replaces the store with an identical one.
    ingest(data, a)
    pd.testing.assert_frame_equal(
        open_store(a).table("offers").to_pandas(), sb.table("offers").to_pandas()
    )


def test_open_store_rejects_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="seemingly ingest"):
        open_store(tmp_path / "none.duckdb")
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE x (a INT)").close()
    with pytest.raises(ContractError, match="not a seemingly store"):
        open_store(other)


def test_report_round_trips(dirty) -> None:  # noqa: ANN001
    report, store = dirty
    assert store.report == report
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


def test_companion_files_are_skipped_without_warning(tmp_path) -> None:  # noqa: ANN001
    from seemingly.store import validate

    data = tmp_path / "d"
    data.mkdir()
    (data / "products.csv").write_text("product_id,title,category,price\np1,Toy car,toys,3.5\n")
    for name in ("truth.json", "dataset.json", "conversion.json", "notes.txt"):
        (data / name).write_text("{}")
    report = validate(data)
    assert report.tables["products"].accepted == 1
    ignored = [w for w in report.warnings if "ignored files" in w]
    assert len(ignored) == 1 and "notes.txt" in ignored[0]
    assert not any(n in ignored[0] for n in ("truth.json", "dataset.json", "conversion.json"))
