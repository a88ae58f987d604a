"""Checks on the real public data sets in ../shared/data (see its README.md).

1. CrowdFlower raters' disagreement, from ``relevance_variance``: its distribution, the share
   of pairs where raters disagreed, and how disagreement relates to the median grade. Also
   what the column really holds (its distinct values are tested against the population
   standard deviation and the population variance of every possible set of 1-8 grades on 1-4).
2. A conversion summary for every data set (``seemingly convert``): rows read / written /
   dropped per reason, nulls, labels and the relevant share under the recommended setting,
   and the store's validation (quarantined rows), plus Home Depot's threshold sensitivity.

Run:  nice .venv/bin/python bench/experiments/real_data_checks.py [--data DIR] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from seemingly.adapters import convert

REPO = Path(__file__).resolve().parents[2]
DATASETS = (  # (format, folder under shared/data)
    ("homedepot", "homedepot"),
    ("crowdflower", "crowdflower"),
    ("esci-judgments", "esci"),
    ("online-retail", "online_retail"),
    ("groceries", "groceries"),
)


def shared_data(arg: str | None) -> Path:
    for candidate in (arg, os.environ.get("SEEMINGLY_SHARED_DATA"),
                      str(REPO.parent / "shared" / "data")):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    sys.exit("no shared data folder: pass --data or set SEEMINGLY_SHARED_DATA")


def _spread_values(max_raters: int = 8) -> tuple[set[float], set[float]]:
    """Rounded population std and variance of every multiset of 1..max_raters grades on 1-4."""
    std, var = set(), set()
    for n in range(1, max_raters + 1):
        for grades in itertools.combinations_with_replacement((1, 2, 3, 4), n):
            a = np.asarray(grades, dtype=float)
            std.add(round(float(a.std()), 3))
            var.add(round(float(a.var()), 3))
    return std, var


def crowdflower_disagreement(path: Path) -> dict[str, Any]:
    frame = pd.read_csv(path, usecols=["query", "median_relevance", "relevance_variance"])
    spread = frame["relevance_variance"].astype(float)
    median = frame["median_relevance"].astype(int)
    distinct = set(spread.round(3).unique())
    std_values, var_values = _spread_values()
    by_grade = (
        frame.assign(disagree=spread > 0)
        .groupby("median_relevance")
        .agg(pairs=("disagree", "size"), share_disagree=("disagree", "mean"),
             mean_spread=("relevance_variance", "mean"),
             median_spread=("relevance_variance", "median"))
        .reset_index()
    )
    rho = stats.spearmanr(median, spread)
    # Disagreement per query: does the query, more than the grade, carry it?
    per_query = frame.assign(disagree=spread > 0).groupby("query")["disagree"].mean()
    relevant = median >= 3
    return {
        "pairs": len(frame),
        "queries": int(frame["query"].nunique()),
        "share_with_disagreement": float((spread > 0).mean()),
        "quantiles": {str(q): float(spread.quantile(q)) for q in (0.5, 0.75, 0.9, 0.99)},
        "mean": float(spread.mean()), "max": float(spread.max()),
        "top_values": {str(k): int(v) for k, v in spread.round(3).value_counts().head(6).items()},
        "distinct_values": len(distinct),
        "distinct_matching_population_std": len(distinct & std_values),
        "distinct_matching_population_variance": len(distinct & var_values),
        "by_median_grade": by_grade.to_dict(orient="records"),
        "spearman_median_vs_spread": {"rho": float(rho.statistic), "p_value": float(rho.pvalue)},
        "relevant_at_3": {
            "share_relevant": float(relevant.mean()),
            "share_disagreement_relevant": float((spread[relevant] > 0).mean()),
            "share_disagreement_not_relevant": float((spread[~relevant] > 0).mean()),
        },
        "per_query_share_disagreement": {
            "min": float(per_query.min()), "median": float(per_query.median()),
            "max": float(per_query.max()),
        },
    }


def _label_summary(out: Path, settings: dict[str, Any] | None) -> dict[str, Any]:
    path = out / "judgments.parquet"
    if not path.exists() or settings is None:
        return {}
    labels = pd.read_parquet(path, columns=["query", "label"])
    if "relevant_at" in settings:
        relevant = labels["label"].astype(float) >= settings["relevant_at"]
    else:
        relevant = labels["label"].isin(settings["esci_relevant"])
    counts = labels["label"].value_counts().sort_index()
    return {
        "queries": int(labels["query"].nunique()),
        "label_counts": {str(k): int(v) for k, v in counts.items()},
        "share_relevant": float(relevant.mean()),
        "queries_without_relevant": int((~relevant.groupby(labels["query"]).any()).sum()),
    }


def conversion_summaries(data: Path, work: Path) -> dict[str, Any]:
    try:
        from seemingly.store import validate
    except ImportError:  # the store is optional for this script
        validate = None  # type: ignore[assignment]
    out: dict[str, Any] = {}
    for fmt, folder in DATASETS:
        source = data / folder
        if not source.exists():
            out[fmt] = {"skipped": f"{source} is absent"}
            continue
        target = work / fmt
        start = time.perf_counter()
        report = convert(fmt, source, target)
        seconds = time.perf_counter() - start
        entry = report.to_dict()
        entry["seconds"] = round(seconds, 2)
        entry["labels_summary"] = _label_summary(target, entry["recommended_label_settings"])
        if validate is not None:
            ingest = validate(target)
            entry["validation"] = {"quarantined": ingest.quarantined,
                                   "warnings": list(ingest.warnings)}
        if fmt == "homedepot":
            labels = pd.read_parquet(target / "judgments.parquet", columns=["label"])["label"]
            entry["relevant_share_by_threshold"] = {
                str(t): float((labels >= t).mean()) for t in (2.0, 2.33, 2.5, 2.67, 3.0)
            }
        out[fmt] = entry
    return out


def _print(results: dict[str, Any]) -> None:
    cf = results.get("crowdflower_disagreement")
    if cf:
        print("## CrowdFlower rater disagreement (relevance_variance)")
        print(f"pairs {cf['pairs']:,}, queries {cf['queries']}, share with disagreement "
              f"(value > 0) {cf['share_with_disagreement']:.3f}, mean {cf['mean']:.3f}, "
              f"quantiles {cf['quantiles']}, max {cf['max']:.3f}")
        print(f"top values {cf['top_values']}")
        print(f"distinct values {cf['distinct_values']}: {cf['distinct_matching_population_std']}"
              f" match a population std of 1-8 grades on 1-4, "
              f"{cf['distinct_matching_population_variance']} a population variance")
        print("median grade | pairs | share disagree | mean spread | median spread")
        for r in cf["by_median_grade"]:
            print(f"{r['median_relevance']} | {r['pairs']} | {r['share_disagree']:.3f} | "
                  f"{r['mean_spread']:.3f} | {r['median_spread']:.3f}")
        s = cf["spearman_median_vs_spread"]
        print(f"Spearman rho(median, spread) = {s['rho']:.3f} (p = {s['p_value']:.2g})")
        print(f"relevant_at 3: {cf['relevant_at_3']}")
        print(f"share of pairs with disagreement per query: {cf['per_query_share_disagreement']}")
    print("\n## Conversions")
    for fmt, e in results.get("conversions", {}).items():
        if "skipped" in e:
            print(f"{fmt}: skipped ({e['skipped']})")
            continue
        print(f"### {fmt} ({e['seconds']} s)")
        print(f"read {e['rows_read']}; written {e['rows_written']}")
        print(f"dropped {e['dropped_by_source']}; nulls {e['nulls']}")
        if e.get("labels_summary"):
            print(f"labels {e['recommended_label_settings']}: {e['labels_summary']}")
        if "relevant_share_by_threshold" in e:
            print(f"relevant share by threshold {e['relevant_share_by_threshold']}")
        if "validation" in e:
            print(f"store validation: quarantined {e['validation']['quarantined']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the shared data folder (default ../shared/data)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    data = shared_data(args.data)
    results: dict[str, Any] = {"data": str(data)}
    cf = data / "crowdflower" / "train.csv.gz"
    if cf.exists():
        results["crowdflower_disagreement"] = crowdflower_disagreement(cf)
    with tempfile.TemporaryDirectory(prefix="seemingly-real-") as work:
        results["conversions"] = conversion_summaries(data, Path(work))
    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
