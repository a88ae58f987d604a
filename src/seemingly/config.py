"""One typed settings object per concern (pydantic), built by the caller, never at import time."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LabelSettings", "AnalysisSettings"]


class LabelSettings(BaseModel):
    """How raw judgment labels become relevant / not relevant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relevant_at: float = Field(1.0, description="numeric grades >= this are relevant")
    esci_relevant: tuple[str, ...] = Field(("E",), description="ESCI letters read as relevant")
    tie: Literal["not_relevant", "relevant"] = "not_relevant"


class AnalysisSettings(BaseModel):
    """Knobs of the analysis; defaults are the documented ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    labels: LabelSettings = LabelSettings()
    min_offers: int = Field(5, ge=1, description="offers a (query, product) pair needs to be used as a level")
    confidence: float = Field(0.95, gt=0, lt=1)
    seed: int = 7
