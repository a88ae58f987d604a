"""Benchmark: the full hypothesis analysis on a simulated store vs one raw DuckDB group-by pass.

    nice .venv/bin/python bench/perf/bench_hypotheses.py --offers 10000000 --work /tmp/bench-hyp

Builds (once, reused on later runs) a default-world store of ``--offers`` offers, then runs the
analysis in a fresh child process so its peak memory is its own, and times one plain DuckDB
pass (group by query, product over every offer) on the same store for the ratio.
Goal at 10M offers on a 2-core machine: analysis under 60 s and 4 GB peak; measured at 10M
(a store this release wrote, so with its history cells; see seemingly.store.history): 4.4 and
4.5 s, 1.50 and 1.35 GB, 5.5x the raw pass (first release: 24.8 s, 1.68 GB, 7x). A store
reused from an older release has no cells, and the analysis then joins the offers itself.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _measure(db: Path) -> dict[str, float]:
    import duckdb

    from seemingly.explain import hypotheses
    from seemingly.store import open_store

    store = open_store(db)
    t = time.perf_counter()
    res = hypotheses.fit_hypotheses(store)
    analysis = time.perf_counter() - t
    con = duckdb.connect(str(db), read_only=True)
    t = time.perf_counter()
    con.sql("select query, product_id, count(*), sum(purchased::int), sum(engaged::int) "
            "from offers group by all").fetchall()
    raw = time.perf_counter() - t
    return {
        "analysis_s": analysis,
        "raw_pass_s": raw,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "patterns": res.n_patterns,
        "supported": sum(s for by in res.supported().values() for s in by.values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offers", type=int, default=10_000_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-hypotheses"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(_measure(args.measure)))
        return
    from seemingly.simulate import simulate
    from seemingly.store import ingest

    work = args.work / f"default-{args.offers}-{args.seed}"
    db = work / "store.duckdb"
    if not db.exists():
        t = time.perf_counter()
        simulate(work / "data", "default", n_offers=args.offers, seed=args.seed)
        ingest(work / "data", db)
        print(f"simulate + ingest: {time.perf_counter() - t:.1f} s")
    out = subprocess.run([sys.executable, __file__, "--measure", str(db)], check=True,
                         capture_output=True, text=True)
    m = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"offers: {args.offers:,}  patterns: {m['patterns']:,}  supported: {m['supported']}/14")
    print(f"analysis: {m['analysis_s']:.1f} s  peak RSS: {m['peak_rss_gb']:.2f} GB")
    print(f"raw DuckDB group-by pass: {m['raw_pass_s']:.2f} s  "
          f"ratio analysis / raw pass: {m['analysis_s'] / m['raw_pass_s']:.1f}x")


if __name__ == "__main__":
    main()
