"""Benchmark: simulate, ingest and the hypothesis analysis, each next to its raw-DuckDB floor.

    nice .venv/bin/python bench/perf/bench_engine.py                                # 10M offers
    nice .venv/bin/python bench/perf/bench_engine.py --offers 10000000,100000000 \
        --workdir /tmp/seemingly-engine --runs 2 | tee engine.txt

For each size and run, on the same files:

- ``simulate``: ``seemingly.simulate`` of the default world (seed 7); its floor is none, its
  figure is the ratio of its time at the largest size to the smallest (goal: at most 12x for
  10x the offers);
- ``ingest``: ``seemingly.store.ingest`` of the simulated folder, next to the floor
  ``CREATE TABLE t AS SELECT * FROM read_parquet(...)`` of the same four tables (products,
  judgments, offers, orders) into a fresh DuckDB file, with the same DuckDB settings
  (goal: at most 3x);
- ``ingest`` includes the purchase-history cells the store keeps for the analysis
  (``seemingly.store.history``); their share is printed beside it;
- ``analysis``: ``hypotheses.fit_hypotheses`` on the store (as bench_hypotheses does), next
  to the raw group-by pass (``group by query, product_id`` over every offer, counts and
  sums, fetched) on the same store (goal: at most 6x at 10M);
- ``analysis*``: the same on the same store with its history cells ignored, as on a store
  without them (an older release's, or Spark): the analysis then joins every offer to the
  purchases itself. Both print the block's digest, which must be equal.

Every stage and floor runs in its own child process: wall time of the timed section, CPU
time (user + system of the child, every thread, from ``os.wait4``) and peak RSS (the child's
``ru_maxrss``, DuckDB's memory included). Spill: DuckDB's temp directories (the ingest's
``<store>.tmp-<pid>.spill``, the analysis' ``<store>.tmp``) are polled every 0.2 s by this
process for their peak size, and DuckDB's own profile reports each statement's
``peak_temp_dir_size``; the larger is printed. DuckDB profiling (``enable_profiling``) is on
in the ingest and analysis children of every run (its overhead is small); the simulator runs
under cProfile in run 1 only. The profile summaries (slowest statements, their top operators
by time, the simulator's top functions) follow each size's table. Data of each size are
deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

MB = 2**20
GROUP_BY = ("SELECT query, product_id, count(*), sum(purchased::INT), sum(engaged::INT) "
            "FROM offers GROUP BY ALL")
TABLES = {"products": "products.parquet", "judgments": "judgments.parquet",
          "offers": "offers/*.parquet", "orders": "orders/*.parquet"}


# --- profiles ---------------------------------------------------------------------------------


def _top_operators(profile: dict[str, Any], k: int = 5) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        info = node.get("extra_info") or {}
        what = info.get("Conditions") or info.get("Groups") or info.get("Table") or info.get(
            "Function") or ""
        ops.append({"op": node.get("name"), "s": float(node.get("timing") or 0.0),
                    "rows": node.get("intermediate_rows"), "info": str(what)[:70]})
        for child in node.get("children", []):
            walk(child)

    for node in profile.get("operator", []):
        walk(node)
    return sorted(ops, key=lambda o: -o["s"])[:k]


class _Profiler:
    """Records each statement's wall time and DuckDB profile (kept for the slowest)."""

    def __init__(self) -> None:
        self.statements: list[dict[str, Any]] = []
        self.settings: tuple[Any, ...] | None = None
        self.peak_temp = 0
        self.spilled = 0

    def record(self, con: Any, sql: str, seconds: float) -> None:
        try:
            prof = json.loads(con.get_profiling_information())
        except Exception:  # no profile for this statement (e.g. a PRAGMA)
            prof = {}
        system = prof.get("system", {})
        self.peak_temp = max(self.peak_temp, int(system.get("peak_temp_dir_size") or 0))
        self.spilled += int(system.get("total_bytes_spilled") or 0)
        self.statements.append({
            "sql": " ".join(sql.split())[:110], "s": seconds,
            "cpu": float(prof.get("query", {}).get("cpu_time") or 0.0),
            "top": _top_operators(prof) if seconds > 0.5 else [],
        })

    def summary(self, k: int = 3) -> dict[str, Any]:
        slow = sorted(self.statements, key=lambda s: -s["s"])[:k]
        return {"statements": slow, "peak_temp": self.peak_temp, "spilled": self.spilled,
                "n_statements": len(self.statements)}


class _Recording:
    """A DuckDB connection whose ``execute`` is timed and profiled (passed to store.build)."""

    def __init__(self, con: Any, profiler: _Profiler) -> None:
        self._con, self._p = con, profiler

    def execute(self, sql: str, *args: Any) -> Any:
        t = time.perf_counter()
        out = self._con.execute(sql, *args)
        self._p.record(self._con, sql, time.perf_counter() - t)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


# --- the stages (each runs in a child: `bench_engine.py --stage NAME ...`) ---------------------


def _stage_simulate(a: argparse.Namespace) -> dict[str, Any]:
    from seemingly.simulate import simulate

    out: dict[str, Any] = {}
    t = time.perf_counter()
    if a.cprofile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(simulate, a.data, "default", n_offers=a.n, seed=7)
        out["seconds"] = time.perf_counter() - t
        stats = pstats.Stats(prof)
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][3])  # type: ignore[attr-defined]
        out["top"] = [
            {"function": f"{Path(f).name}:{line}({name})", "calls": nc, "tottime": tt,
             "cumtime": ct}
            for (f, line, name), (_, nc, tt, ct, _) in rows
            if not name.startswith("<") and "simulate" in f
        ][:10]
    else:
        simulate(a.data, "default", n_offers=a.n, seed=7)
        out["seconds"] = time.perf_counter() - t
    out["data_mb"] = sum(f.stat().st_size for f in Path(a.data).rglob("*") if f.is_file()) / MB
    return out


def _stage_ingest(a: argparse.Namespace) -> dict[str, Any]:
    from seemingly.store import ingest

    # the package exports the function under the module's name
    ingest_module: Any = sys.modules["seemingly.store.ingest"]
    profiler = _Profiler()
    real_build = ingest_module.build

    def build(con: Any, *args: Any, **kwargs: Any) -> Any:
        con.execute("PRAGMA enable_profiling = 'no_output'")
        settings = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('temp_directory')").fetchone()
        profiler.settings = settings
        return real_build(_Recording(con, profiler), *args, **kwargs)

    ingest_module.build = build
    t = time.perf_counter()
    report = ingest(a.data, a.db)
    seconds = time.perf_counter() - t
    offers = report.tables["offers"]
    # the history cells the store keeps for the analysis (seemingly.store.history)
    history = sum(s["s"] for s in profiler.statements if "history_cells AS" in s["sql"])
    return {"seconds": seconds, "accepted": offers.accepted, "quarantined": offers.quarantined,
            "store_mb": Path(a.db).stat().st_size / MB, "profile": profiler.summary(),
            "settings": list(profiler.settings or ()), "history_s": history}


def _stage_ingest_floor(a: argparse.Namespace) -> dict[str, Any]:
    import duckdb

    from seemingly.store.core import default_memory_limit

    db = Path(a.db).with_name("floor.duckdb")
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute(f"SET memory_limit = '{default_memory_limit()}'")
    con.execute(f"SET temp_directory = '{db}.spill'")
    con.execute("SET enable_progress_bar = false")
    t = time.perf_counter()
    for name, pattern in TABLES.items():
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{a.data}/{pattern}')")
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - t
    con.close()
    size = db.stat().st_size / MB
    db.unlink()
    shutil.rmtree(f"{db}.spill", ignore_errors=True)
    return {"seconds": seconds, "store_mb": size}


def _stage_analysis(a: argparse.Namespace) -> dict[str, Any]:
    from ibis.backends.duckdb import Backend

    from seemingly.explain import hypotheses
    from seemingly.store import open_store

    store = open_store(a.db)
    raw = store.con.con
    raw.execute("SET enable_progress_bar = false")
    raw.execute("PRAGMA enable_profiling = 'no_output'")
    profiler = _Profiler()

    def timed(real: Any) -> Any:
        def run(self: Any, expr: Any, *args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            out = real(self, expr, *args, **kwargs)
            profiler.record(self.con, "ibis: " + self.compile(expr)[:200],
                            time.perf_counter() - t)
            return out
        return run

    # the pattern frame comes through to_pyarrow, the smaller results through execute
    Backend.execute = timed(Backend.execute)  # type: ignore[method-assign]
    Backend.to_pyarrow = timed(Backend.to_pyarrow)  # type: ignore[method-assign]
    if a.fresh:
        # as on a store without history cells (an older release's, or Spark): the analysis
        # joins every offer to the purchases itself
        type(store).history_cells = lambda self: None  # type: ignore[method-assign]
    t = time.perf_counter()
    res = hypotheses.fit_hypotheses(store)
    seconds = time.perf_counter() - t
    supported = sum(s for by in res.supported().values() for s in by.values())
    return {"seconds": seconds, "patterns": res.n_patterns, "supported": supported,
            "profile": profiler.summary(), "digest": _digest(res.to_dict())}


def _digest(block: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()[:16]


def _stage_analysis_floor(a: argparse.Namespace) -> dict[str, Any]:
    import duckdb

    from seemingly.store.core import default_memory_limit

    con = duckdb.connect(a.db, read_only=True)
    con.execute(f"SET memory_limit = '{default_memory_limit()}'")
    t = time.perf_counter()
    rows = con.execute(GROUP_BY).fetchall()
    return {"seconds": time.perf_counter() - t, "groups": len(rows)}


STAGES = {
    "simulate": _stage_simulate,
    "ingest": _stage_ingest,
    "ingest_floor": _stage_ingest_floor,
    "analysis": _stage_analysis,
    "analysis_floor": _stage_analysis_floor,
}


# --- the driver --------------------------------------------------------------------------------


def _dir_size(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        for root, _, files in os.walk(p):
            for f in files:
                try:
                    total += os.stat(os.path.join(root, f)).st_size
                except OSError:
                    pass
    return total


def _spill_dirs(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.is_dir() and (p.name.endswith(".spill")
                                                         or p.name.endswith(".tmp"))]


def _run(stage: str, args: list[str], root: Path) -> dict[str, Any]:
    """Run one stage in a child; its timed section, wall, CPU, peak RSS and polled spill."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as f:
        result_path = f.name
    cmd = [sys.executable, __file__, "--stage", stage, "--result", result_path, *args]
    peak = [0]
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            try:
                peak[0] = max(peak[0], _dir_size(_spill_dirs(root)))
            except OSError:
                pass

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    done.set()
    watcher.join()
    try:
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"stage {stage} failed with exit code {status}")
        out: dict[str, Any] = json.loads(Path(result_path).read_text())
    finally:
        os.unlink(result_path)
    out.update(child_wall=wall, cpu=usage.ru_utime + usage.ru_stime,
               rss_mb=usage.ru_maxrss / 1024, spill_polled_mb=peak[0] / MB)
    return out


def _spill(r: dict[str, Any]) -> float:
    reported = r.get("profile", {}).get("peak_temp", 0) / MB
    return max(reported, r.get("spill_polled_mb", 0.0))


def _row(name: str, r: dict[str, Any], floor: dict[str, Any] | None, note: str = "") -> str:
    cells = (f"  {name:<9} {r['seconds']:8.1f} {r['child_wall']:8.1f} {r['cpu']:8.1f} "
             f"{r['rss_mb']:8.0f} {_spill(r):8.0f}")
    if floor is None:
        return cells + f" {'':>8} {'':>8} {'':>8} {'':>8} {'':>6}  {note}"
    return (cells + f" {floor['seconds']:8.1f} {floor['cpu']:8.1f} {floor['rss_mb']:8.0f} "
            f"{_spill(floor):8.0f} {r['seconds'] / floor['seconds']:5.1f}x  {note}")


HEADER = ("  stage      time s   wall s    cpu s   RSS MB  spill MB  floor s  fl cpu s "
          " fl RSS  fl spill  ratio\n"
          "  (time: the timed call in the child; wall/cpu/RSS: the whole child process)")


def _profile_lines(name: str, r: dict[str, Any]) -> list[str]:
    prof = r.get("profile")
    if not prof:
        return []
    lines = [f"  profile {name}: {prof['n_statements']} statements, DuckDB peak temp dir "
             f"{prof['peak_temp'] / MB:.0f} MB, spilled {prof['spilled'] / MB:.0f} MB; slowest:"]
    for s in prof["statements"]:
        lines.append(f"    {s['s']:7.2f} s (DuckDB cpu {s['cpu']:6.1f} s)  {s['sql']}")
        for o in s["top"]:
            lines.append(f"        {o['s']:7.2f} s  {o['op']:<22} rows {o['rows']}  {o['info']}")
    return lines


def bench_size(n: int, run: int, work: Path, a: argparse.Namespace) -> dict[str, Any]:
    root = work / f"n{n}"
    data, db = root / "data", root / "store.duckdb"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    common = ["--n", str(n), "--data", str(data), "--db", str(db)]
    print(f"== {n:,} offers, run {run} (work dir {root}), load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print(HEADER, flush=True)
    try:
        sim = _run("simulate", common + (["--cprofile"] if run == 1 else []), root)
        print(_row("simulate", sim, None, f"data {sim['data_mb']:.0f} MB"
                   + (" (under cProfile)" if run == 1 else "")), flush=True)
        ing = _run("ingest", common, root)
        ing_floor = _run("ingest_floor", common, root)
        print(_row("ingest", ing, ing_floor,
                   f"{ing['accepted']:,} offers accepted, store {ing['store_mb']:.0f} MB, "
                   f"of which history cells {ing['history_s']:.1f} s; "
                   f"floor: CTAS of all 4 tables, {ing_floor['store_mb']:.0f} MB"), flush=True)
        ana = _run("analysis", common, root)
        ana_floor = _run("analysis_floor", common, root)
        print(_row("analysis", ana, ana_floor,
                   f"{ana['patterns']:,} patterns, {ana['supported']}/14 supported, "
                   f"block {ana['digest']}; floor: group by query, product"), flush=True)
        fresh = _run("analysis", [*common, "--fresh"], root)
        print(_row("analysis*", fresh, ana_floor,
                   f"* without the store's history cells (joined in the analysis), block "
                   f"{fresh['digest']}"), flush=True)
        print(f"  DuckDB settings of the ingest: memory_limit {ing['settings'][0]}, threads "
              f"{ing['settings'][1]}, temp_directory {ing['settings'][2]}", flush=True)
        for line in (_profile_lines("ingest", ing) + _profile_lines("analysis", ana)
                     + _profile_lines("analysis*", fresh)):
            print(line, flush=True)
        if sim.get("top"):
            print("  profile simulate (cProfile, top 10 by cumulative time):", flush=True)
            for f in sim["top"]:
                print(f"    {f['cumtime']:7.2f} s cum {f['tottime']:7.2f} s own "
                      f"{f['calls']:6d} calls  {f['function']}", flush=True)
        return {"simulate": sim["seconds"], "sim_cpu": sim["cpu"]}
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--offers", default="10000000", help="comma-separated sizes, e.g. 1e7,1e8")
    ap.add_argument("--workdir", default=None, help="disk folder for data and stores")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep data and stores")
    # Internal: run one stage in this (child) process.
    ap.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--cprofile", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--fresh", action="store_true", help=argparse.SUPPRESS)
    for name in ("--n", "--data", "--db"):
        ap.add_argument(name, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.stage:
        a.n = int(a.n)
        Path(a.result).write_text(json.dumps(STAGES[a.stage](a)))
        return
    import duckdb

    from seemingly.store.core import default_memory_limit

    sizes = [int(float(s)) for s in a.offers.split(",")]
    work = Path(a.workdir or tempfile.mkdtemp(prefix="seemingly-engine-"))
    print(f"bench_engine: sizes {sizes}, runs {a.runs}, {os.cpu_count()} cores, DuckDB "
          f"{duckdb.__version__}; seemingly's DuckDB settings: memory_limit "
          f"{default_memory_limit()}, threads = cores, temp_directory beside the store "
          f"(ingest: <store>.tmp-<pid>.spill, removed after; analysis: <store>.tmp), "
          f"preserve_insertion_order off except for the ingest's final writes")
    sims: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    for run in range(1, a.runs + 1):
        for n in sizes:
            sims[n].append(bench_size(n, run, work, a))
    if len(sizes) > 1:
        lo, hi = min(sizes), max(sizes)
        for run in range(a.runs):
            s_lo, s_hi = sims[lo][run], sims[hi][run]
            print(f"simulate run {run + 1}: {hi:,} offers / {lo:,} offers = "
                  f"{s_hi['simulate'] / s_lo['simulate']:.1f}x wall, "
                  f"{s_hi['sim_cpu'] / s_lo['sim_cpu']:.1f}x cpu "
                  f"(goal: at most {12 * hi / lo / 10:.0f}x)")


if __name__ == "__main__":
    main()
