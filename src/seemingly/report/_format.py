"""Number formatters for the report: a value that is missing (None, NaN) reads as "n/a".

The typed :class:`~seemingly.results.Results` already turns NaN into None when a block is
validated, but a block built with ``model_copy`` skips validation, so :func:`num` checks again.
"""

from __future__ import annotations

import math
from typing import Any

NA = "n/a"


def num(x: Any) -> float | None:
    """A finite float, or None (booleans, strings, NaN and infinities are not numbers here)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def ci_pair(ci: Any) -> tuple[float | None, float | None]:
    """An interval's two ends as finite floats (None for a missing interval or end)."""
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return None, None
    return num(ci[0]), num(ci[1])


def fmt_int(x: Any) -> str:
    v = num(x)
    return NA if v is None else f"{round(v):,}"


def fmt_pct(x: Any, digits: int | None = None) -> str:
    """A share in [0, 1] as a percentage; small rates keep two decimals so they do not read 0%."""
    v = num(x)
    if v is None:
        return NA
    if digits is None:
        digits = 2 if abs(v) < 0.1 else 1
    return f"{100 * v:.{digits}f}%"


def fmt_num(x: Any) -> str:
    """Three significant digits, thousands separated when large."""
    v = num(x)
    if v is None:
        return NA
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if v != 0 and abs(v) < 0.001:
        return f"{v:.2e}"
    return f"{v:.3g}"


def fmt_price(x: Any) -> str:
    v = num(x)
    return NA if v is None else f"{v:,.2f}"


def fmt_p(x: Any) -> str:
    v = num(x)
    if v is None:
        return NA
    if v < 0.001:
        return "< 0.001"
    return f"{v:.3f}"


def fmt_ci(ci: Any, fmt: Any = fmt_num) -> str:
    lo, hi = ci_pair(ci)
    if lo is None or hi is None:
        return ""
    return f"[{fmt(lo)}, {fmt(hi)}]"


def fmt_seconds(x: Any) -> str:
    v = num(x)
    if v is None:
        return NA
    return f"{v:.1f} s" if v < 120 else f"{v / 60:.1f} min"


def label(x: Any) -> str:
    """Any value as display text (None reads as n/a)."""
    if x is None:
        return NA
    return str(x)
