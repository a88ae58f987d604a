"""Generation speed of the simulator: offers/s, CPU seconds and peak RSS.

Goal: 10M offers of the default world within 30 s and under 4 GB peak memory on 2 cores.
The wall time depends on what else runs on the machine, so the CPU time (all threads of
this process: the generator plus the Parquet writer thread) is printed too; on an idle
machine the wall time is about the CPU time of the busier thread plus start-up.

    nice .venv/bin/python bench/perf/bench_simulate.py --offers 10000000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from seemingly.simulate import simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=10_000_000)
    parser.add_argument("--world", default="default")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="keep the tables here")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="seemingly-bench-"))
    t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
    result = simulate(out, args.world, n_offers=args.offers, seed=args.seed)
    seconds = time.perf_counter() - t0
    cpu, main_cpu = time.process_time() - c0, time.thread_time() - m0
    # ru_maxrss is in KiB on Linux
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1024**2
    print(
        f"world={args.world} offers={result.counts['offers']:,} orders={result.counts['orders']:,}"
        f" queries={result.counts['queries']:,} users={result.counts['users']:,}"
    )
    print(
        f"seconds={seconds:.1f} offers_per_s={result.counts['offers'] / seconds:,.0f} "
        f"cpu_s={cpu:.1f} (generator thread {main_cpu:.1f}, writer {cpu - main_cpu:.1f}) "
        f"offers_per_cpu_s={result.counts['offers'] / cpu:,.0f} "
        f"peak_rss_gib={peak_gib:.2f} disk_mib={size:.0f}"
    )
    if args.out is None:
        shutil.rmtree(out)
    ok = seconds <= 30 and peak_gib < 4 if args.offers >= 10_000_000 else True
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
