"""Is there room above score fusion? The oracle gap of the relevance / outcome trade-off.

On the simulator's default world, with the same K-fold over queries, candidates, metrics
(relevance@1, level@1) and hypervolume as ``evaluate_tradeoff``, compare the frontiers of

- oracle: ranks by the simulator's true probabilities (``seemingly.simulate.oracle``):
  ``w * P(judged relevant) + (1 - w) * E[level / best level of the query]``, the Bayes
  ranking for the scalarised metric (the expectation is a Monte Carlo over the label-window
  offer counts, given the true per-offer probabilities and the realised history states);
- oracle fused (min-max): min-max fusion of the true P(judged relevant) and true expected
  level, i.e. the fusion rule with perfect models (what normalisation alone costs);
- oracle, relevance class only: the oracle with P(judged relevant) replaced by its mean over
  the pair's true relevance class (what no feature can know: which pairs are ambiguous and
  how many annotators judged them, is left out);
- fusion with each normalisation (min-max = the default, z-score, rank, none = raw scores);
- fusion (min-max) with one of the two models replaced by the truth (which model's
  estimation error the gap comes from);
- joint (linear and stochastic aggregation), as in ``evaluate_tradeoff``.

Each frontier is measured twice: on the realised labels (judged relevance, observed level:
what results.json reports) and on the expected ones (P(judged relevant), expected level /
the query's best expected level), which removes outcome noise from the comparison.
Intervals: paired percentile bootstrap over queries of the hypervolume difference.

Run: nice -n 10 .venv/bin/python bench/experiments/bench_joint_oracle.py --offers 200000 1000000
(simulated data is cached under --work, default /tmp/seemingly-joint-oracle).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seemingly.config import AnalysisSettings
from seemingly.contract import OUTCOME_COUNTS
from seemingly.ranking.models.data import ModelData, build_model_data
from seemingly.ranking.models.training import fit_models
from seemingly.ranking.scoring import CandidateMatrix, normalize_scores, ranking_metrics
from seemingly.ranking.tradeoff.pareto import dominance
from seemingly.ranking.tradeoff.run import fold_data, query_folds, split_scores
from seemingly.simulate import simulate
from seemingly.simulate.oracle import true_probabilities

NORMS = ("min-max", "z-score", "rank", "none")
MEASURES = ("realised", "expected")


def options(settings: AnalysisSettings) -> dict[str, Any]:
    """The options ``run_tradeoff`` passes to ``evaluate_tradeoff`` (same defaults)."""
    m = settings.models
    return {"min_offers": settings.min_offers, "normalization": m.normalization,
            "k": m.ndcg_k, "aggregation": m.aggregation, "replicates": m.replicates,
            "stack_scores": m.stack_scores, "folds": 3, "seed": settings.seed,
            "joint_params": {"n_estimators": m.joint_n_estimators,
                             "learning_rate": m.joint_learning_rate},
            "label_prior": m.label_prior, "eval_folds": m.eval_folds, "step": m.weight_step}


def load(n_offers: int, seed: int, work: Path, settings: AnalysisSettings
         ) -> tuple[ModelData, pd.DataFrame]:
    """The default world simulated with ``seed`` (cached), its model data built with
    ``settings`` (whose seed draws the analysis: splits, folds, model seeds)."""
    root = work / f"default-{n_offers}-{seed}"
    if not (root / "data" / "truth.json").exists():
        simulate(root / "data", "default", n_offers=n_offers, seed=seed)
    from seemingly.store import open_data

    store = open_data(root / "data", root)
    try:
        m = settings.models
        data = build_model_data(store, settings, window_split=m.window_split,
                                test_fraction=m.test_fraction, seed=settings.seed)
    finally:
        store.close()
    # DuckDB returns the grouped label-window rows in no fixed order, and LightGBM's fit
    # depends on row order: sort them so that a rerun gives the same models
    keys = ["query", "product_id", "user_bought_product", "user_bought_brand"]
    data = replace(data, outcome_rows=data.outcome_rows.sort_values(keys).reset_index(drop=True))
    return data, true_probabilities("default", n_offers=n_offers, seed=seed)


def expected_levels(data: ModelData, truth: pd.DataFrame) -> pd.DataFrame:
    """Per (query, product): P(judged relevant) and the expected label-window level of each
    outcome given the realised history states of its label-window offers."""
    keys = ["query", "product_id", "user_bought_product", "user_bought_brand"]
    rows = data.outcome_rows[[*keys, "offers"]].merge(truth, on=keys, how="left")
    missing = rows["p_purchase"].isna().mean()
    if missing > 0:
        raise RuntimeError(f"{missing:.1%} of label-window patterns have no true probability")
    rows = rows.assign(e_purchase=rows["offers"] * rows["p_purchase"],
                       e_engagement=rows["offers"] * rows["p_engagement"])
    g = rows.groupby(["query", "product_id"], as_index=False)[
        ["offers", "e_purchase", "e_engagement"]].sum()
    pj = truth.drop_duplicates(["query", "product_id"])
    # what true relevance alone says (without the pair's ambiguity and annotator count)
    pj = pj.assign(p_class=pj.groupby("true_relevant")["p_judged_relevant"].transform("mean"))[
        ["query", "product_id", "p_judged_relevant", "p_class"]]
    g = g.merge(pj, on=["query", "product_id"], how="left")
    return g.assign(exp_purchase=g["e_purchase"] / g["offers"],
                    exp_engagement=g["e_engagement"] / g["offers"])[
        ["query", "product_id", "p_judged_relevant", "p_class", "exp_purchase",
         "exp_engagement"]]


def expected_ratio(n: np.ndarray, p: np.ndarray, mask: np.ndarray, *, draws: int = 400,
                   seed: int = 7) -> np.ndarray:
    """Monte Carlo E[level / best level of the query | best > 0], level = Binomial(n, p) / n:
    the outcome term of the Bayes ranking for the realised level@1."""
    rng = np.random.default_rng(seed)
    n = np.where(mask, n, 0).astype(np.int64)
    tot, hit = np.zeros(mask.shape), np.zeros(mask.shape[0])
    for _ in range(draws // 50):
        lv = rng.binomial(n, np.where(mask, p, 0.0), size=(50, *mask.shape)) / np.maximum(n, 1)
        best = lv.max(axis=2, keepdims=True)
        ok = best > 0
        tot += np.where(ok, lv / np.where(ok, best, 1.0), 0.0).sum(axis=0)
        hit += ok[..., 0].sum(axis=0)
    return tot / np.maximum(hit, 1)[:, None]


def fuse(r: np.ndarray, o: np.ndarray, mask: np.ndarray, norm: str) -> tuple[np.ndarray, ...]:
    if norm == "none":
        return r, o
    return normalize_scores(r, mask, norm), normalize_scores(o, mask, norm)  # type: ignore[arg-type]


def split_frontiers(sc: Any, truth_c: pd.DataFrame, objective: str, weights: np.ndarray,
                    k: int, seed: int) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """measure -> method -> (relevance@1, level@1), each (weights, queries)."""
    cm, test = sc.cm, sc.test.merge(truth_c, on=["query", "product_id"], how="left")
    pj, el = cm.scatter(test, "p_judged_relevant"), cm.scatter(test, f"exp_{objective}")
    n_off, pc = cm.scatter(test, "offers"), cm.scatter(test, "p_class")
    cm_exp = CandidateMatrix(cm.queries, cm.mask, pj, el, cm.product_ids)
    best = np.where(cm.mask, el, 0).max(axis=1, keepdims=True)
    el_ratio = np.divide(el, best, out=np.zeros_like(el), where=best > 0)
    ratio = expected_ratio(n_off, el, cm.mask, seed=seed)
    scores: dict[str, list[np.ndarray]] = {}
    for norm in NORMS:
        r, o = fuse(sc.relevance, sc.outcome, cm.mask, norm)
        scores[f"fusion {norm}"] = [w * r + (1 - w) * o for w in weights]
    for agg, per_w in sc.joint.items():
        scores[f"joint {agg}"] = [per_w[float(w)] for w in weights]
    r, o = fuse(pj, el, cm.mask, "min-max")
    scores["oracle fused min-max"] = [w * r + (1 - w) * o for w in weights]
    # which single model's estimation error costs the hypervolume: swap one for the truth
    r, o = fuse(pj, sc.outcome, cm.mask, "min-max")
    scores["fusion min-max, true relevance"] = [w * r + (1 - w) * o for w in weights]
    r, o = fuse(sc.relevance, el, cm.mask, "min-max")
    scores["fusion min-max, true outcome"] = [w * r + (1 - w) * o for w in weights]
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for measure, target, outcome_term in (("realised", cm, ratio), ("expected", cm_exp,
                                                                      el_ratio)):
        s = {**scores, "oracle": [w * pj + (1 - w) * outcome_term for w in weights],
             "oracle, relevance class only": [w * pc + (1 - w) * outcome_term
                                              for w in weights]}
        res = {}
        for name, mats in s.items():
            met = [ranking_metrics(m, target, k) for m in mats]
            res[name] = (np.stack([x[0] for x in met]), np.stack([x[1] for x in met]))
        out[measure] = res
    return out


def run(n_offers: int, seed: int, work: Path, n_boot: int, *,
        aggregations: tuple[str, ...] = ("linear", "stochastic"),
        analysis_seed: int | None = None, **joint: Any) -> None:
    """``joint``: overrides of the joint model's options (joint_objective, label_prior);
    ``analysis_seed``: seed of splits, folds and models (default: the world's seed)."""
    settings = AnalysisSettings(seed=seed if analysis_seed is None else analysis_seed)
    o = {**options(settings), **joint}
    t0 = time.perf_counter()
    data, truth = load(n_offers, seed, work, settings)
    truth_c = expected_levels(data, truth)
    weights = np.round(np.arange(0.0, 1.0 + o["step"] / 2, o["step"]), 10)
    fold_of = query_folds(data, o["eval_folds"], settings.seed)
    parts = []
    for f in range(o["eval_folds"]):
        d = fold_data(data, fold_of, f)
        scs = split_scores(d, fit_models(d, seed=settings.seed), weights, o,
                           aggregations=aggregations)
        parts.append({obj: split_frontiers(sc, truth_c, obj, weights, o["k"],
                                           settings.seed + f)
                      for obj, sc in scs.items()})
    print(f"\n=== default world, {n_offers:,} offers, seed {seed}, analysis seed "
          f"{settings.seed}: "
          f"{data.candidates['query'].nunique():,} queries, {o['eval_folds']}-fold over "
          f"queries, {time.perf_counter() - t0:.0f} s ===")
    for obj in OUTCOME_COUNTS:
        for measure in MEASURES:
            report({m: (np.concatenate([p[obj][measure][m][0] for p in parts], axis=1),
                        np.concatenate([p[obj][measure][m][1] for p in parts], axis=1))
                    for m in parts[0][obj][measure]}, f"{obj}, measured on {measure} labels",
                   n_boot, settings.seed)


Frontier = tuple[np.ndarray, np.ndarray]


def compare(base: Frontier, other: Frontier, n_boot: int, seed: int
            ) -> tuple[float, float, float, float, float]:
    """(hypervolume of other, other - base, interval low, high, share of base dominated)."""
    d: dict[str, Any] = dominance(base, other, n_boot=n_boot, seed=seed)
    lo, hi = d["difference_ci"]
    return (d["joint_hypervolume"], d["difference"], lo, hi,
            d["share_fusion_points_dominated"])


def report(fr: dict[str, Frontier], title: str, n_boot: int, seed: int) -> None:
    rows, hv = [], {}
    for m, f in fr.items():
        h, diff, lo, hi, dom = compare(fr["fusion min-max"], f, n_boot, seed)
        hv[m] = h
        rows.append({"method": m, "hypervolume": h, "diff_vs_fusion_minmax": diff,
                     "ci_lo": lo, "ci_hi": hi, "share_fusion_dominated": dom,
                     "best_level": f[1].mean(1).max(), "best_relevance": f[0].mean(1).max()})
    print(f"\n{title} ({fr['oracle'][0].shape[1]:,} held-out queries):")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    best = max((f"fusion {n}" for n in NORMS), key=lambda m: hv[m])
    for m in ("oracle", "oracle, relevance class only",
              *(m for m in fr if m.startswith("joint"))):
        _, diff, lo, hi, _ = compare(fr[best], fr[m], n_boot, seed)
        verdict = ""
        if m.startswith("oracle"):
            verdict = " -> room above fusion" if lo > 0 else " -> NO room (within noise)"
        print(f"{m} - best fusion ({best}): {diff:+.4f} [{lo:+.4f}, {hi:+.4f}]{verdict}")
    _, diff, lo, hi, _ = compare(fr["oracle"], fr["oracle fused min-max"], n_boot, seed)
    print(f"structural cost of min-max fusion with perfect models (oracle fused - oracle): "
          f"{diff:+.4f} [{lo:+.4f}, {hi:+.4f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--offers", type=int, nargs="+", default=[200_000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/seemingly-joint-oracle"))
    ap.add_argument("--analysis-seeds", type=int, nargs="+", default=[None],
                    help="repeat the analysis (splits, folds, models) with these seeds on "
                    "the same world: how much the frontiers move with the model fit")
    ap.add_argument("--aggregations", nargs="+", default=["linear", "stochastic"])
    ap.add_argument("--joint-objective", default="lambdarank",
                    choices=["lambdarank", "pointwise"])
    ap.add_argument("--label-prior", type=float, default=None,
                    help="joint label shrinkage (default: the settings' label_prior)")
    a = ap.parse_args()
    joint: dict[str, Any] = {"joint_objective": a.joint_objective}
    if a.label_prior is not None:
        joint["label_prior"] = a.label_prior
    print(f"joint options: {joint}, aggregations {a.aggregations}")
    for n in a.offers:
        for s in a.analysis_seeds:
            run(n, a.seed, a.work, a.n_boot, aggregations=tuple(a.aggregations),
                analysis_seed=s, **joint)


if __name__ == "__main__":
    main()
