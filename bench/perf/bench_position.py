"""Benchmark: the position-corrected analysis next to the naive one, on a serp-world store.

    nice .venv/bin/python -m bench.perf.bench_position --offers 10000000 --work /tmp/bench-pos

Builds (once, reused on later runs) a ``--world serp`` store of ``--offers`` offers, then
times, in this order and on the same store:

- naive: the overview, the hypothesis fits and the strategy table as the study runs them
  for a voice log (every offer counted as seen);
- corrected: ``analyze_positions`` (per (query, product, position) counts out of the engine,
  the examination curve with its query bootstrap, corrected levels and strategy table, and
  the multivariable fits naive and weighted on a second pattern frame).

Wall and CPU seconds (CPU includes DuckDB's threads) and the ratio corrected / naive. The
machine is shared, so wall times are noisy; CPU time is the steadier figure. Measured at
10M offers (seed 7, 2 shared cores at load ~3): naive 26.5 s wall / 26.8 s CPU, corrected
59.6 s / 63.3 s (2.2x), peak RSS 2.55 GB; simulate 37 s, ingest 135 s (at load ~15).
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offers", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-position"))
    args = ap.parse_args(argv)

    from seemingly.config import AnalysisSettings
    from seemingly.explain import hypotheses
    from seemingly.explain.measures import overview
    from seemingly.explain.position import analyze_positions
    from seemingly.explain.strategies import strategies_from_store
    from seemingly.simulate import simulate
    from seemingly.store import open_data

    data = args.work / f"serp-{args.offers}-{args.seed}"
    if not (data / "truth.json").is_file():
        w, c, _ = _timed(lambda: simulate(data, "serp", n_offers=args.offers, seed=args.seed))
        print(f"simulate: {w:.1f} s wall, {c:.1f} s CPU")
    w, c, store = _timed(lambda: open_data(data, args.work / f"work-{args.offers}-{args.seed}"))
    print(f"open/ingest: {w:.1f} s wall, {c:.1f} s CPU")
    s = AnalysisSettings()

    def naive() -> None:
        overview(store, s)
        hypotheses.fit_hypotheses(store, s)
        strategies_from_store(store, s)

    nw, nc, _ = _timed(naive)
    cw, cc, found = _timed(lambda: analyze_positions(store, s))
    assert found is not None
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    n = int(store.table("offers").count().execute())
    print(f"\n{n:,} offers, method {found.block.method}, "
          f"{found.block.strategies.purchase.n_queries if found.block.strategies else 0} "
          "strategy queries")
    print(f"{'':34s}{'wall s':>9s}{'CPU s':>9s}")
    print(f"{'naive (overview+hypotheses+strategies)':34s}{nw:9.1f}{nc:9.1f}")
    print(f"{'corrected (analyze_positions)':34s}{cw:9.1f}{cc:9.1f}")
    print(f"corrected / naive: {cw / nw:.2f}x wall, {cc / nc:.2f}x CPU; peak RSS {peak_gb:.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
