"""The re-judging queue: the cross-fitted relevance score joins the votes and the behaviour.

:mod:`seemingly.explain.label_quality` holds the joint model; this module adds the piece it
cannot import, the relevance model's score (``ranking`` sits above ``explain``). The score is
*cross-fitted over queries*: the judged pairs' queries are cut into ``rejudge_folds`` folds
and every pair is scored by a model fitted on the other folds' labels, so a pair's own label
never scores itself (nor do its query's other labels, which share its annotators' habits).

>>> lq = label_quality(store, AnalysisSettings())  # doctest: +SKIP
>>> lq.frame.head()  # doctest: +SKIP
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from seemingly.config import AnalysisSettings
from seemingly.explain.aggregation import aggregate
from seemingly.explain.label_quality import (
    JointPosterior,
    LabelEvidence,
    flip_effects,
    joint_posterior,
    label_evidence,
    mislabelled_share,
)
from seemingly.explain.labels import category_agreement
from seemingly.ranking.features import FEATURE_NAMES
from seemingly.ranking.models.data import ModelData
from seemingly.ranking.models.estimators import RelevanceModel
from seemingly.results.labels import (
    AnnotatorQuality,
    CategoryAgreement,
    LabelsBlock,
    MislabelledShare,
    RejudgeRow,
    ShareCI,
    Verdict,
)

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["crossfit_relevance", "label_quality", "LabelQuality", "QUEUE_COLUMNS"]

FEATURES = list(FEATURE_NAMES)
#: rejudge.csv's columns, in order (the first four are the contract of the table)
QUEUE_COLUMNS = (
    "query", "product_id", "label", "posterior_wrong", "title", "n_judgments",
    "relevant_votes", "votes_posterior", "offers", "purchases", "engagements",
    "purchase_level", "query_relevant_purchase_level", "behaviour_llr", "model_score",
    "score_llr", "delta_irrelevant_share_purchases", "delta_irrelevant_share_engagements",
    "delta_irrelevant_purchase_level",
)


def crossfit_relevance(data: ModelData, *, folds: int = 5, seed: int = 7,
                       params: dict[str, Any] | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """Out-of-fold relevance score of every judged candidate: ``query, product_id, score``.

    Folds are drawn over the judged queries with ``seed``; a fold's pairs are scored by a
    model fitted on the other folds' judged pairs (their labels as the analysis aggregates
    them), so no label scores itself. The folds' fits run on ``n_jobs`` threads (LightGBM
    releases the GIL; each fit is single-threaded and seeded, so the scores do not depend
    on ``n_jobs``).
    """
    c = data.candidates
    judged = c[c["relevant"].notna()]
    queries = np.array(sorted(judged["query"].unique()))
    out = judged[["query", "product_id"]].assign(score=np.nan)
    if len(queries) < folds:
        return out
    fold_of = pd.Series(np.random.default_rng(seed).permutation(len(queries)) % folds,
                        index=queries)
    f = judged["query"].map(fold_of).to_numpy()
    p = {**(params or {}), "seed": seed}

    def fold(k: int) -> np.ndarray | None:
        fit = judged[f != k]
        if fit["relevant"].nunique() < 2:
            return None
        model = RelevanceModel(**p).fit(fit[FEATURES], fit["relevant"].to_numpy())
        return model.predict(judged.loc[f == k, FEATURES])

    with ThreadPoolExecutor(max_workers=max(n_jobs, 1)) as pool:
        for k, scores in enumerate(pool.map(fold, range(folds))):
            if scores is not None:
                out.loc[judged.index[f == k], "score"] = scores
    return out


@dataclass(frozen=True)
class LabelQuality:
    """Everything about the labels: one row per judged pair in ``frame`` (the queue's
    columns, :data:`QUEUE_COLUMNS`), the joint posterior, the shares and the annotators."""

    frame: pd.DataFrame
    joint: JointPosterior
    evidence: LabelEvidence
    shares: dict[str, tuple[float | None, tuple[float, float] | None]]
    aggregation: str
    model_score: bool
    annotators: list[AnnotatorQuality]
    agreement_by_category: dict[str, CategoryAgreement]
    warnings: list[str] = field(default_factory=list)

    def queue(self, label: str) -> pd.DataFrame:
        """Pairs judged ``label`` ('irrelevant' or 'relevant'), most likely wrong first."""
        q = self.frame[self.frame["label"] == label]
        return q.sort_values(["posterior_wrong", "purchases", "query", "product_id"],
                             ascending=[False, False, True, True], kind="mergesort")

    def corrected(self, wrong_at: float) -> pd.DataFrame:
        """``query, product_id, relevant``: the labels with the likely-wrong ones flipped."""
        f = self.frame
        rel = (f["label"] == "relevant").to_numpy()
        flip = f["posterior_wrong"].to_numpy() > wrong_at
        return f[["query", "product_id"]].assign(relevant=rel ^ flip)

    def to_block(self, settings: AnalysisSettings,
                 verdicts: list[Verdict] | None = None) -> LabelsBlock:
        ls = settings.labels
        f = self.frame
        n = ls.rejudge_rows

        def rows(label: str) -> list[RejudgeRow]:
            q = self.queue(label).head(n)
            records = q[list(QUEUE_COLUMNS)].to_dict("records")
            return [RejudgeRow.model_validate(r) for r in records]

        sp, se = self.shares["purchases"], self.shares["engagements"]
        share = MislabelledShare(purchases=ShareCI(value=sp[0], ci=sp[1]),
                                 engagements=ShareCI(value=se[0], ci=se[1]))
        return LabelsBlock(
            aggregation=self.aggregation,  # type: ignore[arg-type]
            model_score=self.model_score,
            n_pairs=len(f),
            n_judged_irrelevant=int((f["label"] == "irrelevant").sum()),
            n_likely_wrong=int((f["posterior_wrong"] > ls.wrong_at).sum()),
            expected_wrong=float(f["posterior_wrong"].sum()),
            wrong_at=ls.wrong_at,
            mislabelled_share=share,
            annotators=self.annotators,
            agreement_by_category=self.agreement_by_category,
            queue=rows("irrelevant"),
            reverse_queue=rows("relevant"),
            verdicts=verdicts,
            warnings=self.warnings or None,
        )


def _scores(ev: LabelEvidence, data: ModelData | None, settings: AnalysisSettings
            ) -> np.ndarray | None:
    if data is None:
        return None
    m = settings.models
    cf = crossfit_relevance(data, folds=settings.labels.rejudge_folds, seed=settings.seed,
                            params={"n_estimators": m.n_estimators,
                                    "learning_rate": m.learning_rate}, n_jobs=m.n_jobs)
    s = ev.pairs[["query", "product_id"]].merge(cf, on=["query", "product_id"], how="left")
    return s["score"].to_numpy(float)


def label_quality(store: StoreLike, settings: AnalysisSettings | None = None, *,
                  data: ModelData | None = None) -> LabelQuality:
    """Aggregate the labels, fit the joint model and build both re-judging queues.

    ``data``: the model data the trade-off built (its candidates carry the features); None
    leaves the relevance score out (the queue then rests on votes and behaviour).
    """
    s = settings or AnalysisSettings()
    ls = s.labels
    ev = label_evidence(store, s)
    score = _scores(ev, data, s)
    joint = joint_posterior(ev, score)
    p = ev.pairs
    post = joint.posterior
    label = p["label"].to_numpy(bool)
    f = p[["query", "product_id"]].copy()
    f["label"] = np.where(label, "relevant", "irrelevant")
    f["posterior_wrong"] = np.where(label, 1.0 - post, post)
    titles = store.table("products").select("product_id", "title").to_pandas()
    f = f.merge(titles, on="product_id", how="left")
    for col in ("n_judgments", "relevant_votes", "offers", "purchases", "engagements"):
        f[col] = p[col].to_numpy()
    f["votes_posterior"] = joint.votes_posterior
    offers = p["offers"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["purchase_level"] = np.where(offers > 0, p["purchases"] / offers, np.nan)
    f["query_relevant_purchase_level"] = joint.query_rate_relevant
    f["behaviour_llr"] = joint.behaviour_llr
    f["model_score"] = np.nan if score is None else score
    f["score_llr"] = np.nan if score is None else joint.score_llr
    f = pd.concat([f, flip_effects(p)], axis=1)
    f = f[list(QUEUE_COLUMNS)]
    irr = ~label
    shares = {
        col: mislabelled_share(p.loc[irr, col].to_numpy(), post[irr],
                               p.loc[irr, "query"].to_numpy(), n_draws=ls.n_draws,
                               seed=s.seed, confidence=s.confidence)
        for col in ("purchases", "engagements")
    }
    agg = aggregate(ev.votes, ls.aggregation)
    d = ev.votes
    n_w = np.bincount(d.worker, minlength=d.n_workers)
    annotators = [AnnotatorQuality(annotator_id=str(a), judgments=int(n_w[i]),
                                   accuracy=float(agg.accuracy[i]),
                                   confusion=agg.confusion[i].round(6).tolist())
                  for i, a in enumerate(d.annotators)]
    by_cat = {c: CategoryAgreement(alpha=a, n_items=n)
              for c, (a, n) in category_agreement(store, ls).items()}
    warnings = [] if score is not None else [
        "the relevance model's score is left out of the re-judging queue (no model data: "
        "the trade-off did not run)"]
    return LabelQuality(f, joint, ev, shares, ls.aggregation, score is not None, annotators,
                        by_cat, warnings)
