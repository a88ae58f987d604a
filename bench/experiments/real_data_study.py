"""The whole study on real public data without offers (issue 9): convert, then ``run_study``.

- Home Depot (judgments, sampled to ``--homedepot-queries`` queries so the run stays near two
  minutes): annotator agreement (none: one mean grade per pair), the semantic relation of
  relevant vs irrelevant products, and the relevance model vs BM25 (NDCG@10, held-out queries).
- CrowdFlower (judgments): the same, plus the raters' disagreement from ``relevance_variance``
  (bench/experiments/real_data_checks.py computes it; the contract tables keep only the
  median grade).
- Online Retail (orders only): the co-purchase relation (baskets, pairs, lift).

Each data set's folder under ../shared/data (or $SEEMINGLY_SHARED_DATA) may be absent: it is
skipped with a message. Outputs go to a temporary folder unless ``--out`` is given.

Run:  nice .venv/bin/python bench/experiments/real_data_study.py [--out DIR]
      [--homedepot-queries 3000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seemingly.adapters import convert
from seemingly.study.run import run_study

REPO = Path(__file__).resolve().parents[2]


def shared_data() -> Path | None:
    for c in (os.environ.get("SEEMINGLY_SHARED_DATA"), str(REPO.parent / "shared" / "data")):
        if c and Path(c).is_dir():
            return Path(c)
    return None


def sample_queries(folder: Path, n_queries: int, seed: int) -> int:
    """Keep the judgments of ``n_queries`` seeded queries (products stay whole: the text
    statistics are the catalogue's). Returns the number of queries kept."""
    path = folder / "judgments.parquet"
    j = pd.read_parquet(path)
    queries = np.array(sorted(j["query"].unique()))
    if len(queries) > n_queries:
        keep = np.random.default_rng(seed).choice(queries, n_queries, replace=False)
        j = j[j["query"].isin(set(keep))]
        j.to_parquet(path, index=False)
    return int(j["query"].nunique())


def fmt_ci(ci: Any) -> str:
    return "n/a" if not ci else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def print_comparison(name: str, c: dict[str, Any] | None) -> None:
    if not c or not c.get("relevant"):
        print(f"  {name}: no query has relevant and irrelevant products with a value")
        return
    print(f"  {name}: relevant {c['relevant']['mean']:.3f} vs irrelevant "
          f"{c['irrelevant']['mean']:.3f}, difference {c['difference']['estimate']:+.3f} "
          f"{fmt_ci(c['difference']['ci'])} over {c['n_queries']:,} queries "
          f"({c['n_queries_without_comparison']:,} without both); AUC {c['auc']['estimate']:.3f} "
          f"{fmt_ci(c['auc']['ci'])}, within-query AUC {c['auc_within_query']['estimate']:.3f}")


def print_results(results: dict[str, Any], seconds: float, timings: dict[str, float]) -> None:
    d = results["data"]
    print(f"  data: {d['products']:,} products, {d['queries']:,} queries, {d['offers']} offers")
    agree = results.get("overview", {}).get("annotator_agreement") or {}
    if agree:
        alpha = agree.get("alpha")
        print(f"  annotator agreement: alpha {alpha if alpha is None else round(alpha, 3)} "
              f"({agree.get('reason') or str(agree.get('n_items')) + ' items'})")
    rel = results.get("relations") or {}
    if rel.get("semantic"):
        print_comparison("semantic relation (max)", rel["semantic"])
        print_comparison("semantic relation (mean)", rel["semantic"].get("by_mean"))
    cp = rel.get("copurchase")
    if cp:
        q = cp["lift"]["quantiles"]
        print(f"  co-purchase: {cp['baskets']:,} baskets ({cp['baskets_with_two_or_more']:,} "
              f"with 2+ products, mean size {cp['mean_basket_size']:.1f}), {cp['pairs']:,} "
              f"pairs; bought together twice+ {cp['share_pairs_bought_together_twice_or_more']:.1%}"
              f"; smoothed lift median {q['0.5']:.2f}, p90 {q['0.9']:.2f}, p99 {q['0.99']:.2f}")
        if cp.get("relevant_vs_irrelevant"):
            print_comparison("co-purchase relation", cp["relevant_vs_irrelevant"])
    m = (results.get("models") or {}).get("relevance", {}).get("metrics")
    if m:
        print(f"  relevance model: NDCG@10 {m['ndcg_at_10']:.4f} vs BM25 "
              f"{m['ndcg_at_10_bm25']:.4f}, difference {m['ndcg_at_10_minus_bm25']:+.4f} "
              f"[{m['ndcg_at_10_minus_bm25_ci_low']:+.4f}, "
              f"{m['ndcg_at_10_minus_bm25_ci_high']:+.4f}]"
              f", AUC {m['auc']:.3f} ({m['n_test_queries_with_relevant']:,} held-out queries, "
              f"{m['n_train']:,} training pairs)")
    for block, why in (results.get("skipped") or {}).items():
        print(f"  skipped {block}: {why}")
    stages = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
    print(f"  time: {seconds:.1f} s ({stages})")


def crowdflower_disagreement(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "real_data_checks", REPO / "bench" / "experiments" / "real_data_checks.py")
    assert spec is not None and spec.loader is not None
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    d = checks.crowdflower_disagreement(path)
    r = d["relevant_at_3"]
    print(f"  raters' disagreement (relevance_variance): {d['share_with_disagreement']:.1%} of "
          f"{d['pairs']:,} pairs disagree; mean spread {d['mean']:.3f}, p90 "
          f"{d['quantiles']['0.9']:.3f}; relevant (median >= 3) pairs "
          f"{r['share_disagreement_relevant']:.1%} vs not relevant "
          f"{r['share_disagreement_not_relevant']:.1%}; Spearman(median, spread) "
          f"{d['spearman_median_vs_spread']['rho']:+.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--homedepot-queries", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    root = shared_data()
    if root is None:
        print("skipped: no shared data folder (set SEEMINGLY_SHARED_DATA to the folder holding "
              "homedepot/, crowdflower/, online_retail/)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        for fmt, sub, source in (("homedepot", "homedepot", "homedepot"),
                                 ("crowdflower", "crowdflower", "crowdflower"),
                                 ("online-retail", "online_retail",
                                  "online_retail/online_retail.parquet")):
            print(f"== {fmt}")
            if not (root / sub).is_dir():
                print(f"  skipped: {root / sub} is absent")
                continue
            t0 = time.perf_counter()
            converted = out / f"{sub}_tables"
            convert(fmt, root / source, converted, force=True)
            if fmt == "homedepot":
                kept = sample_queries(converted, args.homedepot_queries, args.seed)
                print(f"  sampled {kept:,} queries (seed {args.seed})")
            result = run_study(converted, out / f"{sub}_study", seed=args.seed)
            results = json.loads(result.results_path.read_text())
            print_results(results, time.perf_counter() - t0, result.timings)
            if fmt == "crowdflower":
                crowdflower_disagreement(root / "crowdflower" / "train.csv.gz")
            print(f"  report: {result.report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
