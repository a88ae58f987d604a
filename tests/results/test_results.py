"""The typed results.json: round trips, NaN -> null, versions, the committed JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from pydantic import ValidationError

from seemingly.results import Results, ResultsFileError, TradeoffPoint, schema
from seemingly.results.explain import LevelRate

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "tests" / "support" / "fixtures" / "results_v1.json"
SCHEMA = ROOT / "docs" / "results.schema.json"


def test_a_v1_file_round_trips_unchanged() -> None:
    raw = json.loads(V1.read_text())
    results = Results.from_json(V1)
    assert results.to_dict() == raw
    assert json.loads(results.to_json()) == raw
    assert list(results.to_dict())[:3] == ["contract_version", "data", "overview"]


def test_blocks_read_as_fields_and_data_keys() -> None:
    r = Results.from_json(V1)
    assert r.hypotheses is not None and r.overview is not None and r.tradeoff is not None
    assert r.hypotheses["popularity"]["purchase"].supported is True
    assert r.hypotheses["query_length"]["engagement"].short is not None
    assert r.overview.purchase_level is not None
    assert r.overview.purchase_level.irrelevant.offers == 74716
    point = r.tradeoff.engagement.fusion[0]
    assert point.level_at_1 == point.engagement_level_at_1 and point.on_frontier
    assert r.models is not None and set(r.models) == {"relevance", "purchase", "engagement"}
    assert r.relations is not None and r.relations.skipped == {}
    assert r.skipped is None and r.examples is not None and len(r.examples["purchase"]) == 2


def test_nan_inf_and_numpy_numbers_become_json() -> None:
    rate = LevelRate(value=np.float64("nan"), ci=(float("-inf"), np.float32(0.5)),
                     offers=np.int64(3))
    assert rate.value is None and rate.ci == (None, 0.5) and type(rate.offers) is int
    assert rate.model_dump(mode="json") == {"value": None, "ci": [None, 0.5], "offers": 3}


def test_an_optional_key_left_out_stays_out() -> None:
    point = TradeoffPoint(weight=0.5, relevance_at_1=0.9, purchase_level_at_1=0.7,
                          ndcg_at_k=0.8, on_frontier=False)
    assert point.model_dump(mode="json", exclude_unset=True) == {
        "weight": 0.5, "relevance_at_1": 0.9, "purchase_level_at_1": 0.7, "ndcg_at_k": 0.8,
        "on_frontier": False}
    with pytest.raises(ValidationError, match="exactly one of"):
        TradeoffPoint(weight=0.5, relevance_at_1=0.9, ndcg_at_k=0.8, on_frontier=False)


def test_results_are_frozen_and_refuse_unknown_keys() -> None:
    r = Results.from_json(V1)
    with pytest.raises(ValidationError):
        r.contract_version = 2  # type: ignore[misc]
    raw = json.loads(V1.read_text())
    raw["overview"]["purchase_level"]["extra"] = 1
    with pytest.raises(ResultsFileError, match=r"overview\.purchase_level\.extra"):
        Results.from_dict(raw)


@pytest.mark.parametrize(("text", "match"), [
    ('{"contract_version": 0}', "contract version 0"),
    ('{"data": {}}', "contract version None"),
    ("[1, 2]", "not a results object"),
    ("{not json", "not valid JSON"),
])
def test_unreadable_results_say_how_to_regenerate(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "results.json").write_text(text)
    with pytest.raises(ResultsFileError, match=match) as err:
        Results.from_json(tmp_path)
    assert "seemingly study" in str(err.value) and "\n" not in str(err.value)


def test_missing_results_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="seemingly study"):
        Results.from_json(tmp_path)


def test_write_is_atomic_and_reads_back(tmp_path: Path) -> None:
    r = Results.from_json(V1)
    path = r.write(tmp_path / "out")
    assert path == tmp_path / "out" / "results.json"
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temp file left
    assert Results.from_json(path) == r
    assert "NaN" not in path.read_text()


def test_committed_schema_is_current() -> None:
    committed = json.loads(SCHEMA.read_text())
    assert committed == json.loads(json.dumps(schema())), (
        "docs/results.schema.json is stale: run `make schema`")


def test_the_v1_file_validates_against_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    validator.check_schema(validator.schema)
    assert list(validator.iter_errors(json.loads(V1.read_text()))) == []
    bad = json.loads(V1.read_text())
    bad["tradeoff"]["purchase"]["fusion"][0]["on_frontier"] = "yes"
    assert not validator.is_valid(bad)
