"""Pareto frontier and 2-D hypervolume (both objectives maximised), and the paired bootstrap
of two frontiers over queries."""

from __future__ import annotations

import numpy as np

__all__ = ["pareto_mask", "hypervolume", "dominance", "frontier_level"]


def _dominated_by(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each point of ``a``: does some point of ``b`` dominate it?"""
    ge = np.all(b[None, :, :] >= a[:, None, :], axis=2)
    gt = np.any(b[None, :, :] > a[:, None, :], axis=2)
    return np.asarray(np.any(np.logical_and(ge, gt), axis=1), dtype=bool)


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """True for points no other point dominates (>= in both objectives, > in one)."""
    p = np.asarray(points, float)
    return ~_dominated_by(p, p)


def hypervolume(points: np.ndarray, reference: tuple[float, float] = (0.0, 0.0)) -> float:
    """Area dominated by ``points`` and bounded below by ``reference`` (2 objectives, max).

    >>> hypervolume(np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
    0.25
    """
    p = np.asarray(points, float)
    p = p[(p[:, 0] > reference[0]) & (p[:, 1] > reference[1])]
    if not len(p):
        return 0.0
    p = p[np.lexsort((-p[:, 1], -p[:, 0]))]  # x descending, then y descending
    area, y_done = 0.0, reference[1]
    for x, y in p:
        if y > y_done:  # a point adds the strip above what larger-x points already cover
            area += (x - reference[0]) * (y - y_done)
            y_done = y
    return float(area)


def frontier_level(points: np.ndarray, relevance: float) -> float:
    """The level (second objective) the Pareto frontier of ``points`` reaches at ``relevance``
    (first objective).

    Between two frontier points the level is interpolated linearly: ranking each query with
    one of the two rankers at random gives every mix of their points. Below the frontier's
    smallest relevance the level is that point's (the highest); above its largest, NaN.

    >>> frontier_level(np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.3]]), 0.4)
    0.6
    """
    p = np.asarray(points, float)
    p = p[pareto_mask(p)]
    p = p[np.argsort(p[:, 0], kind="stable")]
    if not len(p) or relevance > p[-1, 0]:
        return float("nan")
    return float(np.interp(relevance, p[:, 0], p[:, 1]))


def _dominated_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of points in ``a`` that some point of ``b`` dominates."""
    return float(_dominated_by(a, b).mean()) if len(a) else 0.0


def dominance(fusion: tuple[np.ndarray, np.ndarray], joint: tuple[np.ndarray, np.ndarray], *,
              reference: tuple[float, float] = (0.0, 0.0), n_boot: int = 1000,
              seed: int = 7, confidence: float = 0.95) -> dict[str, object]:
    """Compare two frontiers measured on the same queries.

    Parameters
    ----------
    fusion, joint : (relevance_at_1, level_at_1), each shaped (weights, queries).

    Returns
    -------
    dict with fusion_hypervolume, joint_hypervolume, difference (joint - fusion), a paired
    percentile bootstrap difference_ci over queries, share_fusion_points_dominated (by a joint
    point), share_joint_points_dominated and reference_point.
    """
    fr, fl = (np.asarray(x, float) for x in fusion)
    jr, jl = (np.asarray(x, float) for x in joint)
    if fr.shape[1] != jr.shape[1]:
        raise ValueError("both frontiers must be measured on the same queries")
    fp = np.column_stack([fr.mean(1), fl.mean(1)])
    jp = np.column_stack([jr.mean(1), jl.mean(1)])
    hv_f, hv_j = hypervolume(fp, reference), hypervolume(jp, reference)
    rng = np.random.default_rng(seed)
    nq = fr.shape[1]
    diffs = np.empty(n_boot)
    for b in range(n_boot):
        # resample queries once and use the same sample for both frontiers (paired)
        cnt = np.bincount(rng.integers(0, nq, nq), minlength=nq) / nq
        f_b = np.column_stack([fr @ cnt, fl @ cnt])
        j_b = np.column_stack([jr @ cnt, jl @ cnt])
        diffs[b] = hypervolume(j_b, reference) - hypervolume(f_b, reference)
    a = (1 - confidence) / 2
    lo, hi = np.quantile(diffs, [a, 1 - a]) if n_boot else (np.nan, np.nan)
    return {"fusion_hypervolume": hv_f, "joint_hypervolume": hv_j,
            "difference": hv_j - hv_f, "difference_ci": [float(lo), float(hi)],
            "share_fusion_points_dominated": _dominated_share(fp, jp),
            "share_joint_points_dominated": _dominated_share(jp, fp),
            "reference_point": [float(reference[0]), float(reference[1])],
            "n_queries": int(nq), "n_boot": int(n_boot)}
