"""Helpers every adapter shares: finding (compressed) inputs, counting drops, writing tables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from seemingly.adapters.conversion import REPORT_FILE, Drop, LabelScale
from seemingly.contract import DATASET_FILE, TABLES, normalize_query
from seemingly.errors import ContractError

# Compression suffixes pandas reads by itself; a plain file wins over a compressed one.
COMPRESSED = ("", ".gz", ".bz2", ".xz", ".zip", ".zst")

_ARROW = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "TIMESTAMP": pa.timestamp("us")}


@dataclass
class Converted:
    """What an adapter hands back before anything is written (internal to the package)."""

    tables: dict[str, pd.DataFrame]
    rows_read: dict[str, int]
    dropped: list[Drop]
    labels: LabelScale | None = None
    notes: list[str] = field(default_factory=list)
    # language of titles and queries (seemingly.text.LANGUAGES), when the data set says
    language: str | None = None


class DropLog:
    """Removes rows by a rule and remembers how many, so nothing is dropped silently."""

    def __init__(self) -> None:
        self.drops: list[Drop] = []

    def drop(
        self, frame: pd.DataFrame, mask: pd.Series | np.ndarray, *, source: str, reason: str,
        table: str,
    ) -> pd.DataFrame:
        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        if n:
            self.drops.append(Drop(source=source, reason=reason, rows=n, table=table))
        return frame.loc[~mask]

    def record(self, *, source: str, reason: str, rows: int, table: str) -> None:
        if rows:
            self.drops.append(Drop(source=source, reason=reason, rows=int(rows), table=table))


def find_input(source: Path, name: str, *, required: bool = True) -> Path | None:
    """Locate ``name`` (e.g. ``train.csv``) in folder ``source``, plain or compressed.

    ``source`` may also be the file itself (then ``name`` is looked up beside it).
    """
    folder = source.parent if source.is_file() else source
    if source.is_file() and source.name.startswith(name):
        return source
    for suffix in COMPRESSED:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    if required:
        tried = ", ".join(f"{name}{s}" for s in COMPRESSED)
        raise FileNotFoundError(
            f"{folder}: no {name} found (looked for {tried}); point SOURCE at the folder "
            "holding the data set's files as released"
        )
    return None


def need_input(source: Path, name: str) -> Path:
    """Like :func:`find_input`, but the file must exist."""
    path = find_input(source, name, required=True)
    if path is None:  # pragma: no cover - find_input raised already
        raise FileNotFoundError(name)
    return path


def read_csv(path: Path, *, columns: Iterable[str], **kwargs: Any) -> pd.DataFrame:
    """Read a (possibly compressed) CSV as text columns and check the needed columns exist."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], **kwargs)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ContractError(f"{path}: cannot be read as CSV ({exc}); check the file") from exc
    require_columns(frame, columns, path)
    return frame


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path | str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ContractError(
            f"{path}: missing column(s) {missing}; found {list(frame.columns)}. Is this the "
            "file as the data set released it (and the right FORMAT)?"
        )


def blank(values: pd.Series) -> pd.Series:
    """True where a text value is null or only whitespace."""
    return values.isna() | (values.astype("string").str.strip() == "")


def blank_query(values: pd.Series) -> pd.Series:
    """True where a query is empty after the contract's normalisation (ingest would refuse it)."""
    return values.isna() | (values.astype(str).map(normalize_query) == "")


def products_frame(
    product_id: pd.Series, title: pd.Series, *, category: pd.Series | None = None,
    price: pd.Series | None = None, brand: pd.Series | None = None,
    product_type: pd.Series | None = None,
) -> pd.DataFrame:
    """A products table in contract column order; absent optional inputs become nulls."""
    n = len(product_id)

    def col(s: pd.Series | None) -> list[object]:
        return [None] * n if s is None else list(s)

    return pd.DataFrame({
        "product_id": list(product_id), "title": list(title), "category": col(category),
        "price": pd.to_numeric(pd.Series(col(price), dtype=object), errors="coerce").to_numpy(
            dtype=float),
        "brand": col(brand), "product_type": col(product_type),
    })


def _arrow_table(name: str, frame: pd.DataFrame) -> pa.Table:
    spec = TABLES[name]
    arrays, fields = [], []
    for column in spec.columns:
        if column.name not in frame.columns:
            continue
        values = frame[column.name]
        if column.kind == "label":
            # Labels are written as they are: numbers stay numbers, ESCI letters stay text.
            if pd.api.types.is_integer_dtype(values):
                arrow_type = pa.int64()
            elif pd.api.types.is_numeric_dtype(values):
                arrow_type = pa.float64()
            else:
                arrow_type = pa.string()
        else:
            arrow_type = _ARROW[column.store_type]
        obj = values.astype(object).where(values.notna(), None)
        if arrow_type == pa.string():
            obj = obj.map(lambda v: v if v is None else str(v))
        arrays.append(pa.array(list(obj), type=arrow_type, from_pandas=True))
        fields.append(pa.field(column.name, arrow_type, nullable=column.nullable))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def null_counts(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, int]]:
    """Nulls written per nullable contract column (reported, never hidden)."""
    out: dict[str, dict[str, int]] = {}
    for name, frame in tables.items():
        counts = {
            c.name: int(frame[c.name].isna().sum())
            for c in TABLES[name].columns
            if c.nullable and c.name in frame.columns
        }
        out[name] = {k: v for k, v in counts.items() if v}
    return out


# What a conversion writes; a folder holding anything else (a user's products.csv) is not
# ours, even with --force.
OWN_NAMES = tuple(f"{t}.parquet" for t in TABLES) + (
    REPORT_FILE, DATASET_FILE,
)


def write_tables(out_dir: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write the contract tables as Parquet into ``out_dir`` (the temporary folder of
    :func:`seemingly.outputs.output_dir`, which makes the whole conversion all or nothing)."""
    for name, frame in tables.items():
        pq.write_table(_arrow_table(name, frame), out_dir / f"{name}.parquet")
