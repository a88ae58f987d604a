"""Shared pieces of the results.json types: the base model and the number types.

results.json is JSON, so a statistic that could not be computed (NaN, inf) is written as
null; :data:`Num` does that conversion once, when a block is built, so a block never holds NaN.
"""

from __future__ import annotations

import math
import os
from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, RootModel

__all__ = ["Block", "Keyed", "Num", "Metric", "Interval", "finite_or_none", "write_atomic"]


def finite_or_none(x: Any) -> Any:
    """NaN and +-inf become None (JSON has no NaN); numpy scalars become Python numbers."""
    if hasattr(x, "item") and callable(x.item) and getattr(x, "shape", None) == ():
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


#: A float that may be missing: NaN / inf / None are all stored (and written) as null.
Num = Annotated[float | None, BeforeValidator(finite_or_none)]
#: A metric value: counts stay integers, rates stay floats (``int | float`` keeps the JSON text).
Metric = Annotated[int | float | None, BeforeValidator(finite_or_none)]
#: A two-sided interval ``[low, high]``; an end that could not be computed is null.
Interval = tuple[Num, Num]


class Block(BaseModel):
    """Base of every results.json model: immutable, and unknown keys are an error.

    Keys that a builder leaves out stay out of the JSON (results are dumped with
    ``exclude_unset``), so an optional key is either absent or present, as it was written.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


K = TypeVar("K", bound=str)
V = TypeVar("V")


class Keyed(RootModel[dict[K, V]], Generic[K, V]):
    """A block whose keys are data (hypothesis names, outcomes): reads like a dict."""

    model_config = ConfigDict(frozen=True)

    def __getitem__(self, key: K) -> V:
        return self.root[key]

    def __getattr__(self, name: str) -> Any:
        # ``block.price`` for ``block["price"]`` in notebooks; pydantic's own lookup (private
        # attributes, then AttributeError) for everything else
        if not name.startswith("_"):
            root = self.__dict__.get("root")
            if isinstance(root, dict) and name in root:
                return root[name]
        return super().__getattr__(name)  # type: ignore[misc]

    def __dir__(self) -> list[str]:
        root = self.__dict__.get("root")
        keys = [k for k in root if isinstance(k, str)] if isinstance(root, dict) else []
        return sorted(set(super().__dir__()) | set(keys))

    def __iter__(self) -> Iterator[K]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def __contains__(self, key: object) -> bool:
        return key in self.root

    def keys(self) -> KeysView[K]:
        return self.root.keys()

    def values(self) -> ValuesView[V]:
        return self.root.values()

    def items(self) -> ItemsView[K, V]:
        return self.root.items()


def write_atomic(out_dir: str | os.PathLike[str], name: str, text: str) -> Path:
    """Write ``out_dir/name`` through a temporary sibling and a rename, so a reader never sees
    half a file; returns its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    tmp = out / f".{name}.tmp-{os.getpid()}"
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
