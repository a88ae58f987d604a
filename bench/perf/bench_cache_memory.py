"""Resident memory of ``seemingly serve`` under long distinct titles: does the byte budget of
its text caches (``--cache-mb``) hold?

Starts the service in a subprocess on 127.0.0.1, sends one warm-up request, reads the
server's RSS (``/proc/PID/status``), then sends ``--requests`` requests of ``--titles``
distinct titles of ``--chars`` characters each (150 x 450 x 1.9 kB is the issue's load) and
reads the RSS again. Done means: growth <= cache bound + 300 MB. ``--compare-mb`` runs the
same load first against a server with that (large) budget, so the count-bounded behaviour
of before is measured in the same run. Bounded: a fixed number of requests.

    nice .venv/bin/python bench/perf/bench_cache_memory.py --requests 150 --cache-mb 256

Timings are noisy on a shared machine; the memory figures are not.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import tempfile
import time
from pathlib import Path

import httpx

from bench.perf.bench_serve import (
    HOST,
    build_world,
    cpu_seconds,
    free_port,
    start_server,
    stop_server,
)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bodies(n_requests: int, n_titles: int, n_chars: int, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
             for _ in range(5000)]
    for i in range(n_requests):
        cands = []
        for j in range(n_titles):
            title = " ".join(rng.choice(words) for _ in range(n_chars // 4))[:n_chars]
            cands.append({"product_id": f"r{i}-{j}", "title": title, "category": "toys",
                          "price": 1.0})
        yield json.dumps({"query": "toy car", "weight": 0.5, "objective": "purchase",
                          "candidates": cands}).encode()


def measure(model: Path, cache_mb: int, args: argparse.Namespace) -> tuple[float, float, float]:
    port = free_port()
    proc = start_server(model, port, 120, extra=("--cache-mb", str(cache_mb)))
    try:
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=120,
                          headers={"Content-Type": "application/json"}) as c:
            warm = next(bodies(1, args.titles, args.chars, seed=-1))
            assert c.post("/v1/rank", content=warm).status_code == 200
            before, cpu0, t0 = rss_mb(proc.pid), cpu_seconds(proc.pid), time.monotonic()
            peak = before
            for i, body in enumerate(bodies(args.requests, args.titles, args.chars, args.seed)):
                r = c.post("/v1/rank", content=body)
                if r.status_code != 200:
                    raise SystemExit(f"request {i}: {r.status_code} {r.text[:200]}")
                peak = max(peak, rss_mb(proc.pid))
            after = rss_mb(proc.pid)
            cpu = cpu_seconds(proc.pid) - cpu0
            print(f"--cache-mb {cache_mb}: RSS {before:.0f} -> {after:.0f} MB (peak {peak:.0f}),"
                  f" growth {after - before:.0f} MB; {args.requests} requests in "
                  f"{time.monotonic() - t0:.0f} s, server CPU {cpu:.0f} s")
            return before, after, peak
    finally:
        stop_server(proc)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=150)
    p.add_argument("--titles", type=int, default=450)
    p.add_argument("--chars", type=int, default=1900)
    p.add_argument("--cache-mb", type=int, default=256)
    p.add_argument("--compare-mb", type=int, default=0,
                   help="first run the load with this budget (e.g. 1000000: count-bounded)")
    p.add_argument("--seed", type=int, default=22)
    p.add_argument("--workdir", type=Path, default=None)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        _, model = build_world(args.workdir or Path(tmp), 4000, 7)
        if args.compare_mb:
            measure(model, args.compare_mb, args)
        before, after, peak = measure(model, args.cache_mb, args)
    limit = args.cache_mb + 300
    print(f"growth {after - before:.0f} MB (peak {peak - before:.0f} MB) vs the done-means "
          f"limit {limit} MB (cache bound + 300)")
    return 0 if peak - before <= limit else 1


if __name__ == "__main__":
    raise SystemExit(main())
