"""Slow clients against ``seemingly serve`` on loopback: is the service still answering, and
are the slow connections closed at the header deadline?

Starts the service in a subprocess (127.0.0.1, a free port, ``--header-timeout`` as given,
60 s by default), measures ``POST /v1/rank`` latency for ``--probe-seconds`` on its own (the
baseline, same run), then opens ``--clients`` connections that send half a request's headers
and one more header byte every few seconds (a "slowloris"), measures the latency again
while they hold their sockets, and counts how many of them the server closed within
``--deadline + 10`` seconds. Prints p50/p99 both times, the share closed, and the server's
CPU seconds. Everything is bounded (a fixed number of probes and clients, a hard end).

Run (done means: p99 within the service's 20 ms goal, >= 90% closed within 70 s)::

    nice .venv/bin/python bench/perf/bench_slow_clients.py --clients 200 --header-timeout 60

Timings on a shared machine are noisy: compare the two p99s of one run, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench.perf.bench_serve import (
    HOST,
    build_world,
    cpu_seconds,
    free_port,
    request_bodies,
    start_server,
    stop_server,
)


async def slow_client(port: int, every: float, hold: float) -> float | None:
    """Seconds until the server closed this half-sent request, None if still open."""
    start_t = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return None
    writer.write(b"POST /v1/rank HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    try:
        while time.monotonic() - start_t < hold:
            try:
                got = await asyncio.wait_for(reader.read(4096), timeout=every)
            except TimeoutError:
                writer.write(b"a")
                continue
            if not got or got.startswith(b"HTTP/1.1 408"):
                return time.monotonic() - start_t
        return None
    except ConnectionError:
        return time.monotonic() - start_t
    finally:
        writer.close()


async def probe(port: int, bodies: list[bytes], seconds: float) -> list[float]:
    out = []
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=10,
                                 headers={"Content-Type": "application/json"}) as client:
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            t = time.perf_counter()
            r = await client.post("/v1/rank", content=bodies[i % len(bodies)])
            out.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise SystemExit(f"/v1/rank answered {r.status_code}: {r.text[:200]}")
            i += 1
            await asyncio.sleep(0.05)  # ~20 requests/s: the question is latency, not throughput
    return out


async def run(port: int, bodies: list[bytes], args: argparse.Namespace
              ) -> tuple[list[float], list[float], list[float | None]]:
    baseline = await probe(port, bodies, args.probe_seconds)
    hold = args.header_timeout + 10
    slow = [asyncio.create_task(slow_client(port, args.every, hold)) for _ in range(args.clients)]
    await asyncio.sleep(1.0)
    loaded = await probe(port, bodies, min(args.probe_seconds, args.header_timeout - 2))
    return baseline, loaded, await asyncio.gather(*slow)


def _pct(x: list[float]) -> str:
    p50, p99 = np.percentile(np.array(x) * 1000, [50, 99])
    return f"p50 {p50:.1f} ms  p99 {p99:.1f} ms  ({len(x)} requests)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--header-timeout", type=float, default=60.0)
    p.add_argument("--every", type=float, default=5.0, help="seconds between a slow byte")
    p.add_argument("--probe-seconds", type=float, default=20.0)
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--workdir", type=Path, default=None)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        data, model = build_world(work, 4000, 7)
        bodies = request_bodies(data, 50, args.candidates, 7)
        port = free_port()
        proc = start_server(model, port, 120,
                            extra=("--header-timeout", str(args.header_timeout)))
        try:
            cpu0 = cpu_seconds(proc.pid)
            baseline, loaded, closed = asyncio.run(run(port, bodies, args))
            cpu = cpu_seconds(proc.pid) - cpu0
        finally:
            stop_server(proc)
    cut = sorted(t for t in closed if t is not None)
    within = sum(t <= args.header_timeout + 10 for t in cut)
    print(f"baseline       {_pct(baseline)}")
    print(f"{args.clients} slow clients {_pct(loaded)}")
    first, last = (cut[0], cut[-1]) if cut else (float("nan"), float("nan"))
    print(f"closed within {args.header_timeout + 10:g} s: {within}/{len(closed)} "
          f"({100 * within / max(len(closed), 1):.0f}%); first at {first:.1f} s, "
          f"last at {last:.1f} s")
    print(f"server CPU {cpu:.1f} s over the run")
    return 0 if within >= 0.9 * len(closed) else 1


if __name__ == "__main__":
    raise SystemExit(main())
