"""The fast ingest path keeps the contract's semantics.

Checked against a plain-pandas reference of the offer rules on seeded random data spread over
several Parquet parts (one multi-file scan) plus a CSV-like text part (the all-VARCHAR path):
which rows are accepted, in which order, and which rule quarantines each other row.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from seemingly.config import IngestSettings
from seemingly.contract import normalize_query
from seemingly.store import ingest, open_store

PRODUCTS = pd.DataFrame(
    {
        "product_id": [f"p{i}" for i in range(50)],
        "title": [f"product {i}" for i in range(50)],
        "category": ["toys"] * 50,
        "price": [1.0 + i for i in range(50)],
    }
)
COLS = ["offer_id", "timestamp", "user_id", "query", "product_id", "engaged", "purchased"]


def _offers(seed: int, n: int, normal: bool = False) -> pd.DataFrame:
    """Random offers with planted faults: repeated ids, blank ids, unknown products, blank
    queries (also after normalisation) and ids made only of spaces or holding a tab.

    ``normal``: every query that is not blank is already normalised (the ingest then keeps
    the raw query and needs no lookup in its final pass).
    """
    rng = np.random.default_rng(seed)
    queries = (["milk", "toy car", "bread", "red toy car"] if normal
               else ["Milk", "milk ", "toy  car", "TOY CAR", "bread"])
    ids = rng.integers(0, int(n * 0.8), n)  # ~20 % repeated offer ids
    df: Any = pd.DataFrame(
        {
            "offer_id": [f"o{i}" for i in ids],
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
            "user_id": [f"u{i}" for i in rng.integers(0, 40, n)],
            "query": rng.choice(queries, n),
            "product_id": [f"p{i}" for i in rng.integers(0, 55, n)],  # p50..p54 unknown
            "engaged": rng.random(n) < 0.3,
            "purchased": rng.random(n) < 0.1,
        }
    )
    k = rng.choice(n, size=n // 10, replace=False)
    q = k[: len(k) // 4]
    bad_ids: Any = ["", "   ", None, " \t"]  # " \t" is not blank
    bad_queries: Any = ["", "  ", "\u3000", None]
    df.loc[q, "offer_id"] = rng.choice(bad_ids, len(q))
    df.loc[k[len(k) // 4 : len(k) // 2], "query"] = rng.choice(bad_queries)
    df.loc[k[len(k) // 2 :], "user_id"] = None
    return df


def _reference(df: Any) -> tuple[list[str], list[tuple[int, str]]]:
    """Accepted offer ids in order, and (global row, first rule) of each quarantined row."""
    known = set(PRODUCTS.product_id)

    def blank(v: object) -> bool:  # DuckDB's trim removes spaces only
        return v is None or (isinstance(v, str) and v.strip(" ") == "")

    accepted: list[str] = []
    quarantined: list[tuple[int, str]] = []
    seen: set[str] = set()
    r: Any
    for i, r in enumerate(df.itertuples(index=False)):
        rules = []
        if blank(r.offer_id):
            rules.append("null_id")
        if blank(r.user_id):
            rules.append("null_id")  # every required *_id column breaks null_id
        if r.query is None or normalize_query(r.query) == "":
            rules.append("blank_query")
        if r.product_id not in known:
            rules.append("unknown_product")
        if not rules and r.offer_id in seen:
            rules.append("duplicate_id")
        if rules:
            quarantined.append((i, rules[0]))
        else:
            seen.add(r.offer_id)
            accepted.append(r.offer_id)
    return accepted, quarantined


@pytest.mark.parametrize(("seed", "normal"), [(1, False), (2, False), (3, True), (4, True)])
def test_fast_path_matches_reference(tmp_path: Path, seed: int, normal: bool) -> None:
    data = tmp_path / "data"
    (data / "offers").mkdir(parents=True)
    PRODUCTS.to_parquet(data / "products.parquet")
    df = _offers(seed, 3000, normal)
    cuts = [0, 700, 1500, 2300, 3000]  # four parts: three Parquet (one scan) and one CSV
    for i in range(3):
        # small row groups: DuckDB's threads then share each file, and the rows they write
        # must still land in file order
        df.iloc[cuts[i] : cuts[i + 1]].to_parquet(
            data / "offers" / f"part-{i}.parquet", row_group_size=64
        )
    df.iloc[cuts[3] :].to_csv(data / "offers" / "part-3.csv", index=False)
    accepted, quarantined = _reference(df)
    assert 0 < len(quarantined) < len(df)  # the planted faults are there

    db = tmp_path / "s.duckdb"
    report = ingest(data, db, IngestSettings(threads=4))
    store = open_store(db)
    o = store.table("offers").to_pandas()
    assert o.offer_id.tolist() == accepted  # same rows, in file order
    q = store.table("quarantine").to_pandas()
    q = q[q.table_name == "offers"]
    files = [f"offers/part-{i}.parquet" for i in range(3)] + ["offers/part-3.csv"]
    got = [
        (cuts[files.index(f)] + int(row) - 1, rule)
        for f, row, rule in q[["source_file", "source_row", "rule"]].itertuples(index=False)
    ]
    assert got == quarantined  # same rows, same first rule, in file order
    t = report.tables["offers"]
    assert t.read == len(df) and t.accepted == len(accepted)
    assert sum(t.rules.values()) == len(quarantined)
    ref_repairs = int((o.purchased & o.engaged).sum())  # stored engaged includes purchases
    assert t.repairs["purchase_read_as_engagement"] <= ref_repairs
    store.close()


def test_unsorted_staging_falls_back_to_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the written rows were not in file order, the table is sorted once: same store."""
    data = tmp_path / "data"
    (data / "offers").mkdir(parents=True)
    PRODUCTS.to_parquet(data / "products.parquet")
    df = _offers(3, 2000)
    df.iloc[:1000].to_parquet(data / "offers" / "part-0.parquet")
    df.iloc[1000:].to_parquet(data / "offers" / "part-1.parquet")
    ingest(data, tmp_path / "a.duckdb")
    stage = sys.modules["seemingly.store.stage"]
    monkeypatch.setattr(stage, "_in_file_order", lambda *a: False)
    ingest(data, tmp_path / "b.duckdb")
    a, b = open_store(tmp_path / "a.duckdb"), open_store(tmp_path / "b.duckdb")
    for t in ("offers", "quarantine", "products"):
        pd.testing.assert_frame_equal(a.table(t).to_pandas(), b.table(t).to_pandas())
    a.close()
    b.close()


def test_in_file_order_detects_shuffled_rows(tmp_path: Path) -> None:
    import duckdb

    stage = sys.modules["seemingly.store.stage"]
    con = duckdb.connect()
    con.execute("CREATE TABLE r AS SELECT 0 AS _file_idx, range + 1 AS _row FROM range(5)")
    con.execute("INSERT INTO r SELECT 1, range + 1 FROM range(3)")
    assert stage._in_file_order(con, "r")
    con.execute("CREATE TABLE s AS SELECT * FROM r ORDER BY _file_idx DESC, _row")
    assert not stage._in_file_order(con, "s")
    con.execute("CREATE TABLE g AS SELECT * FROM r WHERE _row <> 2")  # a gap is fine
    assert stage._in_file_order(con, "g")
    con.execute("CREATE TABLE d AS SELECT * FROM r UNION ALL SELECT 1, 3")  # a repeat is not
    assert not stage._in_file_order(con, "d")
