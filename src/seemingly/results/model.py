"""``Results``: the whole results.json, one optional typed block per section.

>>> results = Results.from_json("out/demo")  # doctest: +SKIP
>>> results.hypotheses["popularity"]["purchase"].p_adjusted  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from seemingly.config import AnalysisSettings
from seemingly.contract import CONTRACT_VERSION
from seemingly.results._base import Block, write_atomic
from seemingly.results.explain import (
    DataBlock,
    ExamplesBlock,
    HypothesesBlock,
    OverviewBlock,
    RelationsBlock,
    StrategiesBlock,
)
from seemingly.results.labels import LabelsBlock
from seemingly.results.offpolicy import OffPolicyBlock
from seemingly.results.position import PositionBlock
from seemingly.results.ranking import ModelsBlock, TradeoffBlock

__all__ = ["Results", "RunBlock", "ResultsFileError", "RESULTS_FILE", "REGENERATE"]

RESULTS_FILE = "results.json"
REGENERATE = "regenerate it with `seemingly study DATA --out DIR`"


class ResultsFileError(ValueError):
    """A results.json this version cannot read (other contract version, not results.json)."""


class RunBlock(Block):
    """How the study ran: seed, simulated world (null for real data), version, stage timings."""

    seed: int
    world: str | None
    n_offers: int | None = None
    version: str
    timings: dict[str, float]
    settings: AnalysisSettings

    @field_validator("settings", mode="after")
    @classmethod
    def _every_setting(cls, settings: AnalysisSettings) -> AnalysisSettings:
        # Results are written with exclude_unset; the run records every setting, defaults too.
        return AnalysisSettings.model_validate(settings.model_dump())


class Results(Block):
    """Every block of results.json. A block is None when its stage did not run; ``skipped``
    says why (block name -> reason).

    Examples
    --------
    >>> r = Results.from_json("out/demo")  # doctest: +SKIP
    >>> r.hypotheses.price["purchase"].supported  # doctest: +SKIP
    True
    >>> Results().to_dict()
    {'contract_version': 1}
    """

    contract_version: int = Field(default=CONTRACT_VERSION)
    data: DataBlock | None = None
    overview: OverviewBlock | None = None
    hypotheses: HypothesesBlock | None = None
    examples: ExamplesBlock | None = None
    strategies: StrategiesBlock | None = None
    tradeoff: TradeoffBlock | None = None
    models: ModelsBlock | None = None
    relations: RelationsBlock | None = None
    labels: LabelsBlock | None = None
    # ranked-list logs only (absent for voice logs): seemingly.results.offpolicy
    off_policy: OffPolicyBlock | None = None
    # ranked-list logs only: position bias measured and corrected (seemingly.results.position);
    # overview_corrected has the shape of overview
    position: PositionBlock | None = None
    overview_corrected: OverviewBlock | None = None
    skipped: dict[str, str] | None = None
    run: RunBlock | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict: ``contract_version`` first, blocks that are None left out."""
        dumped = self.model_dump(mode="json", exclude_unset=True)
        blocks = {k: v for k, v in dumped.items() if k != "contract_version" and v is not None}
        return {"contract_version": self.contract_version, **blocks}

    def to_json(self, *, indent: int | None = 2) -> str:
        """results.json's text (NaN was already turned into null when the blocks were built)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False) + "\n"

    def write(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write ``out_dir/results.json`` atomically (temp file, then rename); returns its path."""
        return write_atomic(out_dir, RESULTS_FILE, self.to_json())

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> Results:
        """Read results.json from its text, its path, or the folder holding it.

        Raises
        ------
        ResultsFileError
            The file is not JSON, was written under another contract version, or does not
            match this version's blocks; the message says how to regenerate it.
        FileNotFoundError
            ``source`` is a path and there is no results.json there.
        """
        if isinstance(source, str) and source.lstrip().startswith("{"):
            text, where = source, "results.json text"
        else:
            path = Path(source)
            if path.is_dir():
                path = path / RESULTS_FILE
            if not path.is_file():
                raise FileNotFoundError(f"{path} does not exist; {REGENERATE}")
            text, where = path.read_text(), str(path)
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ResultsFileError(f"{where} is not valid JSON ({exc}); {REGENERATE}") from None
        return cls.from_dict(raw, where=where)

    @classmethod
    def from_dict(cls, raw: Any, *, where: str = "results") -> Results:
        """Validate a parsed results.json (see :meth:`from_json` for the errors)."""
        if not isinstance(raw, dict):
            raise ResultsFileError(f"{where} holds a {type(raw).__name__}, not a results "
                                   f"object; {REGENERATE}")
        version = raw.get("contract_version")
        if version != CONTRACT_VERSION:
            raise ResultsFileError(
                f"{where} was written under contract version {version!r}; this seemingly "
                f"reads version {CONTRACT_VERSION}: {REGENERATE}")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            at = ".".join(str(p) for p in first["loc"])
            raise ResultsFileError(
                f"{where} does not match the results schema ({exc.error_count()} error(s); "
                f"first at {at}: {first['msg']}); {REGENERATE}") from None
