"""The trade-off block: fusion of separately trained models, measured on held-out queries
with per-query metrics and frontiers; the factor ablation (:mod:`.ablation`) and, when asked
for, the joint model, each compared with fusion by a paired bootstrap.

Evaluation is grouped by query. With ``eval_folds=1`` the data's train/test split is used;
with K > 1 every query is held out once (K-fold over queries, models refitted per fold), so
all queries count towards the frontiers and the intervals are narrower.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from seemingly.contract import OUTCOME_COUNTS
from seemingly.ranking.features import FEATURE_NAMES
from seemingly.ranking.models.data import ModelData
from seemingly.ranking.models.estimators import OutcomeModel, RelevanceModel
from seemingly.ranking.models.training import TrainedModels
from seemingly.ranking.scoring import CandidateMatrix, normalize_scores, ranking_metrics
from seemingly.ranking.tradeoff.ablation import (
    FACTOR_GROUPS,
    TEXT_MATCH,
    VARIANTS,
    VariantComparison,
    compare_variants,
    fit_variants,
)
from seemingly.ranking.tradeoff.joint import fit_joint_models
from seemingly.ranking.tradeoff.pareto import dominance, pareto_mask
from seemingly.ranking.tradeoff.sweep import SweepResult, sweep, top_picks
from seemingly.results.ranking import (
    AblationBlock,
    AblationVariant,
    Dominance,
    ObjectiveAblation,
    TradeoffBlock,
    TradeoffPoint,
    TradeoffSettings,
)
from seemingly.results.ranking import ObjectiveTradeoff as ObjectiveTradeoffBlock

__all__ = ["TradeoffResult", "evaluate_tradeoff", "split_scores", "SplitScores", "query_folds",
           "fold_data"]

FEATURES = list(FEATURE_NAMES)
STACKED = ["relevance_score", "outcome_score", "relevance_norm", "outcome_norm"]


def _points(s: SweepResult, objective: str) -> list[TradeoffPoint]:
    m = s.means()
    front = pareto_mask(m[["relevance_at_1", "level_at_1"]].to_numpy())
    key = f"{objective}_level_at_1"
    return [TradeoffPoint(weight=float(w), relevance_at_1=float(r), ndcg_at_k=float(n),
                          on_frontier=bool(f), **{key: float(lv)})
            for w, r, lv, n, f in zip(m["weight"], m["relevance_at_1"], m["level_at_1"],
                                      m["ndcg_at_k"], front, strict=True)]


@dataclass(frozen=True)
class ObjectiveTradeoff:
    """One objective's fusion sweep and, when the joint model ran, its sweep and the
    bootstrap comparison of the two frontiers (per-query metrics kept for benches)."""

    fusion: SweepResult
    joint: SweepResult | None
    dominance: dict[str, Any] | None
    objective: str
    #: the held-out candidates of every fold with the full models' raw scores (HELD_OUT
    #: columns): the study exports the fused rankings from it (tables/trec)
    held_out: pd.DataFrame | None = None
    # what each fusion weight puts first per held-out query: query, weight, product_id and
    # outcome_score (the outcome model's level); the off-policy estimates replay these
    fusion_picks: pd.DataFrame | None = None

    def to_block(self) -> ObjectiveTradeoffBlock:
        if self.joint is None or self.dominance is None:
            return ObjectiveTradeoffBlock(fusion=_points(self.fusion, self.objective),
                                          k=self.fusion.k)
        return ObjectiveTradeoffBlock(fusion=_points(self.fusion, self.objective),
                                      joint=_points(self.joint, self.objective),
                                      dominance=Dominance(**self.dominance), k=self.fusion.k)


@dataclass(frozen=True)
class Ablation:
    """Per objective: each variant's sweep (per-query metrics) and its comparison with
    ``full``; ``variants`` names each variant's features."""

    objectives: dict[str, tuple[dict[str, SweepResult], dict[str, VariantComparison]]]
    variants: dict[str, tuple[str, ...]]
    n_boot: int

    def to_block(self) -> AblationBlock:
        blocks = {}
        for objective, (sweeps, comp) in self.objectives.items():
            blocks[objective] = ObjectiveAblation({
                v: AblationVariant(
                    features=list(self.variants[v]),
                    dropped=[f for f in FEATURES if f not in self.variants[v]],
                    hypervolume=c.hypervolume, difference=c.difference,
                    difference_ci=c.difference_ci, level_gain=c.level_gain,
                    level_gain_ci=c.level_gain_ci, at_relevance=c.at_relevance,
                    frontier=_points(sweeps[v], objective))
                for v, c in comp.items()})
        return AblationBlock(purchase=blocks["purchase"], engagement=blocks["engagement"],
                             groups={g: list(c) for g, c in FACTOR_GROUPS.items()},
                             text_match=list(TEXT_MATCH), n_boot=self.n_boot)


@dataclass(frozen=True)
class TradeoffResult:
    """Both objectives' trade-offs and the ablation; :meth:`to_block` is the ``tradeoff``
    block."""

    purchase: ObjectiveTradeoff
    engagement: ObjectiveTradeoff
    settings: dict[str, Any]
    ablation: Ablation | None = None

    def to_block(self) -> TradeoffBlock:
        """The typed ``tradeoff`` block of :class:`seemingly.results.Results`."""
        kw = {} if self.ablation is None else {"ablation": self.ablation.to_block()}
        return TradeoffBlock(purchase=self.purchase.to_block(),
                             engagement=self.engagement.to_block(),
                             settings=TradeoffSettings(**self.settings), **kw)


def eligible(c: pd.DataFrame, split: str, count: str, min_offers: int) -> pd.DataFrame:
    """Judged candidates with a level (>= min_offers label-window offers) in queries with at
    least two of them and a positive best level; adds ``level`` and ``outcome_label``."""
    f = c[(c["split"] == split) & c["relevant"].notna() & (c["offers"] >= min_offers)]
    f = f.assign(level=f[count] / f["offers"], _row=f.index)
    g = f.groupby("query")["level"]
    f = f[(g.transform("size") >= 2) & (g.transform("max") > 0)]
    f = f.assign(outcome_label=f["level"] / f.groupby("query")["level"].transform("max"))
    return f.sort_values(["query", "product_id"]).reset_index(drop=True)


def crossfit_scores(data: ModelData, *, folds: int = 3, seed: int = 7,
                    params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Out-of-fold relevance, purchase and engagement scores of the train queries' candidates.

    The joint model may use the single-objective models' scores as features; on training
    queries those scores must come from models that did not see the query (K folds over
    train queries), or the joint model learns to trust overfitted scores.
    """
    c = data.candidates
    train = c[c["split"] == "train"]
    queries = np.array(sorted(train["query"].unique()))
    fold_of = pd.Series(np.random.default_rng(seed).integers(0, folds, len(queries)),
                        index=queries)
    cf = train["query"].map(fold_of).to_numpy()
    rows = data.outcome_rows[(data.outcome_rows["split"] == "train")
                             & (data.outcome_rows["offers"] > 0)]
    rf = rows["query"].map(fold_of).to_numpy()
    out = pd.DataFrame(np.nan, index=train.index,
                       columns=["relevance", *OUTCOME_COUNTS])
    p = {**(params or {}), "seed": seed}
    for f in range(folds):
        held = train[cf == f]
        fit_j = train[(cf != f) & train["relevant"].notna()]
        rel = RelevanceModel(**p).fit(fit_j[FEATURES], fit_j["relevant"].to_numpy())
        out.loc[held.index, "relevance"] = rel.predict(held[FEATURES])
        fr = rows[rf != f]
        for name, col in OUTCOME_COUNTS.items():
            om = OutcomeModel(**p).fit(fr[FEATURES], (fr[col] / fr["offers"]).to_numpy(),
                                       sample_weight=fr["offers"].to_numpy())
            out.loc[held.index, name] = om.predict(held[FEATURES])
    return out


def _with_scores(frame: pd.DataFrame, rel: np.ndarray, out: np.ndarray,
                 normalization: str) -> pd.DataFrame:
    """Add raw scores and their per-query normalisation over the ranked candidates."""
    f = frame.assign(relevance_score=rel, outcome_score=out)
    cm = CandidateMatrix.from_frame(f)
    codes = pd.Index(cm.queries).get_indexer(f["query"])
    pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    for raw, norm in (("relevance_score", "relevance_norm"), ("outcome_score", "outcome_norm")):
        m = normalize_scores(cm.scatter(f, raw), cm.mask, normalization)  # type: ignore[arg-type]
        f[norm] = m[codes, pos]
    return f


@dataclass(frozen=True)
class SplitScores:
    """One objective on one train/test split: the held-out candidates, their candidate
    matrix, the single models' raw scores and each joint model's scores (per aggregation,
    then per weight), all as (queries x candidates) matrices of ``cm``."""

    test: pd.DataFrame
    cm: CandidateMatrix
    relevance: np.ndarray
    outcome: np.ndarray
    joint: dict[str, dict[float, np.ndarray]]


def split_scores(data: ModelData, trained: TrainedModels, weights: np.ndarray,
                 o: dict[str, Any], aggregations: tuple[str, ...] | None = None
                 ) -> dict[str, SplitScores]:
    """Scores of the single models and of the joint models on the test split of ``data``
    (``o``: the options dict of :func:`evaluate_tradeoff`; ``aggregations`` defaults to
    ``o["aggregation"]``). Used by the evaluation and by bench/experiments/bench_joint_oracle.py."""
    oof = (crossfit_scores(data, folds=o["folds"], seed=o["seed"], params=o.get("model_params"))
           if o["stack_scores"] else None)
    res: dict[str, SplitScores] = {}
    for objective, count in OUTCOME_COUNTS.items():
        test = eligible(data.candidates, "test", count, o["min_offers"])
        train = eligible(data.candidates, "train", count, o["min_offers"])
        if test.empty or train.empty:
            raise ValueError(f"no held-out queries with >= 2 judged candidates of >= "
                             f"{o['min_offers']} offers for {objective}; lower min_offers or "
                             "add data")
        cm = CandidateMatrix.from_frame(test)
        test = _with_scores(test, trained.models["relevance"].predict(test[FEATURES]),
                            trained.models[objective].predict(test[FEATURES]),
                            o["normalization"])
        names = FEATURES
        if oof is not None and o["label_prior"] > 0:
            # empirical-Bayes shrinkage of the noisy observed level towards the cross-fitted
            # outcome model: m pseudo-offers at the predicted rate (labels only, on train)
            m = o["label_prior"]
            pred = oof.loc[train["_row"], objective].to_numpy()
            smooth = (train[count].to_numpy() + m * pred) / (train["offers"].to_numpy() + m)
            train = train.assign(outcome_label=smooth / pd.Series(smooth).groupby(
                train["query"].to_numpy()).transform("max").to_numpy())
        if oof is not None:
            train = _with_scores(train, oof.loc[train["_row"], "relevance"].to_numpy(),
                                 oof.loc[train["_row"], objective].to_numpy(),
                                 o["normalization"])
            names = FEATURES + STACKED
        joint = {}
        for agg in aggregations or (o["aggregation"],):
            models = fit_joint_models(train, names, weights, method=agg,  # type: ignore[arg-type]
                                      replicates=o["replicates"], seed=o["seed"],
                                      params=o["joint_params"],
                                      objective=o.get("joint_objective", "lambdarank"))
            joint[agg] = {w: cm.scatter(test.assign(s=m.predict(test[names])), "s")
                          for w, m in models.items()}
        res[objective] = SplitScores(test, cm, cm.scatter(test, "relevance_score"),
                                     cm.scatter(test, "outcome_score"), joint)
    return res


HELD_OUT = ["query", "product_id", "relevant", "level", "relevance_score", "outcome_score"]


def _picks(relevance: np.ndarray, outcome: np.ndarray, cm: CandidateMatrix,
           weights: np.ndarray, normalization: str) -> pd.DataFrame:
    """The fused rankings' first products per weight and test query (see ``fusion_picks``)."""
    top = top_picks(relevance, outcome, cm, weights=weights,
                    normalization=normalization)  # type: ignore[arg-type]
    rows = np.arange(len(cm.queries))
    return pd.DataFrame({
        "query": np.tile(cm.queries, len(weights)),
        "weight": np.repeat(weights, len(rows)),
        "product_id": np.concatenate([cm.product_ids[rows, t] for t in top]),
        "outcome_score": np.concatenate([outcome[rows, t] for t in top])})


def _evaluate_split(data: ModelData, trained: TrainedModels, weights: np.ndarray,
                    o: dict[str, Any]
                    ) -> dict[str, tuple[SweepResult, SweepResult, pd.DataFrame]]:
    """Fusion and joint metrics per weight and per test query of one train/test split."""
    res = {}
    for objective, sc in split_scores(data, trained, weights, o).items():
        fusion = sweep(sc.relevance, sc.outcome, sc.cm, weights=weights,
                       normalization=o["normalization"], k=o["k"])
        met = [ranking_metrics(s, sc.cm, o["k"]) for s in sc.joint[o["aggregation"]].values()]
        joint = SweepResult(weights, np.stack([m[0] for m in met]),
                            np.stack([m[1] for m in met]), np.stack([m[2] for m in met]),
                            o["k"])
        res[objective] = (fusion, joint, sc.test[HELD_OUT])
    return res


def _concat(parts: list[SweepResult]) -> SweepResult:
    return SweepResult(parts[0].weights,
                       np.concatenate([p.relevance_at_1 for p in parts], axis=1),
                       np.concatenate([p.level_at_1 for p in parts], axis=1),
                       np.concatenate([p.ndcg for p in parts], axis=1), parts[0].k)


def query_folds(data: ModelData, eval_folds: int, seed: int = 7) -> pd.Series:
    """Fold number per query (index) of the K-fold evaluation, the same for every caller."""
    queries = np.array(sorted(data.candidates["query"].unique()))
    rng = np.random.default_rng(seed + 1)
    return pd.Series(rng.permutation(len(queries)) % eval_folds, index=queries)


def fold_data(data: ModelData, fold_of: pd.Series, f: int) -> ModelData:
    """``data`` with fold ``f``'s queries as the test split and the others as train."""
    def split(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(split=np.where(df["query"].map(fold_of) == f, "test", "train"))
    return replace(data, candidates=split(data.candidates), outcome_rows=split(data.outcome_rows))


def _fold_sweeps(d: ModelData, fits: dict[str, dict[str, Any]], weights: np.ndarray,
                 o: dict[str, Any], held: dict[str, pd.DataFrame] | None = None,
                 picks: dict[str, pd.DataFrame] | None = None,
                 ) -> dict[str, dict[str, SweepResult]]:
    """Each variant's fusion sweep on ``d``'s test split: objective -> variant -> sweep.
    ``held`` (if given) receives each objective's test candidates with the full models'
    raw scores (columns :data:`HELD_OUT`), and ``picks`` (if given) each objective's fusion
    first products per weight (see ``ObjectiveTradeoff.fusion_picks``)."""
    out: dict[str, dict[str, SweepResult]] = {}
    for objective, count in OUTCOME_COUNTS.items():
        test = eligible(d.candidates, "test", count, o["min_offers"])
        if test.empty or (o["joint"] and eligible(d.candidates, "train", count,
                                                  o["min_offers"]).empty):
            raise ValueError(f"no held-out queries with >= 2 judged candidates of >= "
                             f"{o['min_offers']} offers for {objective}; lower min_offers or "
                             "add data")
        cm = CandidateMatrix.from_frame(test)
        codes = pd.Index(cm.queries).get_indexer(test["query"])
        pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()

        def place(values: np.ndarray, cm: CandidateMatrix = cm, codes: np.ndarray = codes,
                  pos: np.ndarray = pos) -> np.ndarray:
            m = np.zeros(cm.mask.shape)
            m[codes, pos] = values
            return m

        out[objective] = {}
        # variants share fits (see fit_variants): predict each fitted model once, on
        # n_jobs threads (LightGBM releases the GIL while it predicts)
        distinct = {id(m): m for models in fits.values()
                    for m in (models["relevance"], models[objective])}

        def predict(m: Any, test: pd.DataFrame = test) -> np.ndarray:
            return np.asarray(m.predict(test[m.feature_names_]))

        with ThreadPoolExecutor(max_workers=max(o.get("n_jobs", 1), 1)) as pool:
            scores = dict(zip(distinct, pool.map(predict, distinct.values()), strict=True))

        for v, models in fits.items():
            rel, obj = models["relevance"], models[objective]
            rs, out_scores = scores[id(rel)], scores[id(obj)]
            if held is not None and v == "full":
                held[objective] = test.assign(relevance_score=rs,
                                              outcome_score=out_scores)[HELD_OUT]
            if picks is not None and v == "full":
                picks[objective] = _picks(place(rs), place(out_scores), cm, weights,
                                          o["normalization"])
            out[objective][v] = sweep(place(rs), place(out_scores), cm, weights=weights,
                                      normalization=o["normalization"], k=o["k"])
    return out


def evaluate_tradeoff(data: ModelData, trained: TrainedModels | None = None, *,
                      eval_folds: int = 1, min_offers: int = 5, normalization: str = "min-max",
                      step: float = 0.05, k: int = 10, aggregation: str = "linear",
                      replicates: int = 4, stack_scores: bool = True, folds: int = 3,
                      label_prior: float = 0.0,
                      n_boot: int = 1000, reference: tuple[float, float] = (0.0, 0.0),
                      seed: int = 7, joint_params: dict[str, Any] | None = None,
                      joint_objective: str = "lambdarank",
                      model_params: dict[str, Any] | None = None, joint: bool = False,
                      ablation: bool = True, n_jobs: int = 1) -> TradeoffResult:
    """Sweep the fusion weight on held-out queries, for the full feature set and (with
    ``ablation``) every variant of :data:`~seemingly.ranking.tradeoff.ablation.VARIANTS`;
    with ``joint``, also train one joint ranker per weight and compare it with fusion.

    Parameters
    ----------
    trained : models fitted on ``data``'s train split (used when ``eval_folds == 1``).
    eval_folds : 1 = the data's train/test split; K > 1 = K-fold over queries.
    joint : fit the joint model (slow; docs/joint-vs-fusion.md shows it does not beat fusion).
    ablation : fit and compare the crude and leave-one-group-out feature sets.
    n_jobs : threads for the model fits (each fit is single-threaded).
    aggregation : joint label aggregation, "linear" or "stochastic".
    stack_scores : give the joint model the single-objective models' (cross-fitted) scores.
    label_prior : pseudo-offers shrinking the joint model's training levels towards the
        cross-fitted outcome prediction (0 = raw observed levels; needs stack_scores).
    folds : inner folds for those cross-fitted scores.
    joint_objective : "lambdarank" (graded labels per query) or "pointwise" (cross-entropy
        on the aggregated label); see :func:`seemingly.ranking.tradeoff.joint.fit_joint_models`.
    reference : hypervolume reference point (relevance@1, level@1).
    model_params : LightGBM parameters of the single-objective models (fold refits and
        cross-fitted scores), so every model of the evaluation is fitted like the saved ones.
    """
    if not 0 < step <= 1:
        raise ValueError(f"step must be in (0, 1]; got {step}")
    weights = np.round(np.arange(0.0, 1.0 + step / 2, step), 10)
    o = {"min_offers": min_offers, "normalization": normalization, "k": k,
         "aggregation": aggregation, "replicates": replicates, "stack_scores": stack_scores,
         "folds": folds, "seed": seed, "joint_params": joint_params,
         "label_prior": label_prior, "joint_objective": joint_objective,
         "model_params": model_params, "joint": joint, "n_jobs": n_jobs}
    if eval_folds == 1:
        ds = [data]
        prefit = {0: trained.models} if trained is not None else None
    else:
        fold_of = query_folds(data, eval_folds, seed)
        ds = [fold_data(data, fold_of, f) for f in range(eval_folds)]
        prefit = None
    variants = VARIANTS if ablation else {"full": VARIANTS["full"]}
    fits = fit_variants(ds, variants, params=model_params, seed=seed, n_jobs=n_jobs,
                        prefit=prefit)
    held: list[dict[str, pd.DataFrame]] = [{} for _ in ds]
    picks: list[dict[str, pd.DataFrame]] = [{} for _ in ds]
    parts = [_fold_sweeps(d, f, weights, o, h, p)
             for d, f, h, p in zip(ds, fits, held, picks, strict=True)]
    joint_parts = ([_evaluate_split(d, TrainedModels(dict(f["full"]), {}), weights, o)
                    for d, f in zip(ds, fits, strict=True)] if joint else None)
    out: dict[str, ObjectiveTradeoff] = {}
    abl: dict[str, tuple[dict[str, SweepResult], dict[str, VariantComparison]]] = {}
    for objective in OUTCOME_COUNTS:
        sweeps = {v: _concat([p[objective][v] for p in parts]) for v in variants}
        fusion = sweeps["full"]
        joint_sweep, dom = None, None
        if joint_parts is not None:
            joint_sweep = _concat([p[objective][1] for p in joint_parts])
            dom = dominance((fusion.relevance_at_1, fusion.level_at_1),
                            (joint_sweep.relevance_at_1, joint_sweep.level_at_1),
                            reference=reference, n_boot=n_boot, seed=seed)
        out[objective] = ObjectiveTradeoff(
            fusion, joint_sweep, dom, objective,
            pd.concat([h[objective] for h in held], ignore_index=True),
            fusion_picks=pd.concat([p[objective] for p in picks], ignore_index=True))
        if ablation:
            abl[objective] = (sweeps, compare_variants(sweeps, n_boot=n_boot, seed=seed,
                                                       reference=reference))
    settings = {**{key: v for key, v in o.items()
                   if key not in ("joint_params", "model_params", "n_jobs")},
                "eval_folds": eval_folds, "step": step, "n_boot": n_boot,
                "joint_features": "factors + cross-fitted model scores" if stack_scores
                else "factors"}
    return TradeoffResult(out["purchase"], out["engagement"], settings,
                          Ablation(abl, variants, n_boot) if ablation else None)
