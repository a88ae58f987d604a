"""Model size vs quality vs serving cost: why the models default to 100 trees at rate 0.1.

Simulates the default world (200k offers, as `make demo`), builds the leakage-free model data
once, fits the relevance / purchase / engagement models with several (trees, learning rate)
settings and prints their held-out metrics (relevance AUC and NDCG@10, purchase and
engagement log-loss) next to the CPU time of one single-threaded predict of 100 candidates
(what a service request pays per model).

Run: nice .venv/bin/python bench/experiments/bench_trees.py [--offers 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from seemingly.config import AnalysisSettings
from seemingly.ranking.features import FEATURE_NAMES
from seemingly.ranking.models.data import build_model_data
from seemingly.ranking.models.training import fit_models
from seemingly.simulate import simulate
from seemingly.store import ingest, open_store

SETTINGS = ((200, 0.05), (100, 0.1), (60, 0.15))


def predict_ms(model: object, X: np.ndarray, repeats: int = 200) -> float:
    """Best-of-5 mean CPU milliseconds of one predict of ``X`` (one thread)."""
    booster = model.booster_  # type: ignore[attr-defined]
    best = float("inf")
    for _ in range(5):
        t = time.process_time()
        for _ in range(repeats):
            booster.predict(X, num_threads=1)
        best = min(best, (time.process_time() - t) / repeats * 1000)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--offers", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-trees-") as tmp:
        data_dir, db = Path(tmp) / "data", Path(tmp) / "store.duckdb"
        simulate(data_dir, "default", n_offers=args.offers, seed=args.seed)
        ingest(data_dir, db)
        store = open_store(db)
        settings = AnalysisSettings.model_validate({"seed": args.seed})
        data = build_model_data(store, settings, seed=args.seed)
    test = data.candidates[data.candidates["split"] == "test"]
    X = test[list(FEATURE_NAMES)].to_numpy(np.float64)[:100]
    print(f"default world, {args.offers:,} offers; predict = CPU ms for 100 candidates")
    for trees, rate in SETTINGS:
        t = time.perf_counter()
        fitted = fit_models(data, params={"n_estimators": trees, "learning_rate": rate},
                            seed=args.seed)
        m = fitted.metrics
        cost = {n: predict_ms(mdl, X) for n, mdl in fitted.models.items()}
        print(f"{trees:4d} trees at {rate:<5}: relevance AUC {m['relevance']['auc']:.4f} "
              f"NDCG@10 {m['relevance']['ndcg_at_10']:.4f} | log-loss purchase "
              f"{m['purchase']['logloss']:.5f} engagement {m['engagement']['logloss']:.5f} | "
              f"predict relevance {cost['relevance']:.2f} purchase {cost['purchase']:.2f} "
              f"engagement {cost['engagement']:.2f} | fit {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
