"""Adapters on the real public data sets in ../shared/data (skipped when the folder is absent).

Expected figures come from /work/shared/data/README.md (written from the raw files, not from
this code). The folder is found as ``<repo>/../shared/data`` or via $SEEMINGLY_SHARED_DATA.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from seemingly.adapters import ConversionReport, convert


def _shared_data() -> Path | None:
    env = os.environ.get("SEEMINGLY_SHARED_DATA")
    for candidate in ([Path(env)] if env else []) + [
        Path(__file__).resolve().parents[3] / "shared" / "data"
    ]:
        if candidate.is_dir():
            return candidate
    return None


SHARED = _shared_data()
pytestmark = pytest.mark.skipif(
    SHARED is None,
    reason="../shared/data (or $SEEMINGLY_SHARED_DATA) is absent: a user's clone has no copy "
    "of the public data sets",
)


def _convert(fmt: str, folder: str, out: Path) -> ConversionReport:
    assert SHARED is not None
    source = SHARED / folder
    if not source.exists():
        pytest.skip(f"{source} is absent")
    return convert(fmt, source, out)


def _accounted(report: ConversionReport, main: str, table: str) -> None:
    """Every row of the main input is written or dropped with a reason."""
    dropped = sum(d.rows for d in report.dropped if d.source == main and d.table == table)
    assert report.rows_read[main] == report.rows_written[table] + dropped


def _validates(out: Path, report: ConversionReport) -> None:
    store = pytest.importorskip("seemingly.store")
    ingest = store.validate(out)
    assert ingest.quarantined == {t: 0 for t in report.rows_written}


def test_homedepot(tmp_path: Path) -> None:
    report = _convert("homedepot", "homedepot", tmp_path)
    assert report.rows_read["train"] == 74_067
    assert report.rows_written == {"products": 54_667, "judgments": 74_067}
    judgments = pd.read_parquet(tmp_path / "judgments.parquet")
    assert judgments["query"].nunique() == 11_795
    assert judgments["label"].between(1, 3).all()
    _accounted(report, "train", "judgments")
    _validates(tmp_path, report)


def test_crowdflower(tmp_path: Path) -> None:
    report = _convert("crowdflower", "crowdflower", tmp_path)
    assert report.rows_written["judgments"] == 10_158
    judgments = pd.read_parquet(tmp_path / "judgments.parquet")
    assert judgments["query"].nunique() == 261
    assert set(judgments["label"]) == {1, 2, 3, 4}
    _accounted(report, "train", "judgments")
    _validates(tmp_path, report)


def test_esci_judgments_variant(tmp_path: Path) -> None:
    report = _convert("esci", "esci", tmp_path)  # autodetects the OpenSearch variant
    assert report.rows_written["judgments"] == 6_678
    judgments = pd.read_parquet(tmp_path / "judgments.parquet")
    assert judgments["query"].nunique() == 150
    assert set(judgments["label"]) == {"E", "S", "C", "I"}
    assert report.labels is not None and not report.labels.mapping_confirmed
    _validates(tmp_path, report)


def test_online_retail(tmp_path: Path) -> None:
    report = _convert("online-retail", "online_retail", tmp_path)
    assert report.rows_read["lines"] == 541_909
    _accounted(report, "lines", "orders")
    products = pd.read_parquet(tmp_path / "products.parquet")
    assert products["product_id"].is_unique
    assert (products["price"].dropna() > 0).all()
    # README: 4,070 stock codes; upper-casing and leaving out service codes can only shrink it
    assert 3_500 < len(products) < 4_070
    _validates(tmp_path, report)


def test_groceries(tmp_path: Path) -> None:
    report = _convert("groceries", "groceries", tmp_path)
    assert sum(report.rows_read.values()) == 38_765
    assert sum(report.rows_read.values()) == report.rows_written["orders"] + report.dropped_total
    orders = pd.read_parquet(tmp_path / "orders.parquet")
    assert orders["user_id"].nunique() <= 3_899
    assert not orders.duplicated(["order_id", "product_id"]).any()
    _validates(tmp_path, report)
