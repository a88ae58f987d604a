"""Benchmark: simulate -> ingest -> analyze at growing sizes, time and peak memory per stage.

    nice .venv/bin/python bench/perf/bench_scale.py                       # 1M offers, quick
    nice .venv/bin/python bench/perf/bench_scale.py --offers 10000000,100000000 \
        --workdir /tmp/seemingly-scale | tee scale.txt

Every stage runs in its own child process, so its peak RSS (``os.wait4`` rusage of that child)
is the stage's own, DuckDB's memory included. Sizes up to ``--pandas-max`` also run a plain
pandas version of the overview and of the factor aggregates (category, query length,
popularity and price-ratio curves of judged-irrelevant offers) and print the time ratio
against seemingly's overview + hypotheses blocks; the overview numbers must agree.
The data folder and store of each size are deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MB = 1024  # ru_maxrss is in KiB on Linux


# --- the stages (each runs in a child: `bench_scale.py --stage NAME ...`) ----------------------


def _stage_simulate(a: argparse.Namespace) -> dict[str, Any]:
    from seemingly.simulate import simulate

    simulate(a.data, "default", n_offers=a.n, seed=7)
    size = sum(f.stat().st_size for f in Path(a.data).rglob("*") if f.is_file())
    return {"data_mb": size / 2**20}


def _stage_ingest(a: argparse.Namespace) -> dict[str, Any]:
    from seemingly.config import IngestSettings
    from seemingly.store import ingest

    settings = IngestSettings(memory_limit=a.memory_limit, threads=a.threads)
    report = ingest(a.data, a.db, settings)
    offers = report.tables["offers"]
    return {
        "offers_accepted": offers.accepted,
        "offers_quarantined": offers.quarantined,
        "store_mb": Path(a.db).stat().st_size / 2**20,
    }


def _stage_analyze(a: argparse.Namespace) -> dict[str, Any]:
    from seemingly.store import open_store
    from seemingly.study import analysis

    blocks: dict[str, float] = {}
    errors: dict[str, str] = {}

    def timed(name: str, build: Any) -> Any:
        def run(ctx: Any) -> Any:
            t = time.perf_counter()
            try:
                return build(ctx)
            except Exception as exc:  # a block still being written must not stop the bench
                errors[name] = f"{type(exc).__name__}: {exc}"
                return None
            finally:
                blocks[name] = time.perf_counter() - t

        return run

    # Whatever blocks analyze has right now (or those of --blocks); we time each of them.
    wanted = a.blocks.split(",") if a.blocks else list(analysis.BLOCKS)
    for name, build in list(analysis.BLOCKS.items()):
        if name in wanted or name == "data":
            analysis.BLOCKS[name] = timed(name, build)
        else:
            del analysis.BLOCKS[name]
    store = open_store(a.db)
    results = analysis.analyze(store)
    results.write(a.out)
    ov = results.to_dict().get("overview", {})
    return {"blocks": blocks, "errors": errors, "overview": ov}


def _stage_pandas(a: argparse.Namespace) -> dict[str, Any]:
    """The same overview and factor aggregates, the plain-pandas way (everything in memory)."""
    import numpy as np
    import pandas as pd

    from seemingly.contract import normalize_query

    # Any: pandas-stubs cannot follow these frames' dtypes; the arithmetic is plain pandas.
    data = Path(a.data)
    offers: Any = pd.read_parquet(data / "offers")
    products: Any = pd.read_parquet(data / "products.parquet")
    j: Any = pd.read_parquet(data / "judgments.parquet")
    norm = {q: normalize_query(q) for q in offers["query"].unique()}
    offers["query"] = offers["query"].map(norm)
    offers["query_length"] = offers["query"].str.split().str.len()
    j["query"] = j["query"].map(normalize_query)
    j["vote"] = j["label"].astype(float) >= 1
    rel = j.groupby(["query", "product_id"]).vote.agg(["sum", "count"]).reset_index()
    rel["relevant"] = rel["sum"] * 2 > rel["count"]
    offers["engaged"] = offers["engaged"] | offers["purchased"]
    m: Any = offers.merge(rel[["query", "product_id", "relevant"]], on=["query", "product_id"])
    g: Any = m.groupby("relevant").agg(
        offers=("offer_id", "size"),
        purchases=("purchased", "sum"),
        engagements=("engaged", "sum"),
    )
    out: dict[str, Any] = {}
    for flag, name in ((True, "relevant"), (False, "irrelevant")):
        out[f"pl_{name}"] = float(g.loc[flag, "purchases"] / g.loc[flag, "offers"])
        out[f"el_{name}"] = float(g.loc[flag, "engagements"] / g.loc[flag, "offers"])

    # Factor aggregates over judged-irrelevant offers.
    pop = offers.groupby("product_id").purchased.sum()
    m = m.merge(products[["product_id", "category", "price"]], on="product_id", how="left")
    m["popularity"] = m["product_id"].map(pop).fillna(0) - m["purchased"]
    m["pop_pct"] = m["popularity"].rank(pct=True)
    rel_price = m[m.relevant & (m.price > 0)].groupby("query").price.median().rename("rel_median")
    m = m.merge(rel_price, left_on="query", right_index=True, how="left")
    m["price_ratio"] = np.log2(m["price"] / m["rel_median"])
    irr: Any = m[~m.relevant]
    curves = {
        "category": irr.groupby("category").purchased.mean(),
        "query_length": irr.groupby("query_length").purchased.mean(),
        "popularity": irr.groupby(
            pd.qcut(irr.pop_pct, 10, duplicates="drop"), observed=True
        ).purchased.mean(),
        "price": irr.dropna(subset=["price_ratio"])
        .groupby(pd.cut(irr.price_ratio.dropna(), 10), observed=True)
        .purchased.mean(),
    }
    out["curve_points"] = {k: int(len(v)) for k, v in curves.items()}
    return out


STAGES = {
    "simulate": _stage_simulate,
    "ingest": _stage_ingest,
    "analyze": _stage_analyze,
    "pandas": _stage_pandas,
}


# --- the driver --------------------------------------------------------------------------------


def _run(stage: str, args: list[str]) -> dict[str, Any]:
    """Run one stage in a child process; its wall time, peak RSS and what it returned."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as f:
        result_path = f.name
    cmd = [sys.executable, __file__, "--stage", stage, "--result", result_path, *args]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    try:
        if proc.returncode != 0:
            raise SystemExit(f"stage {stage} failed with exit code {proc.returncode}")
        out: dict[str, Any] = json.loads(Path(result_path).read_text())
    finally:
        os.unlink(result_path)
    out["wall_s"] = wall
    out["cpu_s"] = usage.ru_utime + usage.ru_stime
    out["peak_rss_mb"] = usage.ru_maxrss / MB
    return out


def _line(stage: str, r: dict[str, Any], note: str = "") -> str:
    return (
        f"  {stage:<10} {r['wall_s']:8.1f} s wall {r['cpu_s']:8.1f} s cpu "
        f"{r['peak_rss_mb']:8.0f} MB peak RSS  {note}"
    )


def bench_size(n: int, work: Path, a: argparse.Namespace) -> None:
    root = work / f"n{n}"
    data, db, out = root / "data", root / "store.duckdb", root / "out"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    common = ["--n", str(n), "--data", str(data), "--db", str(db), "--out", str(out)]
    if a.memory_limit:
        common += ["--memory-limit", a.memory_limit]
    if a.threads:
        common += ["--threads", str(a.threads)]
    if a.blocks:
        common += ["--blocks", a.blocks]
    print(f"== {n:,} offers (work dir {root})", flush=True)
    try:
        sim = _run("simulate", common)
        print(_line("simulate", sim, f"data {sim['data_mb']:.0f} MB"), flush=True)
        ing = _run("ingest", common)
        note = (
            f"{ing['offers_accepted']:,} offers accepted, {ing['offers_quarantined']:,} "
            f"quarantined, store {ing['store_mb']:.0f} MB, "
            f"{n / ing['wall_s'] / 1e6:.2f} M offers/s"
        )
        print(_line("ingest", ing, note), flush=True)
        ana = _run("analyze", common)
        blocks = ", ".join(f"{k} {v:.1f} s" for k, v in ana["blocks"].items())
        print(_line("analyze", ana, f"blocks: {blocks}"), flush=True)
        for name, err in ana["errors"].items():
            print(f"  (block {name} failed: {err[:300]})", flush=True)
        if n <= a.pandas_max:
            pdr = _run("pandas", common)
            ours = ana["blocks"].get("overview", 0.0) + ana["blocks"].get("hypotheses", 0.0)
            ov = ana["overview"]
            checks = [
                (ov["purchase_level"]["irrelevant"]["value"], pdr["pl_irrelevant"]),
                (ov["purchase_level"]["relevant"]["value"], pdr["pl_relevant"]),
                (ov["engagement_level"]["irrelevant"]["value"], pdr["el_irrelevant"]),
            ]
            same = all(abs(x - y) < 1e-12 for x, y in checks)
            print(
                _line("pandas", pdr, f"overview equal: {same}; read+compute in memory"),
                flush=True,
            )
            print(
                f"  ratio pandas / seemingly (overview+hypotheses blocks {ours:.1f} s): "
                f"{pdr['wall_s'] / max(ours, 1e-9):.2f}; peak RSS ratio "
                f"{pdr['peak_rss_mb'] / ana['peak_rss_mb']:.2f}",
                flush=True,
            )
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--offers", default="1000000", help="comma-separated sizes, e.g. 1e7,1e8")
    ap.add_argument("--workdir", default=None, help="disk folder for data and stores")
    ap.add_argument("--pandas-max", type=float, default=1e7, help="largest size run in pandas")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory limit, e.g. 8GB")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep data and stores")
    ap.add_argument(
        "--blocks", default=None, help="analysis blocks to run, e.g. overview,hypotheses (all)"
    )
    # Internal: run one stage in this (child) process.
    ap.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    for name in ("--n", "--data", "--db", "--out"):
        ap.add_argument(name, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.stage:
        a.n = int(a.n)
        Path(a.result).write_text(json.dumps(STAGES[a.stage](a)))
        return
    sizes = [int(float(s)) for s in a.offers.split(",")]
    work = Path(a.workdir or tempfile.mkdtemp(prefix="seemingly-scale-"))
    import duckdb

    print(
        f"bench_scale: sizes {sizes}, {os.cpu_count()} cores, DuckDB {duckdb.__version__}, "
        f"memory_limit {a.memory_limit or 'default'}, load average {os.getloadavg()[0]:.1f}"
    )
    for n in sizes:
        bench_size(n, work, a)


if __name__ == "__main__":
    main()
