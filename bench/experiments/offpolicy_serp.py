"""Do the off-policy estimates of a ranker's purchase level@1 recover its true value?

On the ranked-list world (``--world serp``: 10 results per request, a Plackett-Luce logging
policy whose propensities are logged, examination 1 / position), the trade-off's fusion
sweep is run as the study runs it, and three of its rankers are evaluated: relevance-only
(weight 1), outcome-only (weight 0) and one fusion weight (0.5). For each, the IPS, SNIPS
and DR estimates of purchase (engagement) level@1 on the held-out queries' label-window
requests (``seemingly.ranking.tradeoff.offpolicy``, the numbers results.json's
``off_policy`` block holds) are printed next to:

- truth: the simulator's replay of that ranker over the same requests: the mean over the
  requests of the true probability (``seemingly.simulate.oracle``) that the user buys
  (engages with) the ranker's first product, shown at position 1 (examination
  ``examination_curve(world)[0]``), given the user's history of that product and its brand
  just before the request. (A replay that changed purchases would also change later
  histories; that second-order feedback is left out.)
- naive: what the logs say without propensities: the mean over the same requests of the
  first product's label-window level over all positions (purchases / offers), which
  understates a product shown low in the list.

Run: nice -n 10 /work/main/.venv/bin/python -m bench.experiments.offpolicy_serp --seeds 1 2 3
(simulated data and stores go under --work, default /tmp/seemingly-offpolicy-serp).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from seemingly.config import AnalysisSettings
from seemingly.contract import OUTCOME_COUNTS
from seemingly.ranking.tradeoff import fit_tradeoff_models, run_tradeoff, tradeoff_data
from seemingly.ranking.tradeoff.offpolicy import frontier_off_policy
from seemingly.results.offpolicy import fusion_ranker
from seemingly.simulate import simulate
from seemingly.simulate.config import WorldConfig
from seemingly.simulate.oracle import examination_curve, true_probabilities
from seemingly.store import open_data

__all__ = ["RANKERS", "replay_truth", "run_seed"]

#: ranker name -> fusion relevance weight
RANKERS = {"relevance-only": 1.0, "outcome-only": 0.0, "fusion 0.5": 0.5}
_P = {"purchase": "p_purchase", "engagement": "p_engagement"}


def _first_buys(store, key: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Earliest purchase time per (user, ``key``) from orders and purchased offers."""
    offers = store.table("offers")
    bought = offers.filter(offers.purchased).select("user_id", "product_id", "timestamp")
    if store.has("orders"):
        bought = bought.union(store.table("orders").select("user_id", "product_id",
                                                           "timestamp"))
    frame = bought.to_pandas()
    if key == "brand":
        brands = store.table("products").select("product_id", "brand").to_pandas()
        frame = frame.merge(brands, on="product_id").dropna(subset=["brand"])
    return frame.groupby(["user_id", key], as_index=False)["timestamp"].min()


def replay_truth(store, picks: pd.DataFrame, since: object,  # type: ignore[no-untyped-def]
                 world: WorldConfig | str, n_offers: int, seed: int) -> pd.DataFrame:
    """True level@1 per (weight, objective) of the ``picks`` (query, weight, product_id) over
    the label-window requests of their queries: columns weight, objective, truth, naive."""
    o = store.table("offers")
    req = o.filter((o.position == 1) & (o.timestamp >= since)).select(
        "request_id", "user_id", "query", "timestamp").to_pandas()
    req = req[req["query"].isin(picks["query"].unique())]
    products = store.table("products").select("product_id", "brand").to_pandas()
    la = o.filter(o.timestamp >= since)
    after = la.group_by(["query", "product_id"]).aggregate(
        offers=la.count(), purchases=la.purchased.cast("int64").sum(),
        engagements=la.engaged.cast("int64").sum()).to_pandas()
    true = true_probabilities(world, n_offers=n_offers, seed=seed)
    exam = examination_curve(world)
    top = 1.0 if exam is None else float(exam[0])  # position 1 is always read in a cascade
    first_p = _first_buys(store, "product_id").rename(columns={"timestamp": "t_product"})
    first_b = _first_buys(store, "brand").rename(columns={"timestamp": "t_brand"})
    rows = []
    for w, pk in picks.groupby("weight"):
        r = req.merge(pk[["query", "product_id"]], on="query").merge(products, on="product_id",
                                                                    how="left")
        r = r.merge(first_p, on=["user_id", "product_id"], how="left").merge(
            first_b, on=["user_id", "brand"], how="left")
        r["user_bought_product"] = (r["t_product"] < r["timestamp"]).astype(float)
        r["user_bought_brand"] = (r["t_brand"] < r["timestamp"]).astype(float)
        r = r.merge(true, on=["query", "product_id", "user_bought_product",
                              "user_bought_brand"], how="left")
        r = r.merge(after, on=["query", "product_id"], how="left")
        for objective, count in OUTCOME_COUNTS.items():
            if r[_P[objective]].isna().any():
                raise ValueError(f"{int(r[_P[objective]].isna().sum())} requests' picks have "
                                 "no true probability: is the store the world's simulation?")
            naive = (r[count] / r["offers"]).fillna(0.0)
            rows.append({"weight": float(w), "objective": objective,
                         "truth": top * float(r[_P[objective]].mean()),
                         "naive": float(naive.mean()), "requests": len(r)})
    return pd.DataFrame(rows)


def run_seed(seed: int, *, n_offers: int, work: Path, n_boot: int = 1000,
             n_estimators: int = 100) -> pd.DataFrame:
    """Simulate the serp world, run the trade-off, and compare each ranker's estimates
    with its replayed truth: one row per (ranker, objective, estimator)."""
    data_dir = work / f"serp-{n_offers}-{seed}"
    if not (data_dir / "truth.json").exists():
        simulate(data_dir, "serp", n_offers=n_offers, seed=seed)
    store = open_data(data_dir, work / f"store-{n_offers}-{seed}")
    # the world the data was simulated with (not today's serp.toml): the replay must match it
    world = WorldConfig.model_validate(
        json.loads((data_dir / "truth.json").read_text())["config"])
    settings = AnalysisSettings.model_validate({"seed": seed, "models": {
        "n_estimators": n_estimators, "joint_n_estimators": 20, "weight_step": 0.5,
        "n_boot": n_boot, "eval_folds": 3}})
    t0, c0 = time.perf_counter(), time.process_time()
    data = tradeoff_data(store, settings)
    trained = fit_tradeoff_models(data, settings)
    result, _ = run_tradeoff(store, settings, data, trained)
    cost = {"tradeoff_wall": time.perf_counter() - t0, "tradeoff_cpu": time.process_time() - c0}
    t0, c0 = time.perf_counter(), time.process_time()
    cells = _label_cells(store, data)
    ests = {o: frontier_off_policy(getattr(result, o).fusion_picks, cells, o, n_boot=n_boot,
                                   seed=seed) for o in OUTCOME_COUNTS}
    cost.update(offpolicy_wall=time.perf_counter() - t0,
                offpolicy_cpu=time.process_time() - c0)
    rows = []
    for objective in OUTCOME_COUNTS:
        picks = getattr(result, objective).fusion_picks
        est = ests[objective]
        truth = replay_truth(store, picks, data.cutoff.to_pydatetime(), world, n_offers,
                             seed).query("objective == @objective").set_index("weight")
        for name, w in RANKERS.items():
            for e in est[fusion_ranker(w)].estimates.values():
                rows.append({"seed": seed, "ranker": name, "objective": objective,
                             "estimator": e.estimator, "estimate": e.value, "low": e.ci[0],
                             "high": e.ci[1], "ess": e.ess, "truth": truth.loc[w, "truth"],
                             "naive": truth.loc[w, "naive"], "covered": e.covers(
                                 truth.loc[w, "truth"])})
    store.close()
    return pd.DataFrame(rows).assign(**cost)


def _label_cells(store, data) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from seemingly.explain.offpolicy import position_one_cells

    return position_one_cells(store, since=data.cutoff.to_pydatetime())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--offers", type=int, default=300_000)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/seemingly-offpolicy-serp"))
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    parts = []
    for seed in a.seeds:
        t0, c0 = time.perf_counter(), time.process_time()
        df = run_seed(seed, n_offers=a.offers, work=a.work, n_boot=a.n_boot)
        parts.append(df)
        print(f"seed {seed}: {time.perf_counter() - t0:.0f} s wall, "
              f"{time.process_time() - c0:.0f} s CPU (shared machine: timings are noisy); "
              f"trade-off {df.tradeoff_wall.iloc[0]:.1f} s wall / {df.tradeoff_cpu.iloc[0]:.1f} "
              f"s CPU, off-policy estimates of its frontier {df.offpolicy_wall.iloc[0]:.2f} s "
              f"wall / {df.offpolicy_cpu.iloc[0]:.2f} s CPU")
    out = pd.concat(parts, ignore_index=True)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_rows", 500)
    show = out.assign(interval=[f"[{lo:.4f}, {hi:.4f}]" for lo, hi in zip(out.low, out.high,
                                                                           strict=True)])
    print(show[["seed", "objective", "ranker", "estimator", "estimate", "interval", "truth",
                "naive", "ess", "covered"]].round(4).to_string(index=False))
    cov = out.groupby(["objective", "estimator"])["covered"].agg(["sum", "count"])
    print("\nintervals covering the replayed truth (per objective and estimator):")
    print(cov.to_string())
    naive_err = (out.drop_duplicates(["seed", "objective", "ranker"])
                 .assign(err=lambda d: d.naive - d.truth).groupby("objective")["err"].mean())
    print("\nmean naive - truth (what ignoring position costs):")
    print(naive_err.round(4).to_string())
    print("\nmean |estimate - truth| per estimator:")
    print(out.assign(err=(out.estimate - out.truth).abs()).groupby(
        ["objective", "estimator"])["err"].mean().round(4).to_string())


if __name__ == "__main__":
    main()
