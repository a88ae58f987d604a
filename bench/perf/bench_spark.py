"""DuckDB vs Spark (local) on one simulated world: wall time per stage and the largest gap.

Simulates the default world, ingests it with DuckDB, opens it on Spark, computes the data,
overview and hypotheses blocks on both, and prints seconds per stage and the largest relative
difference of any number (it should stay below 1e-9).

Run: nice .venv/bin/python bench/perf/bench_spark.py [N_OFFERS] [SPARK_MASTER]
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def largest_gap(a: Any, b: Any) -> float:
    """Largest relative difference between two JSON-like values (inf when they differ in kind)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return math.inf
        return max((largest_gap(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return math.inf
        return max((largest_gap(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return 0.0
        return abs(a - b) / max(abs(a), abs(b), 1e-300) if a != b else 0.0
    return 0.0 if a == b else math.inf


def main(n_offers: int, master: str) -> None:
    from seemingly.config import AnalysisSettings
    from seemingly.explain import hypotheses
    from seemingly.explain.measures import data_summary, overview
    from seemingly.simulate import simulate
    from seemingly.store import ingest, open_store
    from seemingly.store.spark import SparkSettings, open_spark_store, spark_session

    settings = AnalysisSettings()
    blocks = {
        "data": lambda s: data_summary(s, settings).model_dump(),
        "overview": lambda s: overview(s, settings).model_dump(),
        "hypotheses": lambda s: hypotheses.fit_hypotheses(s, settings).to_dict(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        simulate(world, "default", n_offers=n_offers, seed=3)
        t = time.perf_counter()
        spark = spark_session(SparkSettings(master=master, conf={"spark.driver.memory": "2g"}))
        print(f"spark session: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        ingest(world, Path(tmp) / "s.duckdb")
        print(f"ingest duckdb: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        store = open_spark_store(world, spark)
        print(f"ingest spark:  {time.perf_counter() - t:.1f} s (validation; tables cached lazily)")
        with store, open_store(Path(tmp) / "s.duckdb") as duck:
            for name, block in blocks.items():
                t = time.perf_counter()
                b = block(duck)
                t_duck = time.perf_counter() - t
                t = time.perf_counter()
                a = block(store)
                t_spark = time.perf_counter() - t
                print(f"{name:<11} duckdb {t_duck:6.1f} s  spark {t_spark:6.1f} s  "
                      f"largest relative gap {largest_gap(a, b):.2e}")
        spark.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000,
         sys.argv[2] if len(sys.argv) > 2 else "local[2]")
