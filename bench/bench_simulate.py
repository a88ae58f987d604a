"""Generation speed of the simulator: offers/s and peak RSS.

Goal: 10M offers of the default world within 30 s and under 4 GB peak memory on 2 cores.

    nice .venv/bin/python bench/bench_simulate.py --offers 10000000
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
    t0 = time.perf_counter()
    result = simulate(out, args.world, n_offers=args.offers, seed=args.seed)
    seconds = time.perf_counter() - t0
    # ru_maxrss is in KiB on Linux
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1024**2
    print(
        f"world={args.world} offers={result.counts['offers']:,} orders={result.counts['orders']:,}"
        f" queries={result.counts['queries']:,} users={result.counts['users']:,}"
    )
    print(
        f"seconds={seconds:.1f} offers_per_s={result.counts['offers'] / seconds:,.0f} "
        f"peak_rss_gib={peak_gib:.2f} disk_mib={size:.0f}"
    )
    if args.out is None:
        shutil.rmtree(out)
    ok = seconds <= 30 and peak_gib < 4 if args.offers >= 10_000_000 else True
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
