"""Inputs are read exactly and the contract checks what it declares (issue 22, findings 2, 3,
11, 12, 14): a bad file stops with one line naming file and rule; a bad row is quarantined
with its file, row and rule, and the rest of the file is read."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.adversarial import assert_refused, invoke, readme_example, tree_hash, write_data

P = "product_id,title,category,price,brand\n"
OF = "offer_id,timestamp,user_id,query,product_id,engaged,purchased\n"
J = "query,product_id,label,annotator_id\n"
P_OK = readme_example()["products.csv"]
O_OK = readme_example()["offers.csv"]


def _parquet(table: dict[str, list[object]] | pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table if isinstance(table, pa.Table) else pa.table(table), sink)
    return sink.getvalue().to_pybytes()


def _jsonl(*rows: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


# (id, files replacing the README example's (None removes one), extra argv, pattern)
HARD: list[tuple[str, dict[str, str | bytes | None], list[str], str]] = [
    # finding 3: one table, two forms
    ("products-csv-and-parquet", {"products.parquet": _parquet({"product_id": ["p9"],
     "title": ["x"], "category": ["c"], "price": [1.0]})}, [],
     r"table 'products' is given 2 times \(products\.csv and products\.parquet\)"),
    ("offers-csv-and-folder", {"offers/part-0.csv": O_OK}, [],
     r"table 'offers' is given 2 times \(offers/ and offers\.csv\)"),
    ("products-csv-and-gz", {"products.csv.gz": b"\x1f\x8b"}, [],
     r"'products' is given 2 times \(products\.csv and products\.csv\.gz\)"),
    ("judgments-csv-and-jsonl", {"judgments.jsonl": _jsonl(
     {"query": "q", "product_id": "p1", "label": "1"})}, [],
     r"'judgments' is given 2 times"),
    # finding 2: the dialect is the contract's, never sniffed
    ("products-semicolons", {"products.csv": "product_id;title;category;price\np1;a;b;1\n"},
     [], r"products\.csv: table 'products' is missing required column"),
    ("products-tabs", {"products.csv": "product_id\ttitle\tcategory\tprice\np1\ta\tb\t1\n"}, [],
     r"products\.csv: table 'products' is missing required column"),
    ("products-latin1", {"products.csv": (P + "p1,caf\xe9 cr\xe8me,grocery,1,b\n").encode(
     "latin-1")}, [], r"products\.csv.*(UTF-8|unicode)"),
    ("products-extra-field", {"products.csv": P + "p1,a,b,1,c\np2,a,b,1,c,EXTRA\n"}, [],
     r"products\.csv"),
    ("products-unterminated-quote", {"products.csv": P + 'p1,"never closed,b,1,c\n'}, [],
     r"products\.csv"),
    ("products-empty-file", {"products.csv": ""}, [], r"products\.csv"),
    ("products-no-title-column", {"products.csv": "product_id,category,price\np1,c,1\n"}, [],
     r"products\.csv: table 'products' is missing required column\(s\) 'title'"),
    # finding 12: what validate lets through
    ("products-header-only", {"products.csv": P}, [],
     r"products\.csv: required table 'products' has 0 accepted rows"),
    ("products-all-rejected", {"products.csv": P + ",a,b,1,c\n ,a,b,1,c\n"}, [],
     r"required table 'products' has 0 accepted rows of 2 read \(rules: null_id\)"),
    ("max-quarantined", {"products.csv": P_OK + "p3,c,d,-1,e\n"}, ["--max-quarantined", "0.2"],
     r"products\.csv: table 'products' quarantined 33\.3% of its rows, above --max-quarantined"),
    ("dataset-json-not-json", {"dataset.json": "{labels: 1"}, [],
     r"dataset\.json: not valid JSON"),
    ("dataset-json-list", {"dataset.json": "[1, 2]"}, [],
     r"dataset\.json: expected a JSON object"),
    ("dataset-json-bad-setting", {"dataset.json": '{"labels": {"relevant_at": "high"}}'}, [],
     r"dataset\.json: labels\.relevant_at"),
    ("dataset-json-unknown-setting", {"dataset.json": '{"labels": {"relevant": 2}}'}, [],
     r"dataset\.json: labels\.relevant"),
    ("dataset-json-deep", {"dataset.json": "[" * 100_000 + "]" * 100_000}, [],
     r"dataset\.json: nested too deeply"),
    ("dataset-json-not-utf8", {"dataset.json": b'{"labels": "\xff"}'}, [],
     r"dataset\.json: not valid JSON"),
    ("judgments-mixed-esci-and-grades", {"judgments.csv": J + "buy burgers,p1,E,a\n"
     "buy burgers,p2,0.5,a\n"}, [],
     r"judgments: labels mix kinds \(esci 'E' at judgments\.csv row 1; numeric '0\.5' at "
     r"judgments\.csv row 2\); rule one_label_kind"),
    ("judgments-mixed-boolean-and-esci", {"judgments.csv": J + "buy burgers,p1,true,a\n"
     "buy burgers,p2,I,a\n"}, [], r"labels mix kinds .*rule one_label_kind"),
    ("unknown-table-file", {"product.csv": P_OK}, [],
     r"product\.csv: 'product' is not a table of the data contract"),
    ("unknown-table-folder", {"stuff/part-0.csv": P_OK}, [],
     r"stuff: 'stuff' is not a table of the data contract"),
    ("table-folder-without-data", {"offers.csv": None, "offers/readme.txt": "x"}, [],
     r"offers: folder of table 'offers' holds no data files"),
    ("jsonl-broken-line", {"products.csv": None, "products.jsonl": '{"product_id": "p1", '
     '"title": "a", "category": "c", "price": 1}\n{"product_id": "p2", "title": \n'}, [],
     r"products\.jsonl"),
    ("parquet-corrupt", {"products.csv": None, "products.parquet": b"PAR1 not really PAR1"},
     [], r"products\.parquet"),
]


@pytest.mark.parametrize(("files", "extra", "pattern"), [c[1:] for c in HARD],
                         ids=[c[0] for c in HARD])
def test_bad_file_is_one_line_and_changes_nothing(tmp_path: Path, files: dict, extra: list,
                                                  pattern: str) -> None:
    data = write_data(tmp_path / "mydata", files)
    before = tree_hash(tmp_path)
    assert_refused(invoke(["validate", data, *extra]), 1, pattern)
    assert tree_hash(tmp_path) == before


@pytest.mark.parametrize(("argv", "pattern"), [
    (lambda t: ["validate", t / "nothing-here"], r"nothing-here: no such file or folder"),
    (lambda t: ["validate", _file(t, "data.txt", b"hello")], r"data\.txt: expected a folder"),
    (lambda t: ["validate", _file(t, "data.duckdb", b"not a database")],
     r"data\.duckdb: cannot open as a DuckDB database"),
], ids=["data-missing", "data-is-a-text-file", "data-is-a-corrupt-duckdb"])
def test_bad_data_path(tmp_path: Path, argv: object, pattern: str) -> None:
    args = argv(tmp_path)  # type: ignore[operator]
    before = tree_hash(tmp_path)
    assert_refused(invoke(args), 1, pattern)
    assert tree_hash(tmp_path) == before


def _file(tmp: Path, name: str, body: bytes) -> Path:
    (tmp / name).write_bytes(body)
    return tmp / name


_BIG = "x" * 2_200_000  # one 2 MB row: over DuckDB's default line limit

# (id, files replacing the README example's, expected quarantine (file, row, rule))
ROWS: list[tuple[str, dict[str, str | bytes | None], tuple[str, int, str]]] = [
    ("timestamp-infinity", {"offers.csv": O_OK + "o3,infinity,u1,buy burgers,p1,false,false\n"},
     ("offers.csv", 3, "timestamp_out_of_range")),
    ("timestamp-minus-infinity", {"offers.csv": OF + "o3,-infinity,u1,q,p1,false,false\n"
     + O_OK.split("\n", 1)[1]}, ("offers.csv", 1, "timestamp_out_of_range")),
    ("timestamp-epoch-zero", {"offers.csv": O_OK + "o3,1970-01-01T00:00:00Z,u1,q,p1,1,0\n"},
     ("offers.csv", 3, "timestamp_out_of_range")),
    ("timestamp-year-2150", {"offers.csv": O_OK + "o3,2150-01-01,u1,q,p1,1,0\n"},
     ("offers.csv", 3, "timestamp_out_of_range")),
    ("timestamp-parquet-epoch", {"offers.csv": None, "offers.parquet": _parquet(pa.table({
     "offer_id": ["o1", "o2"], "timestamp": pa.array([0, 1_767_434_400_000_000],
                                                     pa.timestamp("us")),
     "user_id": ["u", "u"], "query": ["q", "q"], "product_id": ["p1", "p2"],
     "engaged": [True, True], "purchased": [False, True]}))},
     ("offers.parquet", 1, "timestamp_out_of_range")),
    ("timestamp-yesterday", {"offers.csv": O_OK + "o3,yesterday,u1,q,p1,1,0\n"},
     ("offers.csv", 3, "unparseable_timestamp")),
    ("label-7000", {"judgments.csv": J + "buy burgers,p1,7000,a\nbuy burgers,p2,1,a\n"},
     ("judgments.csv", 1, "invalid_label")),
    ("label-negative", {"judgments.csv": J + "buy burgers,p1,1,a\nbuy burgers,p2,-1,a\n"},
     ("judgments.csv", 2, "invalid_label")),
    ("label-nan", {"judgments.csv": J + "buy burgers,p1,nan,a\nbuy burgers,p2,1,a\n"},
     ("judgments.csv", 1, "invalid_label")),
    ("label-inf", {"judgments.csv": J + "buy burgers,p1,inf,a\nbuy burgers,p2,1,a\n"},
     ("judgments.csv", 1, "invalid_label")),
    ("label-word", {"judgments.csv": J + "buy burgers,p1,maybe,a\nbuy burgers,p2,1,a\n"},
     ("judgments.csv", 1, "invalid_label")),
    ("title-list-jsonl", {"products.csv": None, "products.jsonl": _jsonl(
     {"product_id": "p1", "title": "beef", "category": "c", "price": 1},
     {"product_id": "p2", "title": ["a", "b"], "category": "c", "price": 1})},
     ("products.jsonl", 2, "non_scalar_value")),
    ("title-object-jsonl", {"products.csv": None, "products.jsonl": _jsonl(
     {"product_id": "p1", "title": {"en": "beef"}, "category": "c", "price": 1},
     {"product_id": "p2", "title": "press", "category": "c", "price": 1})},
     ("products.jsonl", 1, "non_scalar_value")),
    ("title-1mb", {"products.csv": P_OK + "p3," + "t" * 1_000_000 + ",c,1,b\n"},
     ("products.csv", 3, "value_too_long")),
    ("row-2mb", {"products.csv": P + "p0,a,c,1,b\np1," + _BIG + ",c,1,b\np2,b,c,1,b\n"},
     ("products.csv", 2, "value_too_long")),
    ("query-20k", {"offers.csv": O_OK + "o3,2026-01-03,u1," + "q " * 10_000 + ",p1,1,0\n"},
     ("offers.csv", 3, "value_too_long")),
    ("product-id-20k", {"products.csv": P_OK + "p" * 20_000 + ",t,c,1,b\n"},
     ("products.csv", 3, "value_too_long")),
    ("price-negative", {"products.csv": P_OK + "p3,t,c,-1,b\n"},
     ("products.csv", 3, "negative_price")),
    ("price-infinite", {"products.csv": P_OK + "p3,t,c,inf,b\n"},
     ("products.csv", 3, "non_finite_price")),
    ("price-text", {"products.csv": P_OK + "p3,t,c,cheap,b\n"},
     ("products.csv", 3, "unparseable_number")),
    ("product-id-null", {"products.csv": P_OK + ",t,c,1,b\n"}, ("products.csv", 3, "null_id")),
    ("product-id-duplicate", {"products.csv": P_OK + "p1,again,c,1,b\n"},
     ("products.csv", 3, "duplicate_id")),
    ("offer-unknown-product", {"offers.csv": O_OK + "o3,2026-01-03,u1,q,p404,1,0\n"},
     ("offers.csv", 3, "unknown_product")),
    ("offer-blank-query", {"offers.csv": O_OK + "o3,2026-01-03,u1,   ,p1,1,0\n"},
     ("offers.csv", 3, "blank_query")),
    ("offer-engaged-maybe", {"offers.csv": O_OK + "o3,2026-01-03,u1,q,p1,maybe,0\n"},
     ("offers.csv", 3, "invalid_boolean")),
    ("offer-id-null", {"offers.csv": O_OK + ",2026-01-03,u1,q,p1,1,0\n"},
     ("offers.csv", 3, "null_id")),
    ("offer-position-zero", {"offers.csv": "offer_id,timestamp,user_id,query,product_id,"
     "position,engaged,purchased\no1,2026-01-03,u,q,p1,0,1,0\no2,2026-01-03,u,q,p2,1,1,0\n"},
     ("offers.csv", 1, "invalid_position")),
    ("offer-propensity-two", {"offers.csv": "offer_id,timestamp,user_id,query,product_id,"
     "propensity,engaged,purchased\no1,2026-01-03,u,q,p1,2,1,0\no2,2026-01-03,u,q,p2,0.5,1,0\n"},
     ("offers.csv", 1, "invalid_propensity")),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in ROWS], ids=[c[0] for c in ROWS])
def test_bad_row_is_quarantined_with_file_row_rule(tmp_path: Path, files: dict,
                                                   expected: tuple[str, int, str]) -> None:
    data = write_data(tmp_path / "mydata", files)
    before = tree_hash(data)
    store = tmp_path / "s.duckdb"
    r = invoke(["ingest", data, "-o", store, "--json"])
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    report = json.loads(r.stdout)
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT source_file, source_row, rule FROM quarantine").fetchall()
    finally:
        con.close()
    assert expected in rows, rows
    table = expected[0].split(".")[0]
    # the rest of the file is read: exactly the bad row is quarantined, not the file
    assert report["tables"][table]["quarantined"] == 1
    assert report["tables"][table]["accepted"] == report["tables"][table]["read"] - 1 >= 1
    assert tree_hash(data) == before


def test_finding2_first_quote_after_the_sniffer_sample(tmp_path: Path) -> None:
    """Finding 2: a quoted title after 25,000 plain rows is read with the contract's quote
    character: no column-count error, no literal quotes in titles."""
    rows = "".join(f"p{i},title {i},grocery,1.0,b\n" for i in range(25_000))
    data = write_data(tmp_path / "mydata", {"products.csv": P + rows +
                                            'pq,"Burger, ""deluxe"" press",home,2.5,b\n'})
    store = tmp_path / "s.duckdb"
    r = invoke(["ingest", data, "-o", store, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["tables"]["products"]["accepted"] == 25_001
    con = duckdb.connect(str(store), read_only=True)
    (title,) = con.execute("SELECT title FROM products WHERE product_id = 'pq'").fetchone()
    (quoted,) = con.execute("SELECT count(*) FROM products WHERE title LIKE '%\"%' "
                            "AND product_id <> 'pq'").fetchone()
    con.close()
    assert (title, quoted) == ('Burger, "deluxe" press', 0)


def test_finding11_part_names_are_literal_not_globs(tmp_path: Path) -> None:
    """Finding 11: offers/part-[1].parquet is that file, not a pattern matching part-1."""
    def part(offer: str, product: str) -> bytes:
        return _parquet({"offer_id": [offer], "timestamp": ["2026-01-03T10:00:00Z"],
                         "user_id": ["u"], "query": ["buy burgers"], "product_id": [product],
                         "engaged": [True], "purchased": [False]})

    data = write_data(tmp_path / "my[data]", {"offers.csv": None,
                                              "offers/part-[1].parquet": part("o1", "p1"),
                                              "offers/part-1.parquet": part("o2", "p2"),
                                              "offers/part-*.parquet": part("o3", "p1")})
    store = tmp_path / "s.duckdb"
    r = invoke(["ingest", data, "-o", store, "--json"])
    assert r.exit_code == 0, r.output
    offers = json.loads(r.stdout)["tables"]["offers"]
    assert (offers["read"], offers["accepted"]) == (3, 3)
    con = duckdb.connect(str(store), read_only=True)
    ids = sorted(x for (x,) in con.execute("SELECT offer_id FROM offers").fetchall())
    con.close()
    assert ids == ["o1", "o2", "o3"]


def test_earliest_timestamp_option_lets_old_data_in(tmp_path: Path) -> None:
    """The range rule has an explicit way out for data that really is old."""
    data = write_data(tmp_path / "mydata", {"offers.csv": O_OK + "o3,1995-06-01,u1,q,p1,1,0\n"})
    for extra, quarantined in (([], 1), (["--earliest-timestamp", "1990-01-01"], 0)):
        r = invoke(["validate", data, "--json", *extra])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["tables"]["offers"]["quarantined"] == quarantined


def test_list_typed_title_column_is_refused_row_by_row(tmp_path: Path) -> None:
    """Finding 12: a Parquet title column of lists is no title: every row is quarantined as
    non_scalar_value, and validate exits 1 because no product is left."""
    data = write_data(tmp_path / "mydata", {"products.csv": None, "products.parquet": _parquet({
        "product_id": ["p1", "p2"], "title": [["a"], ["b"]], "category": ["c", "c"],
        "price": [1.0, 2.0]})})
    before = tree_hash(tmp_path)
    assert_refused(invoke(["validate", data]), 1,
                   r"products\.parquet: required table 'products' has 0 accepted rows of 2 "
                   r"read \(rules: non_scalar_value\)")
    assert tree_hash(tmp_path) == before
