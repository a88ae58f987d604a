"""What a conversion did, typed: rows read, written, dropped per reason, nulls, label scale."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from seemingly.contract import DATASET_FILE

__all__ = ["ConversionReport", "Drop", "LabelScale"]

#: The full conversion report, as JSON.
REPORT_FILE = "conversion.json"


@dataclass(frozen=True)
class Drop:
    """Rows of one input left out of one output table, and why."""

    source: str  # the input (file stem) the rows came from
    reason: str  # short snake_case rule name, e.g. "cancellation", "no_customer"
    rows: int
    table: str  # the contract table the rows would have gone to


@dataclass(frozen=True)
class LabelScale:
    """How the written judgment labels read, and the recommended relevance rule.

    ``settings()`` gives keyword arguments for :class:`seemingly.config.LabelSettings`.
    """

    kind: Literal["numeric", "esci"]
    relevant_at: float | None = None  # numeric: grades >= this are relevant
    esci_relevant: tuple[str, ...] | None = None  # esci: letters read as relevant
    scale: str = ""  # human description of the written values, e.g. "mean of 3+ raters on 1-3"
    mapping: dict[str, str] = field(default_factory=dict)  # source label -> written label
    mapping_confirmed: bool = True
    rationale: str = ""

    def settings(self) -> dict[str, Any]:
        if self.kind == "numeric":
            return {"relevant_at": self.relevant_at}
        return {"esci_relevant": list(self.esci_relevant or ("E",))}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "scale": self.scale,
            "recommended": self.settings(),
            "mapping": dict(self.mapping),
            "mapping_confirmed": self.mapping_confirmed,
            "rationale": self.rationale,
        }


@dataclass(frozen=True)
class ConversionReport:
    """The account of one ``seemingly convert`` run; nothing is left out silently.

    ``rows_read`` counts input rows per input (file stem), ``rows_written`` rows per contract
    table, ``dropped`` every row left out with the first rule it broke (rules in the order
    they are applied), ``nulls`` the nulls written per
    nullable contract column (``price`` and ``category`` of relevance-only data sets).
    """

    format: str
    source: str
    out_dir: str
    rows_read: dict[str, int]
    rows_written: dict[str, int]
    dropped: tuple[Drop, ...]
    nulls: dict[str, dict[str, int]]
    labels: LabelScale | None
    notes: tuple[str, ...]
    language: str | None = None

    @property
    def dropped_total(self) -> int:
        return sum(d.rows for d in self.dropped)

    def dropped_by_source(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for d in self.dropped:
            per = out.setdefault(d.source, {})
            per[d.reason] = per.get(d.reason, 0) + d.rows
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "source": self.source,
            "out_dir": self.out_dir,
            "rows_read": dict(self.rows_read),
            "rows_written": dict(self.rows_written),
            "dropped": [
                {"source": d.source, "table": d.table, "reason": d.reason, "rows": d.rows}
                for d in self.dropped
            ],
            "dropped_by_source": self.dropped_by_source(),
            "dropped_rule": "each row is counted once, under the first rule it broke, in the "
            "order listed",
            "nulls": {t: dict(c) for t, c in self.nulls.items()},
            "labels": None if self.labels is None else self.labels.to_dict(),
            "recommended_label_settings": None if self.labels is None else self.labels.settings(),
            "notes": list(self.notes),
        }

    def dataset_dict(self) -> dict[str, Any]:
        """Content of ``dataset.json``: what an analysis needs to read the labels right."""
        return {
            "dataset_version": 1,
            "format": self.format,
            "tables": sorted(self.rows_written),
            "labels": None if self.labels is None else self.labels.settings(),
            "label_scale": None if self.labels is None else self.labels.to_dict(),
            "notes": list(self.notes),
            # picks the stemmer of the ranking features (seemingly.text); absent: english
            **({"language": self.language} if self.language else {}),
        }

    def save(self, out_dir: Path) -> None:
        (out_dir / REPORT_FILE).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        (out_dir / DATASET_FILE).write_text(json.dumps(self.dataset_dict(), indent=2) + "\n")
