"""The typed results.json: one pydantic model per block, and :class:`Results` holding them.

This is the output contract (the input contract is :mod:`seemingly.contract`): builders in
``explain`` and ``ranking`` return these blocks, ``study`` assembles them, ``report`` reads
them. ``python -m seemingly.results`` prints the JSON schema (``docs/results.schema.json``).
"""

from __future__ import annotations

from seemingly.results._base import Interval, Num
from seemingly.results.explain import (
    DataBlock,
    Effect,
    Example,
    ExamplesBlock,
    HypothesesBlock,
    OverviewBlock,
    RelationsBlock,
    StrategiesBlock,
    Term,
)
from seemingly.results.labels import LabelsBlock, RejudgeRow
from seemingly.results.model import RESULTS_FILE, Results, ResultsFileError, RunBlock
from seemingly.results.offpolicy import OffPolicyBlock, OffPolicyEstimate
from seemingly.results.position import ExaminationPoint, PositionBlock, TermComparison
from seemingly.results.ranking import (
    AblationBlock,
    AblationVariant,
    ModelEntry,
    ModelsBlock,
    ObjectiveTradeoff,
    TradeoffBlock,
    TradeoffPoint,
)

__all__ = [
    "Results", "ResultsFileError", "RESULTS_FILE", "schema",
    "DataBlock", "OverviewBlock", "HypothesesBlock", "Effect", "ExamplesBlock", "Example",
    "StrategiesBlock", "TradeoffBlock", "ObjectiveTradeoff", "TradeoffPoint", "ModelsBlock",
    "ModelEntry", "AblationBlock", "AblationVariant", "RelationsBlock", "RunBlock", "Term",
    "Num", "Interval", "LabelsBlock", "RejudgeRow",
    "OffPolicyBlock", "OffPolicyEstimate", "PositionBlock", "ExaminationPoint", "TermComparison",
]


def schema() -> dict[str, object]:
    """The JSON schema of results.json (what ``docs/results.schema.json`` holds)."""
    out = Results.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **out}
