"""Benchmark: ingest + overview of N synthetic offers vs the same numbers in plain pandas.

    nice .venv/bin/python bench/perf/bench_ingest.py --offers 1000000

Prints both times, their ratio and the peak RSS after each part (the pandas part runs second,
so its figure is the peak of the whole process).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from seemingly.contract import normalize_query
from seemingly.explain.intervals import wilson
from seemingly.explain.measures import overview
from seemingly.store import ingest, open_store


def generate(folder: Path, n_offers: int, seed: int = 7) -> None:
    """Contract tables with DuckDB: 20k products, 50k queries, judgments on ~40 % of pairs."""
    con = duckdb.connect()
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    con.execute(
        f"COPY (SELECT 'p' || range AS product_id, 'product ' || range AS title, "
        f"['toys','beauty','grocery','digital'][1 + range % 4] AS category, "
        f"round(1 + random() * 100, 2) AS price, 'b' || (range % 300) AS brand, "
        f"'t' || (range % 50) AS product_type FROM range(20000)) TO '{folder}/products.parquet'"
    )
    con.execute(
        f"COPY (SELECT 'o' || range AS offer_id, 'r' || range AS request_id, "
        f"TIMESTAMP '2024-01-01' + to_seconds(range) AS timestamp, "
        f"'u' || (range % 100000) AS user_id, 'Query ' || (hash(range) % 50000) AS query, "
        f"'p' || ((hash(range) % 50000) * 7 % 20000) AS product_id, 1 AS position, "
        f"random() < 0.2 AS engaged, random() < 0.08 AS purchased, 1.0 AS propensity "
        f"FROM range({n_offers})) TO '{folder}/offers.parquet'"
    )
    con.execute(
        f"COPY (SELECT DISTINCT query, product_id, "
        f"CASE WHEN hash(query) % 3 = 0 THEN '0' ELSE '1' END AS label, 'a1' AS annotator_id "
        f"FROM read_parquet('{folder}/offers.parquet') WHERE hash(product_id) % 5 < 2) "
        f"TO '{folder}/judgments.parquet'"
    )
    con.close()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pandas_overview(folder: Path) -> dict[str, Any]:
    """The same PL/EL/irrelevant-share numbers, the plain-pandas way."""
    offers = pd.read_parquet(folder / "offers.parquet")
    j = pd.read_parquet(folder / "judgments.parquet")
    offers["query"] = offers["query"].map(normalize_query)
    j["query"] = j["query"].map(normalize_query)
    j["vote"] = j["label"].astype(float) >= 1
    rel = j.groupby(["query", "product_id"]).vote.agg(["sum", "count"]).reset_index()
    rel["relevant"] = rel["sum"] * 2 > rel["count"]
    m = offers.merge(rel[["query", "product_id", "relevant"]], on=["query", "product_id"])
    m["engaged"] = m["engaged"] | m["purchased"]
    g = m.groupby("relevant").agg(offers=("offer_id", "size"), purchases=("purchased", "sum"),
                                  engagements=("engaged", "sum"))  # fmt: skip
    rows: dict[Any, dict[Any, Any]] = g.astype(float).to_dict("index")
    out: dict[str, Any] = {}
    for flag, name in ((True, "relevant"), (False, "irrelevant")):
        out[f"pl_{name}"] = rows[flag]["purchases"] / rows[flag]["offers"]
        out[f"el_{name}"] = rows[flag]["engagements"] / rows[flag]["offers"]
    out["ci_low_pl_irrelevant"] = float(wilson(rows[False]["purchases"], rows[False]["offers"])[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--offers", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="seemingly-bench-") as d:
        folder = Path(d) / "data"
        folder.mkdir()
        t = time.perf_counter()
        generate(folder, args.offers)
        print(f"generated {args.offers:,} offers in {time.perf_counter() - t:.1f} s")

        t0 = time.perf_counter()
        report = ingest(folder, Path(d) / "store.duckdb")
        t_ingest = time.perf_counter() - t0
        store = open_store(Path(d) / "store.duckdb")
        ov = overview(store).model_dump()
        t_ours = time.perf_counter() - t0
        rss_ours = rss_mb()
        store.close()

        t1 = time.perf_counter()
        ref = pandas_overview(folder)
        t_pandas = time.perf_counter() - t1

    pl = ov["purchase_level"]
    assert abs(pl["irrelevant"]["value"] - ref["pl_irrelevant"]) < 1e-12
    assert abs(pl["relevant"]["value"] - ref["pl_relevant"]) < 1e-12
    assert abs(pl["irrelevant"]["ci"][0] - ref["ci_low_pl_irrelevant"]) < 1e-12
    print(f"accepted offers: {report.tables['offers'].accepted:,}; "
          f"judgments: {report.tables['judgments'].accepted:,}")  # fmt: skip
    print(f"seemingly ingest+overview: {t_ours:.1f} s (ingest {t_ingest:.1f} s), "
          f"peak RSS {rss_ours:.0f} MB")  # fmt: skip
    print(f"plain pandas overview:     {t_pandas:.1f} s, peak RSS so far {rss_mb():.0f} MB")
    print(f"ratio seemingly / pandas:  {t_ours / t_pandas:.2f} (same numbers: checked)")


if __name__ == "__main__":
    main()
