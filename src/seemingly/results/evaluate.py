"""The typed ``results.json`` of ``seemingly evaluate``: any ranker's runs, measured with the
study's metrics on the study's judged candidates.

It is a document of its own (``DIR/results.json`` of ``seemingly evaluate --out DIR``), not a
block of the study's :class:`~seemingly.results.Results`; its schema is
``docs/evaluation.schema.json`` (``python -m seemingly.results evaluation``).

>>> ev = EvaluationResults.from_json("out/eval")  # doctest: +SKIP
>>> ev.runs["bm25"].purchase_level_at_1.value  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from seemingly.contract import CONTRACT_VERSION, Outcome
from seemingly.results._base import Block, Interval, Num, write_atomic

__all__ = ["EvaluationResults", "Estimate", "RunEvaluation", "RunCoverage", "FrontierPosition",
           "PairedTest", "EvaluationSettings", "EVALUATION_METRICS"]

#: The metrics every run gets (``runs.<tag>.<metric>``), in the order tables show them.
EVALUATION_METRICS = ("relevance_at_1", "purchase_level_at_1", "engagement_level_at_1",
                      "ndcg_at_k")
Metric = Literal["relevance_at_1", "purchase_level_at_1", "engagement_level_at_1", "ndcg_at_k"]


class Estimate(Block):
    """A mean over queries and its percentile bootstrap interval over queries."""

    value: Num
    ci: Interval


class FrontierPosition(Block):
    """Where a run sits on one objective's frontier chart: the three numbers of a trade-off
    point, measured on exactly that objective's evaluation queries (as the study's points)."""

    relevance_at_1: Estimate
    level_at_1: Estimate
    ndcg_at_k: Estimate
    n_queries: int


class RunCoverage(Block):
    """How much of the run the judgments can score.

    ``queries_ranked``: evaluation queries with at least one ranked product (the others score
    0). ``judged_at_1`` / ``judged_at_k``: mean share of a ranked query's top 1 / top k that
    are judged candidates (before ``judged_only`` drops the others). ``rows_outside``: rows
    of queries that are not evaluated (no judged candidates with levels).
    """

    rows: int
    queries: int
    queries_ranked: int
    judged_at_1: Num
    judged_at_k: Num
    rows_outside: int


class RunEvaluation(Block):
    """One run: the four metrics, its place on each frontier, coverage, where it came from."""

    source: str
    relevance_at_1: Estimate
    purchase_level_at_1: Estimate
    engagement_level_at_1: Estimate
    ndcg_at_k: Estimate
    frontier: dict[Outcome, FrontierPosition]
    coverage: RunCoverage


class PairedTest(Block):
    """``b - a`` on one metric, per query paired: mean difference, paired bootstrap interval,
    paired t-test p-value and its Holm adjustment over every (pair, metric) test."""

    a: str
    b: str
    metric: Metric
    difference: Num
    ci: Interval
    p_value: Num
    p_adjusted: Num
    significant: bool


class EvaluationSettings(Block):
    """What the runs were measured with (the study's settings where they apply)."""

    k: int
    judged_only: bool
    min_offers: int
    window_split: float
    queries: Literal["all", "test split"]
    n_boot: int
    confidence: float
    alpha: float
    seed: int
    test: Literal["paired t-test"] = "paired t-test"


class EvaluationResults(Block):
    """``seemingly evaluate``'s results.json: one entry per run tag, the pairwise tests."""

    contract_version: int = Field(default=CONTRACT_VERSION)
    kind: Literal["evaluation"] = "evaluation"
    runs: dict[str, RunEvaluation]
    comparisons: list[PairedTest]
    queries: dict[str, int]
    settings: EvaluationSettings

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=indent, allow_nan=False) + "\n"

    def write(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write ``out_dir/results.json`` atomically; returns its path."""
        return write_atomic(out_dir, "results.json", self.to_json())

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> EvaluationResults:
        """Read an evaluation's results.json (its path or folder)."""
        from seemingly.results.model import ResultsFileError

        path = Path(source)
        if path.is_dir():
            path = path / "results.json"
        try:
            raw: Any = json.loads(path.read_text())
            return cls.model_validate(raw)
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ResultsFileError(f"{path} is not a `seemingly evaluate` results.json "
                                   f"({type(exc).__name__}); rerun `seemingly evaluate`"
                                   ) from None


def schema() -> dict[str, object]:
    """The JSON schema of an evaluation's results.json (``docs/evaluation.schema.json``)."""
    out = EvaluationResults.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **out}
