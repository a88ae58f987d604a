"""Position bias on the serp world: are the position-free levels and the planted signs
recovered, and does the naive analysis miss them?

For each seed, simulate ``--world serp`` (10 results per request, examination 1 / position),
ingest it, and compare with truth.json:

- levels (purchase and engagement, judged relevant and irrelevant): the corrected value and
  its 95% interval against the position-free truth, and the naive value (outcomes / offers)
  with its Wilson interval;
- the multivariable logit's terms among irrelevant offers (popularity, price, semantic,
  co-purchase, history, short and long queries), naive and corrected, against the planted
  directions of truth.json (``expected``).

Run: nice .venv/bin/python -m bench.experiments.serp_recovery [--seeds 20] [--offers 200000]
     [--work DIR]

Prints one line per seed and level, then coverage (share of intervals holding the truth) for
corrected and naive, and per term how often each sign matches the planted one. Goal
(issue 16): corrected coverage between 85% and 99%, naive far below.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from seemingly.config import AnalysisSettings
from seemingly.explain.measures import overview
from seemingly.explain.position import analyze_positions
from seemingly.simulate import simulate
from seemingly.store import open_data

LEVELS = (("purchase_level", "purchase"), ("engagement_level", "engagement"))
GROUPS = ("relevant", "irrelevant")
# model term -> truth.json expected key and the sign it implies
TERMS = {
    "popularity": ("popularity", None), "price_ratio": ("price", None),
    "semantic": ("semantic_relation", None), "copurchase": ("copurchase_relation", None),
    "history": ("personal_history", None), "short": ("query_length", "short"),
    "long": ("query_length", "long"),
}


def _expected_sign(expected: dict[str, Any], term: str) -> str:
    key, end = TERMS[term]
    value = expected[key]
    if end is None:
        return str(value)
    # query length: "U" means both ends above medium
    return {"U": "+", "inverted-U": "-", "0": "0"}.get(value, "+" if (
        (value == "-") == (end == "short")) else "-")


def run_seed(seed: int, n_offers: int, work: Path) -> dict[str, Any]:
    """One seed's rows: levels (truth, naive, corrected) and term signs."""
    data = work / f"serp-{seed}"
    simulate(data, "serp", n_offers=n_offers, seed=seed)
    truth = json.loads((data / "truth.json").read_text())
    store = open_data(data, work / f"work-{seed}")
    settings = AnalysisSettings(seed=seed)
    found = analyze_positions(store, settings)
    assert found is not None, "the serp world has positions 1..10"
    naive = overview(store, settings)
    levels = []
    for attr, key in LEVELS:
        for group in GROUPS:
            t = truth["position"]["levels"][key][group]
            c = getattr(getattr(found.overview_corrected, attr), group)
            n = getattr(getattr(naive, attr), group)
            levels.append({
                "level": f"{key}/{group}", "truth": t,
                "corrected": c.value, "corrected_ci": c.ci,
                "naive": n.value, "naive_ci": n.ci,
                "corrected_covers": c.ci[0] <= t <= c.ci[1],
                "naive_covers": n.ci[0] <= t <= n.ci[1],
            })
    signs = []
    for term in TERMS:
        for outcome, by in found.block.hypotheses[term].items():
            want = _expected_sign(truth["expected" if outcome == "purchase"
                                        else "expected_engagement"], term)
            signs.append({
                "term": term, "outcome": outcome, "expected": want,
                "naive": by.naive.estimate if by.naive else None,
                "corrected": by.corrected.estimate if by.corrected else None,
                # "recovered": the interval excludes 0 on the planted side
                "naive_ok": _significant(by.naive, want),
                "corrected_ok": _significant(by.corrected, want),
            })
    store.close()
    return {"seed": seed, "levels": levels, "signs": signs,
            "curve": [p.value for p in found.block.examination],
            "true_curve": [c["value"] for c in truth["position"]["examination"]["curve"]]}


def _significant(term: Any, want: str) -> bool:
    if term is None or term.ci is None or term.ci[0] is None or term.ci[1] is None:
        return False
    return term.ci[0] > 0 if want == "+" else term.ci[1] < 0 if want == "-" else (
        term.ci[0] <= 0 <= term.ci[1])


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Coverage per level and overall, sign recovery per term (naive and corrected)."""
    lv = [r for row in rows for r in row["levels"]]
    sg = [s for row in rows for s in row["signs"]]

    def share(xs: list[bool]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    by_level = {name: {"corrected": share([r["corrected_covers"] for r in lv
                                           if r["level"] == name]),
                       "naive": share([r["naive_covers"] for r in lv if r["level"] == name])}
                for name in dict.fromkeys(r["level"] for r in lv)}
    by_term: dict[str, dict[str, float]] = {f"{s['term']}/{s['outcome']}": {} for s in sg}
    for key in by_term:
        sub = [s for s in sg if f"{s['term']}/{s['outcome']}" == key]
        by_term[key] = {"corrected": share([s["corrected_ok"] for s in sub]),
                        "naive": share([s["naive_ok"] for s in sub])}
    return {"coverage": {"corrected": share([r["corrected_covers"] for r in lv]),
                         "naive": share([r["naive_covers"] for r in lv])},
            "coverage_by_level": by_level, "signs_by_term": by_term,
            "signs": {"corrected": share([s["corrected_ok"] for s in sg]),
                      "naive": share([s["naive_ok"] for s in sg])}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--offers", type=int, default=200_000)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="serp-recovery-"))
    rows = []
    t0, c0 = time.perf_counter(), time.process_time()
    for seed in range(1, args.seeds + 1):
        row = run_seed(seed, args.offers, work)
        rows.append(row)
        for r in row["levels"]:
            print(f"seed {seed:2d} {r['level']:22s} truth {r['truth']:.4f}  corrected "
                  f"{r['corrected']:.4f} [{r['corrected_ci'][0]:.4f}, {r['corrected_ci'][1]:.4f}]"
                  f"{'' if r['corrected_covers'] else ' MISS'}  naive {r['naive']:.4f} "
                  f"[{r['naive_ci'][0]:.4f}, {r['naive_ci'][1]:.4f}]"
                  f"{'' if r['naive_covers'] else ' MISS'}", flush=True)
    s = summarise(rows)
    print(f"\n{args.seeds} seeds x {args.offers} offers, "
          f"{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU")
    print(f"level coverage of the truth by 95% intervals: corrected "
          f"{s['coverage']['corrected']:.1%}, naive {s['coverage']['naive']:.1%}")
    for name, c in s["coverage_by_level"].items():
        print(f"  {name:22s} corrected {c['corrected']:.0%}  naive {c['naive']:.0%}")
    print(f"planted sign recovered (95% interval on the planted side): corrected "
          f"{s['signs']['corrected']:.1%}, naive {s['signs']['naive']:.1%}")
    mean: dict[str, list[list[float]]] = {}
    for row in rows:
        for sg in row["signs"]:
            k = f"{sg['term']}/{sg['outcome']}"
            mean.setdefault(k, [[], []])
            mean[k][0].append(sg["naive"])
            mean[k][1].append(sg["corrected"])
    for name, c in s["signs_by_term"].items():
        nv, cv = (sum(x) / len(x) for x in mean[name])
        print(f"  {name:24s} corrected {c['corrected']:.0%} (mean {cv:+.3f})  "
              f"naive {c['naive']:.0%} (mean {nv:+.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
