"""The Wilson score interval of a binomial rate, once: on numpy arrays and as Ibis expressions.

Both versions spell the same formula in the same order of operations, so a level computed in
the engine and one computed from a few aggregates leaving it get the same bounds.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
from scipy.stats import norm

__all__ = ["wilson", "wilson_expr", "z_value"]


def z_value(confidence: float) -> float:
    """Two-sided normal quantile of ``confidence`` (1.959... for 0.95)."""
    return float(norm.ppf(0.5 + confidence / 2))


def wilson(successes: Any, trials: Any, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions, vectorised.

    Parameters
    ----------
    successes, trials : scalars or arrays of counts (broadcast together).
    confidence : coverage of the interval.

    Returns
    -------
    ``(low, high)`` arrays clipped to [0, 1]; NaN where ``trials == 0``.

    Examples
    --------
    >>> lo, hi = wilson(3, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1078, 0.6032)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        center = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.where(n > 0, np.clip(center - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(center + half, 0.0, 1.0), np.nan)
    return low, high


def wilson_expr(
    successes: ir.NumericValue, trials: ir.NumericValue, confidence: float = 0.95
) -> tuple[Any, Any]:
    """The bounds of :func:`wilson` as Ibis expressions, for counts that stay in the engine.

    ``trials`` must be positive (a level needs offers); the bounds are clipped to [0, 1].
    """
    z = z_value(confidence)
    nf = trials.cast("float64")
    p = successes.cast("float64") / nf
    denom = 1 + z**2 / nf
    center = (p + z**2 / (2 * nf)) / denom
    half = z * (p * (1 - p) / nf + z**2 / (4 * nf * nf)).sqrt() / denom
    return ibis.greatest(center - half, 0.0), ibis.least(center + half, 1.0)
