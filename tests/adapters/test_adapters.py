"""Adapters on tiny hand-made files in each format; expected values worked out by hand."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from seemingly.adapters import FORMATS, ConversionReport, convert
from seemingly.adapters.crowdflower import product_id_for
from seemingly.adapters.online_retail import category_for
from seemingly.cli import app
from seemingly.config import LabelSettings


def drops(report: ConversionReport) -> dict[str, int]:
    """Dropped rows per reason, summed over inputs."""
    out: dict[str, int] = {}
    for d in report.dropped:
        out[d.reason] = out.get(d.reason, 0) + d.rows
    return out


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{table}.parquet")


# ---------------------------------------------------------------- tiny sources, one per format


def esci_source(folder: Path) -> Path:
    folder.mkdir()
    pd.DataFrame(
        {
            "example_id": range(8),
            "query": [
                "red shoes",
                "red shoes",
                "red shoes",
                "red shoes",
                "zapatos",
                "  ",
                "red shoes",
                "red shoes",
            ],
            "query_id": [1, 1, 1, 1, 2, 3, 1, 1],
            "product_id": ["A", "B", "C", "D", "A", "A", "ZZZ", "A"],
            "product_locale": ["us", "us", "us", "us", "es", "us", "us", "us"],
            "esci_label": ["E", "S", "C", "I", "E", "E", "E", "X"],
            "small_version": [1] * 8,
            "large_version": [1] * 8,
            "split": ["train"] * 8,
        }
    ).to_parquet(folder / "shopping_queries_dataset_examples.parquet")
    pd.DataFrame(
        {
            "product_id": ["A", "B", "C", "D", "A", "E"],
            "product_title": ["Red shoe", "Red boot", "Shoe polish", "Blue hat", "Zapato", " "],
            "product_description": [None] * 6,
            "product_bullet_point": [None] * 6,
            "product_brand": ["Acme", "", None, "Hatco", "Acme", "X"],
            "product_color": [None] * 6,
            "product_locale": ["us", "us", "us", "us", "es", "us"],
        }
    ).to_parquet(folder / "shopping_queries_dataset_products.parquet")
    return folder


def esci_json_source(folder: Path) -> Path:
    folder.mkdir()
    ratings = [
        ("B1", "100.000"),
        ("B2", "10.000"),
        ("B3", "1.000"),
        ("B4", "0.000"),
        ("B5", "5.000"),
    ]
    data = {
        "name": "ESCI Judgments",
        "judgmentRatings": [
            {"query": "t towels", "ratings": [{"docId": d, "rating": r} for d, r in ratings]},
            {"query": "mugs", "ratings": [{"docId": "B1", "rating": "0.000"}]},
        ],
    }
    (folder / "esci_us_judgments.json").write_text(json.dumps(data))
    queries = {"querySetQueries": [{"queryText": "t towels"}, {"queryText": "never judged"}]}
    (folder / "esci_us_queryset.json").write_text(json.dumps(queries))
    return folder


def wands_source(folder: Path) -> Path:
    (folder / "dataset").mkdir(parents=True)
    (folder / "dataset" / "product.csv").write_text(
        "product_id\tproduct_name\tproduct_class\tcategory_hierarchy\tproduct_description\t"
        "product_features\trating_count\taverage_rating\treview_count\n"
        "0\tsolid wood chair\tDining Chairs\tFurniture / Kitchen Furniture / Chairs\tnice\t"
        "color:brown\t3\t4.5\t2\n"
        '1\t"the ""big"" rug"\tArea Rugs\tRugs / Area Rugs\t\t\t\t\t\n'
        "2\tmystery\t\t\t\t\t\t\t\n"
    )
    (folder / "dataset" / "query.csv").write_text(
        "query_id\tquery\tquery_class\n0\twood chair\tDining Chairs\n1\tbig rug\tArea Rugs\n"
    )
    (folder / "dataset" / "label.csv").write_text(
        "id\tquery_id\tproduct_id\tlabel\n0\t0\t0\tExact\n1\t0\t1\tIrrelevant\n"
        "2\t1\t1\tPartial\n3\t9\t1\tExact\n4\t1\t2\tMaybe\n5\t1\t7\tExact\n"
    )
    return folder


def homedepot_source(folder: Path) -> Path:
    folder.mkdir()
    train = (
        '"id","product_uid","product_title","search_term","relevance"\n'
        '2,100001,"Simpson 90\xb0 Angle","angle bracket",3\n'
        '3,100001,"Simpson 90\xb0 Angle","l bracket",2.5\n'
        '9,100002,"BEHR Premium Stain","deck stain",2.33\n'
        '16,100003,"Bathtub","  ",1\n'
        '17,100004,"Shower","shower only",3.5\n'
    )
    with gzip.open(folder / "train.csv.gz", "wb") as f:
        f.write(train.encode("latin-1"))
    (folder / "attributes.csv").write_bytes(
        b'"product_uid","name","value"\n100001,"MFG Brand Name","Simpson Strong-Tie"\n'
        b'100001,"Color","grey"\n100002,"Bullet01","covers"\n'
    )
    (folder / "product_descriptions.csv").write_bytes(
        b'"product_uid","product_description"\n100001,"Angles make joints stronger"\n'
    )
    return folder


def crowdflower_source(folder: Path) -> Path:
    folder.mkdir()
    pd.DataFrame(
        {
            "id": [1, 2, 4, 5, 6],
            "query": ["led lights", "projector", "led lights lamp", "", "wine rack"],
            "product_title": ["LED String", "ViewSonic Pro", "LED String", "Pillow", "Rack"],
            "product_description": ["<b>10 bulbs</b>", None, "<b>10 bulbs</b>", "x", "y"],
            "median_relevance": [4, 3, 1, 2, 5],
            "relevance_variance": [0.0, 0.471, 0.0, 0.0, 0.0],
        }
    ).to_csv(folder / "train.csv", index=False)
    return folder


RETAIL_LINES = [
    # InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID
    ("1001", "A1", "RED MUG", 2, "2011-01-01 10:00:00", 1.0, "10"),
    ("1001", "a1", "RED MUG", 1, "2011-01-01 10:00:00", 3.0, "10"),  # same product, merged
    ("1002", "A1", "red mug old", 5, "2011-01-02 09:00:00", 2.0, "11"),
    ("C1003", "A1", "RED MUG", -1, "2011-01-03 09:00:00", 1.0, "10"),  # cancellation
    ("1004", "B2", "CHRISTMAS LIGHTS", 3, "2011-01-04 09:00:00", 0.0, ""),  # no customer
    ("1005", "POST", "POSTAGE", 1, "2011-01-05 09:00:00", 18.0, "12"),  # service code
    ("1006", "C3", "WOODEN THING", -2, "2011-01-06 09:00:00", 1.5, "12"),  # adjustment
    ("1007", "A1", "RED MUG", 1, "not a date", 5.0, "12"),  # unreadable date
]


def retail_source(folder: Path) -> Path:
    folder.mkdir()
    frame = pd.DataFrame(
        RETAIL_LINES,
        columns=[
            "InvoiceNo",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
        ],
    ).assign(Country="United Kingdom")
    frame.to_csv(folder / "online_retail.csv.gz", index=False)
    return folder


def groceries_source(folder: Path) -> Path:
    folder.mkdir()
    (folder / "Groceries_dataset.csv").write_text(
        "Member_number,Date,itemDescription\n"
        "1808,21-07-2015,tropical fruit\n"
        "1808,21-07-2015,whole milk\n"
        "1808,21-07-2015,whole milk\n"
        "1808,22-07-2015,whole milk\n"
        "2552,05-01-2015,whole milk\n"
        ",05-01-2015,yogurt\n"
        "2552,31-02-2015,yogurt\n"
        "2552,05-01-2015,\n"
    )
    return folder


SOURCES = {
    "esci": esci_source,
    "esci-judgments": esci_json_source,
    "wands": wands_source,
    "homedepot": homedepot_source,
    "crowdflower": crowdflower_source,
    "online-retail": retail_source,
    "groceries": groceries_source,
}


def test_every_format_has_a_tiny_source() -> None:
    assert set(SOURCES) == set(FORMATS)


# ---------------------------------------------------------------- per format


def test_esci_official_keeps_one_locale_and_letters(tmp_path: Path) -> None:
    report = convert("esci", esci_source(tmp_path / "src"), tmp_path / "out")
    products, judgments = read(tmp_path / "out", "products"), read(tmp_path / "out", "judgments")
    assert sorted(products["product_id"]) == ["A", "B", "C", "D"]  # es row, blank title out
    assert products.set_index("product_id")["brand"].to_dict() == {
        "A": "Acme",
        "B": None,
        "C": None,
        "D": "Hatco",
    }
    assert list(judgments["label"]) == ["E", "S", "C", "I"]
    assert drops(report) == {
        "other_locale": 2,
        "blank_title": 1,
        "blank_query": 1,
        "unknown_label": 1,
        "product_not_in_products": 1,
    }
    # examples: 8 read = 4 written + 4 dropped (other_locale counts one example, one product)
    judgment_drops = sum(d.rows for d in report.dropped if d.table == "judgments")
    assert report.rows_read["examples"] == report.rows_written["judgments"] + judgment_drops
    assert report.nulls["products"]["price"] == 4
    dataset = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert LabelSettings(**dataset["labels"]).esci_relevant == ("E",)


def test_esci_unknown_locale_lists_the_locales(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'de'.*\['es', 'us'\]"):
        convert("esci", esci_source(tmp_path / "src"), tmp_path / "out", locale="de")


@pytest.mark.parametrize("fmt", ["esci", "esci-judgments"])
def test_esci_judgments_variant_maps_ratings_unconfirmed(tmp_path: Path, fmt: str) -> None:
    report = convert(fmt, esci_json_source(tmp_path / "src"), tmp_path / "out")
    judgments = read(tmp_path / "out", "judgments")
    assert list(zip(judgments["product_id"], judgments["label"], strict=True)) == [
        ("B1", "E"),
        ("B2", "S"),
        ("B3", "C"),
        ("B4", "I"),
        ("B1", "I"),
    ]
    assert drops(report) == {"unknown_rating": 1}
    products = read(tmp_path / "out", "products")
    assert sorted(products["product_id"]) == ["B1", "B2", "B3", "B4"]
    assert (products["title"] == products["product_id"]).all()
    dataset = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert dataset["label_scale"]["mapping_confirmed"] is False
    assert dataset["label_scale"]["mapping"] == {"100": "E", "10": "S", "1": "C", "0": "I"}
    assert any("1 without judgments" in n for n in report.notes)
    assert any("autodetected" in n for n in report.notes) == (fmt == "esci")


def test_wands_grades_and_hierarchy(tmp_path: Path) -> None:
    report = convert("wands", wands_source(tmp_path / "src"), tmp_path / "out")
    products = read(tmp_path / "out", "products").set_index("product_id")
    assert products.loc["0", "category"] == "Furniture"
    assert products.loc["0", "product_type"] == "Dining Chairs"
    assert products.loc["1", "title"] == 'the "big" rug'
    assert products.loc["2", "category"] is None
    judgments = read(tmp_path / "out", "judgments")
    assert list(judgments["label"]) == [2, 0, 1]
    assert list(judgments["query"]) == ["wood chair", "wood chair", "big rug"]
    assert drops(report) == {
        "unknown_query_id": 1,
        "unknown_label": 1,
        "product_not_in_products": 1,
    }
    assert report.labels is not None and report.labels.settings() == {"relevant_at": 2.0}


def test_homedepot_latin1_gz_grades_brand(tmp_path: Path) -> None:
    report = convert("homedepot", homedepot_source(tmp_path / "src"), tmp_path / "out")
    products = read(tmp_path / "out", "products").set_index("product_id")
    assert products.loc["100001", "title"] == "Simpson 90\u00b0 Angle"
    assert products.loc["100001", "brand"] == "Simpson Strong-Tie"
    assert products.loc["100002", "brand"] is None
    judgments = read(tmp_path / "out", "judgments")
    assert list(judgments["label"]) == [3.0, 2.5, 2.33]
    assert drops(report) == {"blank_query": 1, "relevance_not_in_1_3": 1}
    assert report.rows_read == {"train": 5, "attributes": 3, "product_descriptions": 1}
    assert any("descriptions read for 1 of 2 products" in n for n in report.notes)
    assert json.loads((tmp_path / "out" / "dataset.json").read_text())["labels"] == {
        "relevant_at": 2.5
    }


def test_crowdflower_ids_from_title_and_description(tmp_path: Path) -> None:
    report = convert("crowdflower", crowdflower_source(tmp_path / "src"), tmp_path / "out")
    expected = "cf-" + hashlib.sha1(b"LED String\x1f<b>10 bulbs</b>").hexdigest()[:12]
    assert product_id_for("LED String", "<b>10 bulbs</b>") == expected
    judgments = read(tmp_path / "out", "judgments")
    # rows 1 and 4 are the same listing judged for two queries: one product
    assert list(judgments["product_id"])[:3] == [
        expected,
        product_id_for("ViewSonic Pro", None),
        expected,
    ]
    assert list(judgments["label"]) == [4, 3, 1]
    assert report.rows_written == {"products": 2, "judgments": 3}
    assert drops(report) == {"blank_query": 1, "median_relevance_not_in_1_4": 1}


def test_online_retail_by_hand(tmp_path: Path) -> None:
    report = convert("online-retail", retail_source(tmp_path / "src"), tmp_path / "out")
    products = read(tmp_path / "out", "products").set_index("product_id")
    assert sorted(products.index) == ["A1", "B2", "C3"]
    # A1's positive, priced lines: 1.0, 3.0, 2.0, 5.0 -> median 2.5; "RED MUG" 3x vs 1x
    assert products.loc["A1", "price"] == pytest.approx(2.5)
    assert products.loc["A1", "title"] == "RED MUG"
    assert products.loc["A1", "category"] == "kitchen & dining"
    # B2 has only a zero-price line, C3 only a negative-quantity one: no price
    assert products["price"].isna().to_dict() == {"A1": False, "B2": True, "C3": True}
    assert products.loc["B2", "category"] == "christmas"
    assert products.loc["C3", "title"] == "WOODEN THING"
    orders = read(tmp_path / "out", "orders")
    assert list(zip(orders["order_id"], orders["user_id"], orders["product_id"], strict=True)) == [
        ("1001", "10", "A1"),
        ("1002", "11", "A1"),
    ]
    assert orders["timestamp"].iloc[0] == pd.Timestamp("2011-01-01 10:00:00")
    assert drops(report) == {
        "non_product_code": 1,
        "cancellation": 1,
        "non_positive_quantity": 1,
        "no_customer": 1,
        "bad_invoice_date": 1,
        "same_product_in_invoice_merged": 1,
    }
    assert report.rows_read["lines"] == report.rows_written["orders"] + report.dropped_total
    assert report.labels is None
    assert report.nulls["products"] == {"category": 1, "price": 2, "brand": 3, "product_type": 3}


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("SET/6 PURPLE BUTTERFLY T-LIGHTS", "candles & lighting"),
        ("JUMBO BAG RED RETROSPOT", "bags"),
        ("PAPER CHAIN KIT 50'S CHRISTMAS", "christmas"),
        ("REGENCY CAKESTAND 3 TIER", "kitchen & dining"),
        ("EARRINGS WITH STARS", "jewellery & accessories"),
        ("WHITE METAL", None),
    ],
)
def test_category_keyword_map(title: str, category: str | None) -> None:
    assert category_for(title) == category


def test_groceries_member_days(tmp_path: Path) -> None:
    report = convert("groceries", groceries_source(tmp_path / "src"), tmp_path / "out")
    orders = read(tmp_path / "out", "orders")
    assert list(zip(orders["order_id"], orders["product_id"], strict=True)) == [
        ("1808-2015-07-21", "tropical fruit"),
        ("1808-2015-07-21", "whole milk"),
        ("1808-2015-07-22", "whole milk"),
        ("2552-2015-01-05", "whole milk"),
    ]
    assert set(orders["user_id"]) == {"1808", "2552"}
    assert drops(report) == {
        "no_member": 1,
        "bad_date": 1,
        "no_item": 1,
        "same_item_in_order_merged": 1,
    }
    assert sum(report.rows_read.values()) == report.rows_written["orders"] + report.dropped_total
    assert sorted(read(tmp_path / "out", "products")["product_id"]) == [
        "tropical fruit",
        "whole milk",
    ]


# ---------------------------------------------------------------- registry, files, store, CLI


@pytest.mark.parametrize(
    ("fmt", "options", "match"),
    [
        (
            "nope",
            {},
            "unknown format 'nope'; choose one of "
            + str(sorted(FORMATS)).replace("[", r"\[").replace("]", r"\]"),
        ),
        ("wands", {"locale": "us"}, r"takes no option\(s\) \['locale'\]"),
    ],
)
def test_bad_format_or_option(
    tmp_path: Path, fmt: str, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        convert(fmt, tmp_path, tmp_path / "out", **options)


def test_missing_file_and_missing_column_say_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no train\.csv found .*train\.csv\.gz"):
        convert("homedepot", tmp_path / "src", tmp_path / "out")
    (tmp_path / "src" / "train.csv").write_text("query,product_title\nq,t\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['median_relevance'\]"):
        convert("crowdflower", tmp_path / "src", tmp_path / "out")


def test_out_dir_refused_unless_force_and_stale_tables_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert("online-retail", retail_source(tmp_path / "retail"), out)
    with pytest.raises(FileExistsError, match="--force"):
        convert("crowdflower", crowdflower_source(tmp_path / "cf"), out)
    report = convert("crowdflower", tmp_path / "cf", out, force=True)
    # (plus the hidden marker naming the writer, seemingly.outputs.MARKER)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "conversion.json",
        "dataset.json",
        "judgments.parquet",
        "products.parquet",
    ]
    assert json.loads((out / "conversion.json").read_text()) == report.to_dict()


@pytest.mark.parametrize("fmt", sorted(SOURCES))
def test_converted_tiny_data_validates_without_quarantine(tmp_path: Path, fmt: str) -> None:
    store = pytest.importorskip("seemingly.store")
    report = convert(fmt, SOURCES[fmt](tmp_path / "src"), tmp_path / "out")
    ingest = store.validate(tmp_path / "out")
    assert set(ingest.tables) == set(report.rows_written)
    for name, table in ingest.tables.items():
        assert (table.read, table.quarantined) == (report.rows_written[name], 0), name
    # our null counts and the store's repair counts are the same facts, counted twice
    repairs = ingest.tables["products"].repairs
    assert repairs.get("price_missing", 0) == report.nulls["products"].get("price", 0)
    assert repairs.get("category_unknown", 0) == report.nulls["products"].get("category", 0)


def test_cli_prints_the_report_and_fails_helpfully(tmp_path: Path) -> None:
    runner = CliRunner()
    src = retail_source(tmp_path / "src")
    result = runner.invoke(
        app, ["convert", "online-retail", str(src), str(tmp_path / "out")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "cancellation" in result.output and "no_customer" in result.output
    assert (tmp_path / "out" / "conversion.json").is_file()
    result = runner.invoke(
        app, ["convert", "bogus", str(src), str(tmp_path / "o2")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert all(name in result.output for name in FORMATS)
