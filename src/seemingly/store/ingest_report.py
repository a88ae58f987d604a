"""The typed ingest report: what was read, accepted, quarantined and repaired, per table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IngestReport", "TableReport"]


@dataclass(frozen=True)
class TableReport:
    """One table's reconciliation: ``read == accepted + quarantined`` always holds.

    ``rules`` counts quarantined rows by the first rule each broke; ``repairs`` counts rows
    that were kept but changed as the contract says (e.g. a purchase read as an engagement).
    """

    table: str
    files: tuple[str, ...]
    read: int
    accepted: int
    quarantined: int
    rules: Mapping[str, int] = field(default_factory=dict)
    repairs: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "files": list(self.files),
            "read": self.read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "rules": dict(self.rules),
            "repairs": dict(self.repairs),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TableReport:
        return cls(
            table=d["table"],
            files=tuple(d["files"]),
            read=int(d["read"]),
            accepted=int(d["accepted"]),
            quarantined=int(d["quarantined"]),
            rules={k: int(v) for k, v in d["rules"].items()},
            repairs={k: int(v) for k, v in d["repairs"].items()},
        )


@dataclass(frozen=True)
class IngestReport:
    """Result of :func:`seemingly.store.ingest` / :func:`seemingly.store.validate`.

    Tables absent from the input are absent from ``tables``.
    """

    contract_version: int
    source: str
    fingerprint: str
    tables: Mapping[str, TableReport]
    warnings: tuple[str, ...] = ()
    ignored_files: tuple[str, ...] = ()

    @property
    def quarantined(self) -> dict[str, int]:
        """Quarantined rows per table (the ``data.quarantined`` block of results.json)."""
        return {name: t.quarantined for name, t in self.tables.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract_version": self.contract_version,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
            "warnings": list(self.warnings),
            "ignored_files": list(self.ignored_files),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IngestReport:
        return cls(
            contract_version=int(d["contract_version"]),
            source=d["source"],
            fingerprint=d["fingerprint"],
            tables={k: TableReport.from_dict(v) for k, v in d["tables"].items()},
            warnings=tuple(d.get("warnings", ())),
            ignored_files=tuple(d.get("ignored_files", ())),
        )
