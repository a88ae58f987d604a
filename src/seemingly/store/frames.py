"""Tables handed over in memory: pandas, Arrow or Polars, all read as one pandas frame.

The store hashes and validates pandas frames (``store_from_frames``); an Arrow table or a
Polars frame is converted once on the way in, so the same rows give the same store whatever
library held them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

__all__ = ["FrameLike", "as_pandas"]

# pandas.DataFrame | pyarrow.Table | polars.DataFrame (polars is optional: not named in types)
FrameLike = Any


def as_pandas(frame: FrameLike, name: str) -> pd.DataFrame:
    """``frame`` as a pandas DataFrame; ``name`` (the argument) goes into the error message.

    Examples
    --------
    >>> import pyarrow as pa
    >>> as_pandas(pa.table({"product_id": ["p1"], "title": ["milk"]}), "products").shape
    (1, 2)
    """
    if isinstance(frame, pd.DataFrame):
        return frame
    if isinstance(frame, pa.RecordBatch):
        frame = pa.Table.from_batches([frame])
    if isinstance(frame, pa.Table):
        return frame.to_pandas()
    # Polars (and any frame speaking the Arrow PyCapsule stream protocol) without importing it
    if type(frame).__module__.split(".")[0] == "polars" and hasattr(frame, "to_arrow"):
        return frame.to_arrow().to_pandas()
    if hasattr(frame, "__arrow_c_stream__"):
        return pa.table(frame).to_pandas()
    raise TypeError(f"{name}: expected a pandas DataFrame, a pyarrow Table or a polars "
                    f"DataFrame, got {type(frame).__module__}.{type(frame).__name__}")
