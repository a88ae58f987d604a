"""The trade-off block: fusion of separately trained models vs the joint model, measured on
held-out queries with the same per-query metrics, frontiers and a paired bootstrap.

Evaluation is grouped by query. With ``eval_folds=1`` the data's train/test split is used;
with K > 1 every query is held out once (K-fold over queries, models refitted per fold), so
all queries count towards the frontiers and the intervals are narrower.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from seemingly.contract import OUTCOME_COUNTS
from seemingly.ranking.features import FEATURE_NAMES
from seemingly.ranking.models.data import ModelData
from seemingly.ranking.models.estimators import OutcomeModel, RelevanceModel
from seemingly.ranking.models.training import TrainedModels, fit_models
from seemingly.ranking.scoring import CandidateMatrix, normalize_scores, ranking_metrics
from seemingly.ranking.tradeoff.joint import fit_joint_models
from seemingly.ranking.tradeoff.pareto import dominance, pareto_mask
from seemingly.ranking.tradeoff.sweep import SweepResult, sweep, top_picks
from seemingly.results.ranking import Dominance, TradeoffBlock, TradeoffPoint, TradeoffSettings
from seemingly.results.ranking import ObjectiveTradeoff as ObjectiveTradeoffBlock

__all__ = ["TradeoffResult", "evaluate_tradeoff", "split_scores", "SplitScores", "query_folds",
           "fold_data"]

FEATURES = list(FEATURE_NAMES)
STACKED = ["relevance_score", "outcome_score", "relevance_norm", "outcome_norm"]


@dataclass(frozen=True)
class ObjectiveTradeoff:
    """One objective's fusion and joint sweeps (per-query metrics kept for benches) and the
    bootstrap comparison of their frontiers."""

    fusion: SweepResult
    joint: SweepResult
    dominance: dict[str, Any]
    objective: str
    # what each fusion weight puts first per held-out query: query, weight, product_id and
    # outcome_score (the outcome model's level); the off-policy estimates replay these
    fusion_picks: pd.DataFrame | None = None

    def _points(self, s: SweepResult) -> list[TradeoffPoint]:
        m = s.means()
        front = pareto_mask(m[["relevance_at_1", "level_at_1"]].to_numpy())
        key = f"{self.objective}_level_at_1"
        return [TradeoffPoint(weight=float(w), relevance_at_1=float(r), ndcg_at_k=float(n),
                              on_frontier=bool(f), **{key: float(lv)})
                for w, r, lv, n, f in zip(m["weight"], m["relevance_at_1"], m["level_at_1"],
                                          m["ndcg_at_k"], front, strict=True)]

    def to_block(self) -> ObjectiveTradeoffBlock:
        return ObjectiveTradeoffBlock(fusion=self._points(self.fusion),
                                      joint=self._points(self.joint),
                                      dominance=Dominance(**self.dominance), k=self.fusion.k)


@dataclass(frozen=True)
class TradeoffResult:
    """Both objectives' trade-offs; :meth:`to_block` is the ``tradeoff`` block."""

    purchase: ObjectiveTradeoff
    engagement: ObjectiveTradeoff
    settings: dict[str, Any]

    def to_block(self) -> TradeoffBlock:
        """The typed ``tradeoff`` block of :class:`seemingly.results.Results`."""
        return TradeoffBlock(purchase=self.purchase.to_block(),
                             engagement=self.engagement.to_block(),
                             settings=TradeoffSettings(**self.settings))


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


def _picks(sc: SplitScores, weights: np.ndarray, normalization: str) -> pd.DataFrame:
    """The fused rankings' first products per weight and test query (see ``fusion_picks``)."""
    top = top_picks(sc.relevance, sc.outcome, sc.cm, weights=weights,
                    normalization=normalization)  # type: ignore[arg-type]
    rows = np.arange(len(sc.cm.queries))
    return pd.DataFrame({
        "query": np.tile(sc.cm.queries, len(weights)),
        "weight": np.repeat(weights, len(rows)),
        "product_id": np.concatenate([sc.cm.product_ids[rows, t] for t in top]),
        "outcome_score": np.concatenate([sc.outcome[rows, t] for t in top])})


def _evaluate_split(data: ModelData, trained: TrainedModels, weights: np.ndarray,
                    o: dict[str, Any]
                    ) -> dict[str, tuple[SweepResult, SweepResult, pd.DataFrame]]:
    """Fusion and joint metrics per weight and per test query of one train/test split, and
    the fusion's first products."""
    res = {}
    for objective, sc in split_scores(data, trained, weights, o).items():
        fusion = sweep(sc.relevance, sc.outcome, sc.cm, weights=weights,
                       normalization=o["normalization"], k=o["k"])
        met = [ranking_metrics(s, sc.cm, o["k"]) for s in sc.joint[o["aggregation"]].values()]
        joint = SweepResult(weights, np.stack([m[0] for m in met]),
                            np.stack([m[1] for m in met]), np.stack([m[2] for m in met]),
                            o["k"])
        res[objective] = (fusion, joint, _picks(sc, weights, o["normalization"]))
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


def evaluate_tradeoff(data: ModelData, trained: TrainedModels | None = None, *,
                      eval_folds: int = 1, min_offers: int = 5, normalization: str = "min-max",
                      step: float = 0.05, k: int = 10, aggregation: str = "linear",
                      replicates: int = 4, stack_scores: bool = True, folds: int = 3,
                      label_prior: float = 0.0,
                      n_boot: int = 1000, reference: tuple[float, float] = (0.0, 0.0),
                      seed: int = 7, joint_params: dict[str, Any] | None = None,
                      joint_objective: str = "lambdarank",
                      model_params: dict[str, Any] | None = None) -> TradeoffResult:
    """Sweep the fusion weight, train one joint ranker per weight, compare on held-out queries.

    Parameters
    ----------
    trained : models fitted on ``data``'s train split (used when ``eval_folds == 1``).
    eval_folds : 1 = the data's train/test split; K > 1 = K-fold over queries.
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
         "model_params": model_params}
    if eval_folds == 1:
        trained = trained or fit_models(data, params=model_params, seed=seed)
        parts = [_evaluate_split(data, trained, weights, o)]
    else:
        fold_of = query_folds(data, eval_folds, seed)
        parts = []
        for f in range(eval_folds):
            d = fold_data(data, fold_of, f)
            parts.append(_evaluate_split(d, fit_models(d, params=model_params, seed=seed),
                                         weights, o))
    out = {}
    for objective in OUTCOME_COUNTS:
        fusion = _concat([p[objective][0] for p in parts])
        joint = _concat([p[objective][1] for p in parts])
        dom = dominance((fusion.relevance_at_1, fusion.level_at_1),
                        (joint.relevance_at_1, joint.level_at_1),
                        reference=reference, n_boot=n_boot, seed=seed)
        picks = pd.concat([p[objective][2] for p in parts], ignore_index=True)
        out[objective] = ObjectiveTradeoff(fusion, joint, dom, objective, picks)
    settings = {**{key: v for key, v in o.items()
                   if key not in ("joint_params", "model_params")},
                "eval_folds": eval_folds, "step": step, "n_boot": n_boot,
                "joint_features": "factors + cross-fitted model scores" if stack_scores
                else "factors"}
    return TradeoffResult(out["purchase"], out["engagement"], settings)
