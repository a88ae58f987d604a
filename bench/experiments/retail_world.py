"""The retail world end to end: real catalogue and baskets, simulated search traffic.

1. ``seemingly convert online-retail`` of ../shared/data/online_retail/online_retail.parquet
   (real products with prices, real order baskets);
2. ``seemingly simulate OUT/world --world retail --catalog OUT/catalog --offers 200000``
   (voice-shopping offers and judgments over that catalogue, effects planted, truth.json);
3. ``seemingly analyze OUT/world --out OUT/analysis``;

then prints the hypotheses table (estimate, Holm-adjusted p, supported, per hypothesis and
outcome) next to the planted direction from truth.json. Skips when the data file is absent.

Run:  nice .venv/bin/python bench/experiments/retail_world.py [--out DIR] [--offers 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SEEMINGLY = [sys.executable, "-c", "from seemingly.cli import main; main()"]
SUB_EFFECTS = ("short", "long", "brand")  # query_length parts; personal_history's brand level


def data_file() -> Path | None:
    for c in (os.environ.get("SEEMINGLY_SHARED_DATA"), str(REPO.parent / "shared" / "data")):
        if c and (Path(c) / "online_retail" / "online_retail.parquet").is_file():
            return Path(c) / "online_retail" / "online_retail.parquet"
    return None


def run(*args: str) -> float:
    t0 = time.perf_counter()
    print("$ seemingly", " ".join(args), flush=True)
    subprocess.run([*SEEMINGLY, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def fmt(x: Any, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def rows(hypotheses: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for name, block in hypotheses.items():
        for outcome in ("purchase", "engagement"):
            eff = block.get(outcome) or {}
            if eff.get("estimate") is not None or "supported" in eff:
                out.append((name, outcome, eff))
            for sub in SUB_EFFECTS:
                if isinstance(eff.get(sub), dict):
                    out.append((f"{name}:{sub}", outcome, eff[sub]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--offers", type=int, default=200_000)
    args = ap.parse_args()
    source = data_file()
    if source is None:
        print("skipped: ../shared/data/online_retail/online_retail.parquet is absent (set "
              "SEEMINGLY_SHARED_DATA to the folder holding online_retail/)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        times = {
            "convert": run("convert", "online-retail", str(source), str(out / "catalog"),
                           "--force"),
            "simulate": run("simulate", str(out / "world"), "--world", "retail", "--catalog",
                            str(out / "catalog"), "--offers", str(args.offers)),
            "analyze": run("analyze", str(out / "world"), "--out", str(out / "analysis")),
        }
        results = json.loads((out / "analysis" / "results.json").read_text())
        truth = json.loads((out / "world" / "truth.json").read_text())
    expected = truth.get("expected", {})
    d = results["data"]
    print(f"\nretail world: {d['offers']:,} offers ({d['offers_judged']:,} judged), "
          f"{d['queries']:,} queries, {d['products']:,} products, {d['users']:,} users")
    pl = results["overview"]["purchase_level"]
    print(f"purchase level: relevant {pl['relevant']['value']:.4f}, irrelevant "
          f"{pl['irrelevant']['value']:.4f}")
    print(f"\n{'hypothesis':28} {'outcome':10} {'planted':>8} {'estimate':>9} {'p':>9} "
          f"{'p_adj':>9} {'supported':>9} unit")
    for name, outcome, eff in rows(results.get("hypotheses", {})):
        planted = expected.get(name.split(":")[0], "")
        planted = planted if isinstance(planted, str) else "by cat."
        print(f"{name:28} {outcome:10} {planted:>8} {fmt(eff.get('estimate'), '+.4f'):>9} "
              f"{fmt(eff.get('p_value'), '.2e'):>9} {fmt(eff.get('p_adjusted'), '.2e'):>9} "
              f"{str(eff.get('supported')):>9} "
              f"{(eff.get('unit') or '')[:60]}")
    for w in results["data"].get("warnings", []):
        print("warning:", w)
    print("\ntime: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
