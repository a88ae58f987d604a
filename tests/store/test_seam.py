"""The store seam: open_data (open or ingest, reusing an unchanged store), the StoreLike
protocol, dataset.json's label settings, and no import cycle inside the store package."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

import seemingly.store
from seemingly.config import LabelSettings
from seemingly.contract import DATASET_FILE
from seemingly.errors import ContractError
from seemingly.store import (
    StoreLike,
    dataset_label_settings,
    ingest,
    open_data,
    store_from_frames,
)

PRODUCTS = "product_id,title,category,price\np1,Milk,grocery,2.5\np2,Toy car,toys,10\n"
OFFERS = (
    "offer_id,timestamp,user_id,query,product_id,engaged,purchased\n"
    "o1,2024-01-01,u1,milk,p1,true,false\n"
)


def _folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "products.csv").write_text(PRODUCTS)
    (data / "offers.csv").write_text(OFFERS)
    return data


# --- open_data ---------------------------------------------------------------------------------


def test_open_data_ingests_a_folder_into_work_dir(tmp_path: Path) -> None:
    data = _folder(tmp_path)
    with open_data(data, tmp_path / "work") as store:
        assert store.path == tmp_path / "work" / "store.duckdb"
        assert store.table("offers").count().execute() == 1


def test_open_data_reuses_an_up_to_date_store_and_rebuilds_a_stale_one(tmp_path: Path) -> None:
    data, work = _folder(tmp_path), tmp_path / "work"
    open_data(data, work).close()
    db = work / "store.duckdb"
    built = db.stat().st_mtime_ns
    with open_data(data, work) as store:
        assert store.table("products").count().execute() == 2
    assert db.stat().st_mtime_ns == built  # same input: not ingested again

    (data / "products.csv").write_text(PRODUCTS + "p3,Bread,grocery,1.5\n")
    with open_data(data, work) as store:
        assert store.table("products").count().execute() == 3


def test_open_data_opens_a_store_file_as_is(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    ingest(_folder(tmp_path), db)
    with open_data(db, tmp_path / "work") as store:
        assert store.path == db
    assert not (tmp_path / "work").exists()


# --- StoreLike ---------------------------------------------------------------------------------


def test_duckdb_store_is_storelike_and_names_missing_tables(tmp_path: Path) -> None:
    import pandas as pd

    products = pd.DataFrame(
        {"product_id": ["p1"], "title": ["milk"], "category": ["grocery"], "price": [1.5]}
    )
    with store_from_frames(tmp_path / "s.duckdb", products=products) as store:
        assert isinstance(store, StoreLike)
        assert store.has("products") and not store.has("offers")
        with pytest.raises(ContractError, match=r"no 'offers' table.*Add offers\.parquet"):
            store.table("offers")
        with pytest.raises(KeyError, match=r"no table 'clicks'.*known: products"):
            store.table("clicks")


def test_store_package_has_no_import_cycle() -> None:
    """core must not import ingest (open_data lives with ingest); no cycle anywhere inside."""
    root = Path(seemingly.store.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        name = ".".join(["seemingly.store", *parts])
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d.startswith("seemingly.store.")}
    assert "seemingly.store.ingest" not in graph["seemingly.store.core"]

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, f"import cycle: {' -> '.join((*stack, node))}"
        for dep in graph.get(node, ()):
            visit(dep, (*stack, node))

    for module in graph:
        if module != "seemingly.store":  # the package imports its modules, not the reverse
            visit(module, ())


# --- dataset.json ------------------------------------------------------------------------------


def test_dataset_label_settings_reads_the_converter_file(tmp_path: Path) -> None:
    (tmp_path / DATASET_FILE).write_text(
        json.dumps({"dataset_version": 1, "labels": {"relevant_at": 3, "esci_relevant": ["E"]}})
    )
    assert dataset_label_settings(tmp_path) == LabelSettings(relevant_at=3)


@pytest.mark.parametrize(
    "where",
    ["no_file", "labels_null", "store_file", "url"],
)
def test_dataset_label_settings_none(tmp_path: Path, where: str) -> None:
    data: str | os.PathLike[str] = tmp_path
    if where == "labels_null":
        (tmp_path / DATASET_FILE).write_text(json.dumps({"labels": None}))
    elif where == "store_file":
        data = tmp_path / "s.duckdb"
        ingest(_folder(tmp_path), data)
    elif where == "url":
        data = "s3a://bucket/logs"
    assert dataset_label_settings(data) is None


BAD_DATASET_FILES = [
    ("not_json", "{labels: 3", r"dataset\.json: not valid JSON"),
    ("not_object", "[1, 2]", r"dataset\.json: expected a JSON object.*got list"),
    ("labels_not_object", '{"labels": 3}', r"dataset\.json: 'labels' should be an object.*"
                                           r"relevant_at.*got int"),
    ("unknown_field", '{"labels": {"relevant": 3}}', r"dataset\.json: labels\.relevant: Extra"),
    ("bad_value", '{"labels": {"tie": "coin"}}', r"dataset\.json: labels\.tie: Input should be"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "content", "match"), BAD_DATASET_FILES,
                         ids=[c[0] for c in BAD_DATASET_FILES])
def test_malformed_dataset_json_is_a_contract_error(
    tmp_path: Path, case: str, content: str, match: str
) -> None:
    (tmp_path / DATASET_FILE).write_text(content)
    with pytest.raises(ContractError, match=match) as info:
        dataset_label_settings(tmp_path)
    assert str(tmp_path / DATASET_FILE) in str(info.value)
    assert "delete it to use the default label settings" in str(info.value)

