"""Evaluate any ranker: its run (TREC, CSV or Parquet) measured with the study's metrics on
the study's judged candidates, with query-bootstrap intervals and Holm-corrected paired tests.

>>> from seemingly.ranking.evaluate import evaluate_store  # doctest: +SKIP
>>> ev = evaluate_store(store, ["bm25.csv"])  # doctest: +SKIP
>>> ev.runs["bm25"].relevance_at_1.ci  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seemingly.ranking.evaluate.judgments import (
    Judgments,
    judgments_from_candidates,
    judgments_from_store,
)
from seemingly.ranking.evaluate.measure import evaluate_runs, score_run
from seemingly.ranking.evaluate.runs import Run, RunFileError, read_query_table, read_run
from seemingly.ranking.evaluate.trec import write_study_trec

if TYPE_CHECKING:
    from seemingly.results.evaluate import EvaluationResults
    from seemingly.store import StoreLike

__all__ = ["evaluate_store", "evaluate_runs", "read_run", "Run", "RunFileError", "Judgments",
           "judgments_from_store", "judgments_from_candidates", "score_run",
           "write_study_trec", "read_query_table"]


def evaluate_store(store: StoreLike, runs: Sequence[str | Path], settings: Any = None, *,
                   queries_table: str | Path | None = None, judged_only: bool = False,
                   queries: str = "auto", k: int | None = None) -> EvaluationResults:
    """Read ``runs``, build the judgments of ``store`` under ``settings`` (default
    AnalysisSettings) and measure every run (see :func:`evaluate_runs`).

    Run files are all read (and checked) before the store is touched, so a bad file fails
    fast. ``k`` defaults to the study's ``models.ndcg_k``.
    """
    from seemingly.config import AnalysisSettings

    settings = settings or AnalysisSettings()
    qids = read_query_table(queries_table) if queries_table is not None else None
    read = [read_run(p, queries=qids) for p in runs]
    judgments = judgments_from_store(store, settings, queries=queries)
    m = settings.models
    mode = ("all" if m.eval_folds > 1 else "test split") if queries == "auto" else queries
    return evaluate_runs(read, judgments, k=k or m.ndcg_k, judged_only=judged_only,
                         n_boot=m.n_boot, confidence=settings.confidence,
                         alpha=settings.hypotheses.alpha, seed=settings.seed,
                         min_offers=settings.min_offers, window_split=m.window_split,
                         queries=mode)
