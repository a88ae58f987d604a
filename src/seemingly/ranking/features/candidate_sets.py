"""Computations over each candidate set (the rows of one query, or of one request): group
codes, the within-set rank and median, and each candidate's relations to the others of its
set. Rows of a set need not be contiguous; ``g, sizes, starts`` from :func:`groups` describe
the sets to every other function here.
"""

from __future__ import annotations

import numpy as np

from seemingly.ranking.features.kernels import anchor_similarity
from seemingly.ranking.features.products import ProductBatch

__all__ = ["TOP_ANCHORS", "groups", "rank_and_best", "group_median", "relations"]

TOP_ANCHORS = 3  # how many best text matches stand in for "the relevant products"


def groups(group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group codes 0..G-1 of the rows, each group's size, and its first row in group order."""
    if len(group) and group.min() == group.max():  # one set (as in the service)
        g = np.zeros(len(group), np.int64)
    else:
        _, g = np.unique(group, return_inverse=True)
        g = g.ravel()
    sizes = np.bincount(g)
    return g, sizes, np.cumsum(sizes) - sizes


def rank_and_best(g: np.ndarray, sizes: np.ndarray, starts: np.ndarray,
                  score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within-group rank of ``score`` (best = 1, ties share the lower rank, as pandas'
    "min") and the group's best score, for each row."""
    n = len(g)
    if len(sizes) == 1:
        s = np.sort(score)
        return n - np.searchsorted(s, score, side="right") + 1.0, np.full(n, s[-1])
    order = np.lexsort((-score, g))
    gs, ss = g[order], score[order]
    new_group = np.r_[True, gs[1:] != gs[:-1]]
    new_value = new_group | np.r_[True, ss[1:] != ss[:-1]]
    pos = np.arange(n)
    start_g = np.maximum.accumulate(np.where(new_group, pos, 0))
    start_v = np.maximum.accumulate(np.where(new_value, pos, 0))
    rank = np.empty(n)
    rank[order] = start_v - start_g + 1
    return rank, ss[starts][g]


def group_median(g: np.ndarray, sizes: np.ndarray, starts: np.ndarray,
                 x: np.ndarray) -> np.ndarray:
    """Median of the non-NaN ``x`` of each row's group (NaN when there is none)."""
    xs = np.sort(x) if len(sizes) == 1 else x[np.lexsort((x, g))]  # NaN last in a group
    k = np.bincount(g, weights=~np.isnan(x), minlength=len(sizes)).astype(np.int64)
    med = np.full(len(sizes), np.nan)
    ok = k > 0
    lo, hi = xs[starts[ok] + (k[ok] - 1) // 2], xs[starts[ok] + k[ok] // 2]
    med[ok] = (lo + hi) / 2
    return med[g]


def relations(prod: ProductBatch, score: np.ndarray, g: np.ndarray, sizes: np.ndarray,
              starts: np.ndarray, lift: dict[str, dict[str, float]], pids: list[str],
              has: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relation of each candidate to the other candidates of its set: mean semantic
    similarity and best co-purchase lift with its anchors (stand-ins for the relevant
    products, which are unknown at ranking time), best lift with any other candidate.

    ``has`` marks the candidates with any co-purchase partner. Returns the three features
    (semantic_relation, copurchase_relation, copurchase_max), one value per row.
    """
    n = len(g)
    # Each candidate's anchors are the TOP_ANCHORS other candidates of its set with the best
    # text match of the query (ties: the earlier row), so they do not depend on the order the
    # candidates come in; they are the first TOP_ANCHORS others among the set's best k.
    k = TOP_ANCHORS + 1
    by_score = np.lexsort((-score, g)) if len(sizes) > 1 else np.argsort(-score, kind="stable")
    top = np.full((len(sizes), k), -1)
    for j in range(k):
        sel = sizes > j
        top[sel, j] = by_score[starts[sel] + j]
    cand = top[g]
    keep = (cand >= 0) & (cand != np.arange(n)[:, None])
    keep &= np.cumsum(keep, axis=1) <= TOP_ANCHORS
    # the anchors of a row in row order: the order the mean adds them in
    cand = np.sort(np.where(keep, cand, n), axis=1)
    keep = cand < n
    pi, pk = np.nonzero(keep)
    pa = cand[pi, pk]
    w = prod.words
    semantic = anchor_similarity(w.indptr, w.idx, w.val, prod.text_rows, pi, pa)
    anchor = np.zeros(n)
    best = np.zeros(n)
    if has.any():  # few candidates have co-purchase partners at all
        sel = has[pi]
        for i, a in zip(pi[sel].tolist(), pa[sel].tolist(), strict=True):
            anchor[i] = max(anchor[i], lift[pids[i]].get(pids[a], 0.0))
        gl = g.tolist()
        members: dict[int, dict[str, int]] = {}
        for gi, p in zip(gl, pids, strict=True):
            mine = members.setdefault(gi, {})
            mine[p] = mine.get(p, 0) + 1
        for i in np.flatnonzero(has).tolist():
            p = pids[i]
            partners, mem = lift[p], members[gl[i]]
            pairs = ([(o, v) for o, v in partners.items() if o in mem]
                     if len(partners) <= len(mem) else
                     [(o, partners[o]) for o in mem if o in partners])
            # another row of the set holds ``o`` (a second row if it is this very product)
            best[i] = max([v for o, v in pairs if mem[o] > (o == p)], default=0.0)
    return semantic, anchor, best
