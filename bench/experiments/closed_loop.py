"""Closing the loop: serve weight w0 with exploration, let the world's simulated customers
answer, collect the logs, run the study on them, estimate off-policy what weight w1 would
reach (purchase level@1), then serve w1 to the same customers and measure it.

    PYTHONPATH=src python -m bench.experiments.closed_loop --requests 20000

Prints the off-policy estimates (IPS, SNIPS, with their query-bootstrap intervals), the
online purchase level@1 of w1 (realised, with its standard error, and the true expected
level: the mean true purchase probability of the products served first) and of w0, and
checks that every served candidate is in the logs. Everything runs on loopback.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from seemingly.adapters.serve_logs import collect_logs
from seemingly.explain.offpolicy import OffPolicyValue
from seemingly.simulate.traffic import Customers, TrafficReport, send_traffic

__all__ = ["LoopResult", "run_loop", "build_model"]


@dataclass(frozen=True)
class LoopResult:
    logged: TrafficReport  # the customers' answers to w0 (exploring)
    online: TrafficReport  # ... to w1 (deterministic)
    estimate: OffPolicyValue  # w1 estimated from the w0 logs
    rows_logged: int  # offers collected from the logs
    has_off_policy_block: bool  # the study on the collected logs estimated its own frontier
    seconds: dict[str, float]

    def lines(self, w0: float, w1: float) -> list[str]:
        rate, se, truth = self.online.purchase_at_1()
        r0, se0, t0 = self.logged.purchase_at_1()
        out = [f"logged under w0={w0} (exploring): {self.logged.requests} requests, "
               f"{self.rows_logged} rows logged = {self.logged.candidates_served} candidates "
               f"served; purchase@1 {r0:.4f} (se {se0:.4f}, true expected {t0:.4f})"]
        for k, e in self.estimate.estimates.items():
            out.append(f"off-policy {k.upper():5s} of w1={w1}: {e.value:.4f} "
                       f"[{e.ci[0]:.4f}, {e.ci[1]:.4f}]  ESS {e.ess:.0f} of {e.n_rounds}")
        out.append(f"online w1={w1} (served to the same customers): purchase@1 {rate:.4f} "
                   f"(se {se:.4f}), true expected {truth:.4f}")
        out.append("stage seconds (wall): " + ", ".join(f"{k} {v:.1f}"
                                                     for k, v in self.seconds.items()))
        return out


def build_model(root: Path, *, n_offers: int, seed: int) -> tuple[Path, Path]:
    """Simulate the default world into root/data and train root/model on it."""
    from seemingly.config import AnalysisSettings
    from seemingly.ranking.models import train
    from seemingly.simulate import simulate
    from seemingly.store import ingest, open_store

    simulate(root / "data", "default", n_offers=n_offers, seed=seed)
    ingest(root / "data", root / "store.duckdb")
    store = open_store(root / "store.duckdb")
    try:
        train(store, AnalysisSettings.model_validate({"seed": seed}), root / "model")
    finally:
        store.close()
    return root / "data", root / "model"


@contextmanager
def _serving(model: Path, **options: Any) -> Iterator[str]:
    """The real service app on a free loopback port in a thread; graceful stop after (the
    lifespan shutdown flushes the logs)."""
    import uvicorn

    from seemingly.serve import create_app

    app = create_app(model, **options)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def run_loop(data: Path, model: Path, work: Path, *, requests: int, w0: float, w1: float,
             temperature: float, seed: int, study: bool = True, n_boot: int = 500
             ) -> LoopResult:
    """The loop of the module docstring; ``work`` receives the logs, the collected tables
    and the study."""
    from seemingly.ranking.models.ranker import Ranker
    from seemingly.ranking.tradeoff.served import logged_rounds, served_weight_value
    from seemingly.serve.explore import ExplorePolicy

    t: dict[str, float] = {}
    customers = Customers.from_data(data)
    tic = time.perf_counter()
    with _serving(model, log_dir=work / "logs",
                  explore=ExplorePolicy("plackett-luce", temperature=temperature,
                                        seed=seed)) as url:
        logged = send_traffic(customers, url, requests=requests, seed=seed, weight=w0,
                              max_seconds=3600)
    t["serve w0 + traffic"] = time.perf_counter() - tic
    tic = time.perf_counter()
    collect_logs(work / "logs", work / "collected", model=model, data=data)
    offers = pd.read_parquet(work / "collected" / "offers.parquet")
    t["collect"] = time.perf_counter() - tic
    has_block = False
    if study:
        from seemingly.config import AnalysisSettings
        from seemingly.study.run import run_study

        tic = time.perf_counter()
        res = run_study(work / "collected", work / "study",
                        settings=AnalysisSettings.model_validate({"seed": seed}))
        has_block = res.results.off_policy is not None
        t["study"] = time.perf_counter() - tic
    tic = time.perf_counter()
    estimate = served_weight_value(logged_rounds(offers), Ranker.load(model), w1,
                                   n_boot=n_boot, seed=seed)
    t["estimate"] = time.perf_counter() - tic
    tic = time.perf_counter()
    # logged too: the service accepts feedback only where it keeps it
    with _serving(model, log_dir=work / "logs-w1") as url:
        online = send_traffic(customers, url, requests=requests, seed=seed, weight=w1,
                              max_seconds=3600)
    t["serve w1 + traffic"] = time.perf_counter() - tic
    return LoopResult(logged, online, estimate, len(offers), has_block, t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--world-offers", type=int, default=20_000)
    ap.add_argument("--w0", type=float, default=0.5)
    ap.add_argument("--w1", type=float, default=0.0)
    ap.add_argument("--temperature", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-study", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="seemingly-loop-") as tmp:
        root = Path(tmp)
        tic, cpu = time.perf_counter(), time.process_time()
        data, model = build_model(root, n_offers=args.world_offers, seed=args.seed)
        print(f"world + model: {time.perf_counter() - tic:.1f} s")
        r = run_loop(data, model, root, requests=args.requests, w0=args.w0, w1=args.w1,
                     temperature=args.temperature, seed=args.seed, study=not args.no_study)
        for line in r.lines(args.w0, args.w1):
            print(line)
        rate, se, truth = r.online.purchase_at_1()
        for k, e in r.estimate.estimates.items():
            print(f"{k}: interval covers online realised {e.covers(rate)}, "
                  f"true expected {e.covers(truth)}")
        print(f"study off_policy block: {r.has_off_policy_block}; total "
              f"{time.perf_counter() - tic:.1f} s wall, {time.process_time() - cpu:.1f} s CPU "
              "(this process; wall times are noisy: the machine is shared)")


if __name__ == "__main__":
    main()
