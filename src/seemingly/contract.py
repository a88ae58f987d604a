"""The data contract (v1), declared once: table names, columns, types, and query normalisation.

Every loader, the simulator's writer and every test fixture speak these names. A change here
is a versioned change: bump ``CONTRACT_VERSION`` and record it in CHANGELOG.md.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CONTRACT_VERSION",
    "DATASET_FILE",
    "OUTCOME_COUNTS",
    "Outcome",
    "TABLES",
    "ColumnSpec",
    "TableSpec",
    "normalize_query",
]

CONTRACT_VERSION = 1

#: A data folder's description, beside its tables: written by the converters, read by the
#: analysis for the label settings (``{"labels": {...LabelSettings fields}}``).
DATASET_FILE = "dataset.json"

ColumnKind = Literal["string", "number", "integer", "boolean", "timestamp", "label"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: ColumnKind
    required: bool  # the column must be present in the input
    nullable: bool  # a present column may hold nulls (row rule otherwise)
    store_type: str  # DuckDB type in the store


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    required: bool
    key: str | None = None  # unique id column, if any

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}; it has {self.column_names}")


def _c(name: str, kind: ColumnKind, required: bool, nullable: bool, store_type: str) -> ColumnSpec:
    return ColumnSpec(name, kind, required, nullable, store_type)


TABLES: dict[str, TableSpec] = {
    "products": TableSpec(
        "products",
        (
            _c("product_id", "string", True, False, "VARCHAR"),
            _c("title", "string", True, False, "VARCHAR"),
            _c("category", "string", True, True, "VARCHAR"),
            _c("price", "number", True, True, "DOUBLE"),
            _c("brand", "string", False, True, "VARCHAR"),
            _c("product_type", "string", False, True, "VARCHAR"),
        ),
        required=True,
        key="product_id",
    ),
    "offers": TableSpec(
        "offers",
        (
            _c("offer_id", "string", True, False, "VARCHAR"),
            _c("request_id", "string", False, True, "VARCHAR"),
            _c("timestamp", "timestamp", True, False, "TIMESTAMP"),
            _c("user_id", "string", True, False, "VARCHAR"),
            _c("query", "string", True, False, "VARCHAR"),
            _c("product_id", "string", True, False, "VARCHAR"),
            _c("position", "integer", False, True, "INTEGER"),
            _c("engaged", "boolean", True, False, "BOOLEAN"),
            _c("purchased", "boolean", True, False, "BOOLEAN"),
            _c("propensity", "number", False, True, "DOUBLE"),
        ),
        required=False,
        key="offer_id",
    ),
    "judgments": TableSpec(
        "judgments",
        (
            _c("query", "string", True, False, "VARCHAR"),
            _c("product_id", "string", True, False, "VARCHAR"),
            _c("label", "label", True, False, "VARCHAR"),
            _c("annotator_id", "string", False, True, "VARCHAR"),
        ),
        required=False,
    ),
    "orders": TableSpec(
        "orders",
        (
            _c("order_id", "string", True, False, "VARCHAR"),
            _c("user_id", "string", True, False, "VARCHAR"),
            _c("product_id", "string", True, False, "VARCHAR"),
            _c("timestamp", "timestamp", True, False, "TIMESTAMP"),
        ),
        required=False,
    ),
}

#: The two outcomes every stage measures, in the order every block lists them.
Outcome = Literal["purchase", "engagement"]
#: Each outcome's count column wherever offers are aggregated (beside ``offers``); the
#: boolean column of one offer is ``purchased`` / ``engaged`` (see ``TABLES["offers"]``).
OUTCOME_COUNTS: dict[Outcome, str] = {"purchase": "purchases", "engagement": "engagements"}

_SPACE = re.compile(r"\s+")


def normalize_query(text: str) -> str:
    """Normalise a query as the contract says: NFKC, case-fold, trim, collapse whitespace.

    >>> normalize_query("  Buy\\u00a0BURGERS  now ")
    'buy burgers now'
    """
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def query_length(normalized: str) -> int:
    """Number of whitespace tokens of an already normalised query."""
    return len(normalized.split()) if normalized else 0
