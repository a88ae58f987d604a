"""Contract tables as Parquet, written in parts so the data's size is bounded by disk.

Ids and texts are produced by Arrow ``take`` from small dictionaries (products, queries,
users), so no Python loop runs per offer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["PartWriter", "ids", "write_table"]


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded number, e.g. ids("o", [3], 9) -> "o000000003"."""
    text = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(pa.string()), width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), text, pa.scalar(""))


def take(dictionary: pa.Array, index: np.ndarray) -> pa.Array:
    return pc.take(dictionary, pa.array(index, pa.int64()))


def timestamps(us: np.ndarray) -> pa.Array:
    return pa.array(us, pa.timestamp("us"))


def write_table(path: Path, table: pa.Table) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return path


class PartWriter:
    """Writes ``DIR/part-00000.parquet``, ``part-00001`` ... one per ``write`` call."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.parts = 0
        self.rows = 0
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0 and self.parts > 0:
            return
        write_table(self.directory / f"part-{self.parts:05d}.parquet", table)
        self.parts += 1
        self.rows += table.num_rows
