"""Benchmark: the vectorised fusion weight sweep (21 weights) on 100k queries x 20 candidates
(goal < 2 s), and the same sweep against ranx's optimize_fusion on 10k queries.

Run: nice .venv/bin/python bench/perf/bench_tradeoff.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from seemingly.ranking.scoring import CandidateMatrix
from seemingly.ranking.tradeoff.sweep import sweep


def make(n_q: int, n_c: int, seed: int = 7) -> tuple[CandidateMatrix, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = (n_q, n_c)
    rel = (rng.random(shape) < 0.3).astype(float)
    rel[np.arange(n_q), rng.integers(0, n_c, n_q)] = 1.0  # ranx wants a relevant doc per query
    level = rng.beta(1, 5, shape)
    cm = CandidateMatrix(np.array([f"q{i}" for i in range(n_q)]), np.ones(shape, bool), rel,
                         level, np.tile(np.array([f"d{j}" for j in range(n_c)], dtype=object),
                                        (n_q, 1)))
    rs = rel + rng.normal(0, 0.8, shape)
    os_ = level + rng.normal(0, 0.1, shape)
    return cm, rs, os_


def best_of(fn, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    cm, rs, os_ = make(100_000, 20)
    t_big = best_of(lambda: sweep(rs, os_, cm, k=10))
    print(f"sweep 21 weights, 100,000 queries x 20 candidates (relevance@1, level@1, "
          f"ndcg@10): {t_big:.2f} s (goal < 2 s)")

    cm, rs, os_ = make(10_000, 20, seed=8)
    t_ours = best_of(lambda: sweep(rs, os_, cm, k=10))
    res = sweep(rs, os_, cm, k=10)
    try:
        import ranx
    except ImportError:
        print("ranx is not installed: skipping the comparison")
        return
    qrels = ranx.Qrels.from_dict({q: {f"d{j}": 1 for j in np.flatnonzero(cm.relevant[i])}
                                  for i, q in enumerate(cm.queries)})
    runs = [ranx.Run.from_dict({q: {f"d{j}": float(s[i, j]) for j in range(s.shape[1])}
                                for i, q in enumerate(cm.queries)}, name=n)
            for s, n in ((rs, "relevance"), (os_, "outcome"))]
    ranx.optimize_fusion(qrels, runs, norm="min-max", method="wsum", metric="ndcg@10",
                         step=0.05, show_progress=False)  # warm-up: numba compilation
    t_ranx = best_of(lambda: ranx.optimize_fusion(qrels, runs, norm="min-max", method="wsum",
                                                  metric="ndcg@10", step=0.05,
                                                  show_progress=False), repeats=1)
    best = ranx.optimize_fusion(qrels, runs, norm="min-max", method="wsum", metric="ndcg@10",
                                step=0.05, show_progress=False)
    ours_best = res.weights[int(np.argmax(res.ndcg.mean(axis=1)))]
    print(pd.DataFrame({"queries": [10_000], "seemingly_s": [t_ours], "ranx_s": [t_ranx],
                        "ratio": [t_ranx / t_ours]}).to_string(index=False))
    print(f"best ndcg@10 weight: ranx {best}, seemingly relevance weight {ours_best:.2f}")


if __name__ == "__main__":
    main()
