"""Scoring runs: per-query relevance@1, level@1 and NDCG@k with the study's own evaluator,
query-bootstrap intervals, judged coverage, and Holm-corrected paired tests between runs.

Each run is turned into the study's padded candidate matrix: per query, the run's ranked
products (top k) followed by the pool's candidates the run did not rank. The unranked ones
count towards the ideal (the best level, the ideal DCG) but earn nothing, and a query the run
does not rank at all scores 0 on every metric (trec_eval's ``-c``). The metrics then come from
:class:`~seemingly.ranking.scoring.RankingEvaluator`, so a run that ranks exactly the pool
gets exactly the numbers of the trade-off's sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from seemingly.contract import OUTCOME_COUNTS, Outcome
from seemingly.ranking.evaluate.judgments import Judgments
from seemingly.ranking.evaluate.runs import Run
from seemingly.ranking.scoring import CandidateMatrix, RankingEvaluator
from seemingly.results.evaluate import (
    EVALUATION_METRICS,
    Estimate,
    EvaluationResults,
    EvaluationSettings,
    FrontierPosition,
    PairedTest,
    RunCoverage,
    RunEvaluation,
)

__all__ = ["PerQuery", "score_run", "evaluate_runs", "bootstrap_ci"]


@dataclass(frozen=True)
class PerQuery:
    """Per-query values of one run on one pool's queries (arrays shaped (queries,)).

    ``judged_at_1`` / ``judged_at_k`` are NaN where the run ranks nothing for the query.
    """

    queries: np.ndarray
    relevance_at_1: np.ndarray
    level_at_1: np.ndarray
    ndcg: np.ndarray
    ranked: np.ndarray
    judged_at_1: np.ndarray
    judged_at_k: np.ndarray


def _top(run: pd.DataFrame, k: int) -> pd.DataFrame:
    """The run's rows by query, best first, top k each. Ties go by product_id, ascending:
    the study's evaluator ranks tied candidates in that order (they sit sorted by product in
    its candidate matrix), so its exported runs score as it measured them; trec_eval would
    take product_id descending. Either way the result never depends on row order."""
    r = run.sort_values(["query", "score", "product_id"], ascending=[True, False, True],
                        kind="mergesort")
    return r[r.groupby("query", sort=False).cumcount() < k]


def score_run(run: pd.DataFrame, pool: pd.DataFrame, k: int, *,
              judged_only: bool = False) -> PerQuery:
    """Per-query metrics of ``run`` (query, product_id, score) against ``pool`` (query,
    product_id, relevant, and optionally level) on the pool's queries."""
    pool = pool if "level" in pool else pool.assign(level=0.0)
    queries = np.array(sorted(pool["query"].unique()), dtype=object)
    keys = ["query", "product_id"]
    r = run[run["query"].isin(queries)]
    r = r.merge(pool[keys].assign(_judged=1.0), on=keys, how="left")
    r["_judged"] = r["_judged"].notna()
    top = _top(r, k)
    first = top.groupby("query", sort=False).head(1)
    j1 = first.set_index("query")["_judged"].astype(float).reindex(queries).to_numpy()
    jk = top.groupby("query")["_judged"].mean().reindex(queries).to_numpy()
    if judged_only:  # as ir_measures' judged_only: unjudged products leave the ranking
        top = _top(r[r["_judged"]], k)
    ranked = top[keys].assign(_pos=top.groupby("query", sort=False).cumcount())
    rows = pool[keys + ["relevant", "level"]].merge(ranked, on=keys, how="outer")
    rows[["relevant", "level"]] = rows[["relevant", "level"]].fillna(0.0)
    rows["_ranked"] = rows["_pos"].notna().astype(float)
    # ranked products first in run order, then the unranked candidates (any fixed order)
    rows = rows.sort_values(["query", "_ranked", "_pos", "product_id"],
                            ascending=[True, False, True, True], kind="mergesort")
    rows = rows.reset_index(drop=True)
    rows["_order"] = -rows.groupby("query").cumcount().astype(float)
    cm = CandidateMatrix.from_frame(rows)
    ev = RankingEvaluator(cm, k)
    earns = cm.scatter(rows, "_ranked")
    # the ideal (best level, ideal DCG) came from every candidate; gains only from ranked ones
    ev.rel = ev.rel * earns
    ev.level = ev.level * earns
    rel1, lvl1, ndcg = ev.metrics(cm.scatter(rows, "_order"))
    has = np.asarray(earns.any(axis=1), dtype=bool)
    zero = np.zeros(len(queries))
    return PerQuery(queries, np.where(has, rel1, zero), np.where(has, lvl1, zero),
                    np.where(has, ndcg, zero), has, j1, jk)


def bootstrap_ci(values: np.ndarray, *, n_boot: int, seed: int, confidence: float
                 ) -> np.ndarray:
    """Percentile bootstrap interval of the mean of each row of ``values`` (rows x
    queries), resampling queries; every row sees the same resamples (seeded), so intervals
    of differences are paired. Shape (rows, 2)."""
    v = np.atleast_2d(np.asarray(values, float))
    nq = v.shape[1]
    if n_boot == 0 or nq == 0:
        return np.full((v.shape[0], 2), np.nan)
    rng = np.random.default_rng(seed)
    means = np.empty((v.shape[0], n_boot))
    # resample counts in chunks: one (chunk x queries) matrix at a time bounds the memory
    chunk = max(1, min(n_boot, 2_000_000 // nq))
    for start in range(0, n_boot, chunk):
        c = min(chunk, n_boot - start)
        idx = rng.integers(0, nq, (c, nq)) + np.arange(c)[:, None] * nq
        counts = np.bincount(idx.ravel(), minlength=c * nq).reshape(c, nq)
        means[:, start:start + c] = v @ (counts.T / nq)
    a = (1 - confidence) / 2
    return np.quantile(means, [a, 1 - a], axis=1).T


class _Intervals:
    """Collects per-query vectors by query set, then bootstraps each set in one pass."""

    def __init__(self, n_boot: int, seed: int, confidence: float) -> None:
        self.opts = {"n_boot": n_boot, "seed": seed, "confidence": confidence}
        self.rows: dict[str, list[tuple[object, np.ndarray]]] = {}
        self.ci: dict[object, tuple[float, float]] = {}

    def add(self, query_set: str, key: object, v: np.ndarray) -> None:
        self.rows.setdefault(query_set, []).append((key, v))

    def run(self) -> None:
        for rows in self.rows.values():
            ci = bootstrap_ci(np.stack([v for _, v in rows]), **self.opts)  # type: ignore[arg-type]
            self.ci.update({k: (float(lo), float(hi)) for (k, _), (lo, hi) in zip(
                rows, ci, strict=True)})

    def estimate(self, key: object, v: np.ndarray) -> Estimate:
        return Estimate(value=float(v.mean()) if len(v) else np.nan, ci=self.ci[key])


def paired_t_p(diffs: np.ndarray) -> np.ndarray:
    """Two-sided paired t-test p-value of each row of per-query differences (as
    ``scipy.stats.ttest_rel``), vectorised over rows. A row without spread has no t: p is 1
    when it is all zeros (identical runs) and 0 for a constant nonzero shift."""
    from scipy import stats

    d = np.atleast_2d(np.asarray(diffs, float))
    n = d.shape[1]
    mean = d.mean(axis=1)
    sd = d.std(axis=1, ddof=1) if n > 1 else np.zeros(len(d))
    flat = ~(sd > 1e-12 * np.maximum(1.0, np.abs(mean)))
    t = np.divide(mean, sd / np.sqrt(max(n, 1)), out=np.zeros(len(d)), where=~flat)
    p = 2 * stats.t.sf(np.abs(t), max(n - 1, 1))
    return np.where(flat, np.where(mean == 0, 1.0, 0.0), p)


def evaluate_runs(runs: Sequence[Run], judgments: Judgments, *, k: int = 10,
                  judged_only: bool = False, n_boot: int = 1000, confidence: float = 0.95,
                  alpha: float = 0.05, seed: int = 7, min_offers: int = 5,
                  window_split: float = 0.5, queries: str = "all") -> EvaluationResults:
    """Measure every run on the judgments; compare every pair of runs.

    Parameters
    ----------
    k : NDCG cut-off (the study's ``models.ndcg_k``).
    judged_only : drop products outside the pool before measuring.
    min_offers, window_split, queries : recorded in the settings (how ``judgments`` was built).

    Returns
    -------
    EvaluationResults
        ``runs[tag]`` with relevance@1 and NDCG@k on every evaluated query, each objective's
        level@1 on its own queries, the run's position on each frontier, its coverage; and
        ``comparisons``: b - a per metric with Holm-adjusted paired t-test p-values.
    """
    tags = [r.tag for r in runs]
    dup = sorted({t for t in tags if tags.count(t) > 1})
    if dup:
        raise ValueError(f"runs must have distinct tags; {dup} appear more than once "
                         "(rename the TREC tag or the file)")
    rel_pool = judgments.relevance_pool()
    # the query set each metric is measured on (the level metrics: their objective's)
    metric_set = {"relevance_at_1": "relevance", "ndcg_at_k": "relevance",
                  **{f"{o}_level_at_1": o for o in OUTCOME_COUNTS}}
    iv = _Intervals(n_boot, seed, confidence)
    per_metric: dict[str, dict[str, np.ndarray]] = {}
    points: dict[str, dict[Outcome, PerQuery]] = {}
    bases: dict[str, PerQuery] = {}
    for run in runs:
        base = score_run(run.frame, rel_pool, k, judged_only=judged_only)
        vals = {"relevance_at_1": base.relevance_at_1, "ndcg_at_k": base.ndcg}
        points[run.tag] = {}
        for objective in OUTCOME_COUNTS:
            pq = score_run(run.frame, judgments.pools[objective], k, judged_only=judged_only)
            vals[f"{objective}_level_at_1"] = pq.level_at_1
            points[run.tag][objective] = pq
            for name, v in (("relevance_at_1", pq.relevance_at_1),
                            ("level_at_1", pq.level_at_1), ("ndcg_at_k", pq.ndcg)):
                iv.add(objective, (run.tag, objective, name), v)
        for m in EVALUATION_METRICS:
            iv.add(metric_set[m], (run.tag, m), vals[m])
        per_metric[run.tag] = vals
        bases[run.tag] = base
    pairs = list(combinations(per_metric, 2))
    for a, b in pairs:
        for m in EVALUATION_METRICS:
            iv.add(metric_set[m], (a, b, m), per_metric[b][m] - per_metric[a][m])
    iv.run()
    out: dict[str, RunEvaluation] = {}
    for run in runs:
        base, vals = bases[run.tag], per_metric[run.tag]
        frontier = {o: FrontierPosition(
            relevance_at_1=iv.estimate((run.tag, o, "relevance_at_1"), pq.relevance_at_1),
            level_at_1=iv.estimate((run.tag, o, "level_at_1"), pq.level_at_1),
            ndcg_at_k=iv.estimate((run.tag, o, "ndcg_at_k"), pq.ndcg),
            n_queries=len(pq.queries)) for o, pq in points[run.tag].items()}
        ranked = base.ranked
        coverage = RunCoverage(
            rows=len(run.frame), queries=len(base.queries), queries_ranked=int(ranked.sum()),
            judged_at_1=float(np.nanmean(base.judged_at_1)) if ranked.any() else np.nan,
            judged_at_k=float(np.nanmean(base.judged_at_k)) if ranked.any() else np.nan,
            rows_outside=int((~run.frame["query"].isin(set(base.queries))).sum()))
        out[run.tag] = RunEvaluation(
            source=run.source, frontier=frontier, coverage=coverage,
            **{m: iv.estimate((run.tag, m), vals[m]) for m in EVALUATION_METRICS})
    comparisons = _compare(per_metric, pairs, iv, alpha)
    settings = EvaluationSettings(k=k, judged_only=judged_only, min_offers=min_offers,
                                  window_split=window_split, queries=queries,  # type: ignore[arg-type]
                                  n_boot=n_boot, confidence=confidence, alpha=alpha, seed=seed)
    counts: dict[str, int] = {"relevance": int(rel_pool["query"].nunique())}
    counts.update({o: int(judgments.pools[o]["query"].nunique()) for o in OUTCOME_COUNTS})
    return EvaluationResults(runs=out, comparisons=comparisons, queries=counts,
                             settings=settings)


def _compare(per_metric: dict[str, dict[str, np.ndarray]], pairs: list[tuple[str, str]],
             iv: _Intervals, alpha: float) -> list[PairedTest]:
    """Every pair of runs on every metric; Holm over the whole family of tests."""
    from seemingly.explain.hypotheses.stats import holm

    keys = [(a, b, m) for a, b in pairs for m in EVALUATION_METRICS]
    p_values: dict[tuple[str, str, str], float] = {}
    for m in EVALUATION_METRICS:  # one vectorised test per metric (one query set each)
        ks = [key for key in keys if key[2] == m]
        if ks:
            d = np.stack([per_metric[b][m] - per_metric[a][m] for a, b, _ in ks])
            p_values.update(zip(ks, paired_t_p(d).tolist(), strict=True))
    rows = [(a, b, m, float((per_metric[b][m] - per_metric[a][m]).mean()), iv.ci[(a, b, m)],
             p_values[(a, b, m)]) for a, b, m in keys]
    adjusted = holm([r[5] for r in rows]) if rows else np.array([])
    return [PairedTest(a=a, b=b, metric=m, difference=d, ci=ci, p_value=p,  # type: ignore[arg-type]
                       p_adjusted=float(pa), significant=bool(pa <= alpha))
            for (a, b, m, d, ci, p), pa in zip(rows, adjusted, strict=True)]
