"""Does the re-judging queue find the annotation slips? (issue 18's done-means.)

On simulated worlds, where truth.json says which majority labels are wrong:

- precision@k of the queue (judged-irrelevant pairs by ``posterior_wrong``) against the
  naive queue ("judged irrelevant, sorted by purchase level", ties by purchases), with
  k = a tenth of the true slips (judged irrelevant, truly relevant); targets: >= 0.8 and
  >= 1.5x the naive queue's;
- recall curves of both queues (share of the slips found in the top n, n = k, 2k, ...);
- the same queue without the relevance score (votes and behaviour only) as an ablation;
- coverage of the mislabelled-share interval (purchases and engagements) over ``--seeds``
  seeds: how often it holds the true share of judged-irrelevant purchases (engagements) on
  truly-relevant pairs (target >= 17 of 20);
- the perfect-labels world: queue length above ``wrong_at`` and the share interval.

Run: nice -n 10 PYTHONPATH=src .venv/bin/python bench/experiments/bench_rejudge.py
     [--offers 200000] [--seeds 20] [--work /tmp/seemingly-rejudge]
Wall times are noisy on a shared machine; CPU time is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seemingly.config import AnalysisSettings
from seemingly.ranking.rejudge import label_quality
from seemingly.ranking.tradeoff import tradeoff_data
from seemingly.simulate import simulate
from seemingly.store import open_data


def truth_pairs(data_dir: Path) -> pd.DataFrame:
    lab = json.loads((data_dir / "truth.json").read_text())["labels"]
    return pd.DataFrame(lab["pairs"], columns=lab["columns"])


def run_world(world: str, seed: int, offers: int, work: Path, *, with_model: bool = True
              ) -> dict[str, Any]:
    """Simulate (cached), ingest, build the queue; returns the frame joined with the truth."""
    data = work / f"{world}-{offers}-{seed}"
    if not (data / "truth.json").exists():
        simulate(data, world, n_offers=offers, seed=seed)
    settings = AnalysisSettings(seed=seed)
    store = open_data(data, work / f"store-{world}-{offers}-{seed}")
    md = tradeoff_data(store, settings) if with_model else None
    lq = label_quality(store, settings, data=md)
    f = lq.frame.merge(truth_pairs(data), on=["query", "product_id"], validate="one_to_one")
    f["slip"] = (f["label"] == "irrelevant") & (f["true_relevant"] == 1)
    store.close()
    return {"frame": f, "lq": lq}


def queues(f: pd.DataFrame) -> dict[str, np.ndarray]:
    irr = f[f["label"] == "irrelevant"]
    ours = irr.sort_values(["posterior_wrong", "purchases"], ascending=False, kind="mergesort")
    naive = irr.assign(pl=irr["purchase_level"].fillna(-1.0)).sort_values(
        ["pl", "purchases"], ascending=False, kind="mergesort")
    return {"ours": ours["slip"].to_numpy(), "naive": naive["slip"].to_numpy()}


def true_shares(f: pd.DataFrame) -> dict[str, float]:
    irr = f[f["label"] == "irrelevant"]
    return {c: float(irr.loc[irr["slip"], c].sum() / irr[c].sum())
            for c in ("purchases", "engagements")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offers", type=int, default=200_000)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--work", type=Path, default=Path("/tmp/seemingly-rejudge"))
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()

    print(f"== default world, {a.offers} offers, seed 7")
    for with_model in (True, False):
        r = run_world("default", 7, a.offers, a.work, with_model=with_model)
        f = r["frame"]
        n_slips = int(f["slip"].sum())
        k = max(1, n_slips // 10)
        q = queues(f)
        prec = {name: float(v[:k].mean()) for name, v in q.items()}
        tag = "votes + behaviour + cross-fitted score" if with_model else "votes + behaviour"
        print(f"[{tag}] slips {n_slips}, k {k}: precision@k ours {prec['ours']:.3f}, "
              f"naive {prec['naive']:.3f}, ratio "
              f"{prec['ours'] / prec['naive'] if prec['naive'] > 0 else float('inf'):.2f}")
        if with_model:
            print("recall curve (top n: ours / naive):")
            for mult in (1, 2, 3, 5, 10, 20):
                n = k * mult
                print(f"  n={n:5d}: {q['ours'][:n].sum() / n_slips:.3f} / "
                      f"{q['naive'][:n].sum() / n_slips:.3f}")
            rel = f[f["label"] == "relevant"].sort_values("posterior_wrong", ascending=False)
            wrong_rel = (rel["true_relevant"] == 0).to_numpy()
            kr = max(1, int(wrong_rel.sum()) // 10)
            print(f"reverse queue: {int(wrong_rel.sum())} wrong relevant labels, "
                  f"precision@{kr} {wrong_rel[:kr].mean():.3f}")

    print(f"== coverage of the mislabelled-share interval, {a.seeds} seeds")
    hits = {"purchases": 0, "engagements": 0}
    for seed in range(1, a.seeds + 1):
        r = run_world("default", seed, a.offers, a.work)
        truth = true_shares(r["frame"])
        line = []
        for col in hits:
            value, ci = r["lq"].shares[col]
            assert ci is not None
            ok = ci[0] <= truth[col] <= ci[1]
            hits[col] += ok
            line.append(f"{col} true {truth[col]:.4f} est {value:.4f} "
                        f"[{ci[0]:.4f}, {ci[1]:.4f}] {'ok' if ok else 'MISS'}")
        print(f"  seed {seed:2d}: " + "; ".join(line))
    print(f"coverage: purchases {hits['purchases']}/{a.seeds}, "
          f"engagements {hits['engagements']}/{a.seeds}")

    print("== perfect_labels world, seed 7")
    r = run_world("perfect_labels", 7, a.offers, a.work)
    lq = r["lq"]
    f = r["frame"]
    s = AnalysisSettings().labels
    likely = int(((f["label"] == "irrelevant") & (f["posterior_wrong"] > s.wrong_at)).sum())
    print(f"judged-irrelevant pairs {int((f['label'] == 'irrelevant').sum())}, "
          f"above wrong_at: {likely}; share purchases {lq.shares['purchases']}, "
          f"engagements {lq.shares['engagements']}")
    print(f"wall {time.perf_counter() - t0:.1f} s, CPU {time.process_time() - c0:.1f} s "
          "(shared machine: wall times are noisy)")


if __name__ == "__main__":
    main()
