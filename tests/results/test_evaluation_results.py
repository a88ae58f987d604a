"""The results.json of `seemingly evaluate`: round trip, the committed schema, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from seemingly.ranking.evaluate import Judgments, Run, evaluate_runs
from seemingly.results import ResultsFileError
from seemingly.results.evaluate import EvaluationResults, schema

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "evaluation.schema.json"
POOL = pd.DataFrame({"query": ["a", "a", "b", "b"], "product_id": ["p1", "p2", "p3", "p4"],
                     "relevant": [1.0, 0.0, 0.0, 1.0], "level": [0.1, 0.3, 0.2, 0.0]})


@pytest.fixture(scope="module")
def ev() -> EvaluationResults:
    run = POOL[["query", "product_id"]].assign(score=[2.0, 1.0, 1.0, 2.0])
    j = Judgments({"purchase": POOL[POOL["query"] == "a"], "engagement": POOL})
    return evaluate_runs([Run("one", "one.csv", run), Run("two", "two.csv",
                                                          run.assign(score=-run["score"]))],
                         j, k=2, n_boot=50, seed=1)


def test_committed_schema_is_current() -> None:
    assert json.loads(SCHEMA.read_text()) == json.loads(json.dumps(schema())), (
        "docs/evaluation.schema.json is stale: run `make schema`")


def test_written_file_round_trips_and_validates(ev: EvaluationResults, tmp_path: Path) -> None:
    path = ev.write(tmp_path)
    raw = json.loads(path.read_text())
    jsonschema.validate(raw, json.loads(SCHEMA.read_text()))
    assert EvaluationResults.from_json(tmp_path) == ev
    # the keys other tools read: runs.<tag>.<metric> = {value, ci}
    for metric in ("relevance_at_1", "purchase_level_at_1", "engagement_level_at_1",
                   "ndcg_at_k"):
        assert set(raw["runs"]["one"][metric]) == {"value", "ci"}
    assert raw["runs"]["one"]["relevance_at_1"]["value"] == 1.0
    assert raw["runs"]["two"]["relevance_at_1"]["value"] == 0.0
    assert raw["queries"] == {"relevance": 2, "purchase": 1, "engagement": 2}


def test_a_study_results_file_is_not_an_evaluation(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text('{"contract_version": 1, "tradeoff": null}')
    with pytest.raises(ResultsFileError, match="not a `seemingly evaluate` results.json"):
        EvaluationResults.from_json(tmp_path)
