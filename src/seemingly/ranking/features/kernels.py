"""Compiled loops for the sparse text features (numba), reading the text stores in place.

The numpy formulation these replace gathered every candidate's sparse rows into fresh arrays
and matched them against the query with ``searchsorted``: about forty array calls per
request, most of a ranking's time at a hundred candidates. Here each candidate's sorted term
list is merge-joined with its query's (or its anchor's) straight from the store's CSR arrays.

The floats are the numpy version's to the last bit, which the equivalence tests check
against the pandas / scikit-learn reference: a row's matched terms are added in ascending
term order exactly as ``np.add.reduceat`` adds a segment (its first value, plus numpy's
pairwise sum of the rest: eight running sums in blocks of at most 128), element-wise
arithmetic keeps numpy's operand order, and numba (no fast-math) contracts nothing into FMAs.

Compiled on first use and cached on disk next to this file (or in numba's user cache when the
package directory is read-only), so only the first process after an install pays ~2 s.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["query_match", "anchor_similarity", "segment_sum", "token_overlaps"]

_BLOCK = 128  # numpy's PW_BLOCKSIZE


@njit(cache=True, nogil=True)
def _block(a: np.ndarray, lo: int, n: int) -> float:  # pragma: no cover - compiled
    """numpy's pairwise_sum of ``a[lo:lo + n]`` for n <= 128: plain below 8 terms, else
    eight running sums over blocks of 8, combined as a tree, then the remainder."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    end = n - n % 8
    while i < end:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True, nogil=True)
def _pairwise(a: np.ndarray, lo: int, n: int) -> float:  # pragma: no cover - compiled
    """numpy's pairwise_sum of ``a[lo:lo + n]``: above 128 terms, the sum of the two halves
    (the first a multiple of 8 long). numpy recurses; numba cannot cache a recursive
    function, so the recursion runs on an explicit stack."""
    if n <= _BLOCK:
        return _block(a, lo, n)
    f_lo = np.empty(64, np.int64)  # depth <= log2(n)
    f_n = np.empty(64, np.int64)
    f_state = np.empty(64, np.int64)  # 0: split next, 1: left half done, 2: both done
    f_left = np.empty(64)
    f_lo[0], f_n[0], f_state[0] = lo, n, 0
    top = 0
    result = 0.0
    while top >= 0:
        m = f_n[top]
        if m <= _BLOCK:
            result = _block(a, f_lo[top], m)
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if f_state[top] == 0:
            f_state[top] = 1
            top += 1
            f_lo[top], f_n[top], f_state[top] = f_lo[top - 1], half, 0
        elif f_state[top] == 1:
            f_left[top] = result
            f_state[top] = 2
            top += 1
            f_lo[top], f_n[top], f_state[top] = f_lo[top - 1] + half, m - half, 0
        else:
            result = f_left[top] + result
            top -= 1
    return result


@njit(cache=True, nogil=True)
def segment_sum(a: np.ndarray, n: int) -> float:  # pragma: no cover - compiled
    """``np.add.reduceat(a[:n], [0])[0]`` (0.0 for n == 0), bit for bit."""
    if n == 0:
        return 0.0
    if n == 1:
        return a[0]
    return a[0] + _pairwise(a, 1, n - 1)


@njit(cache=True, nogil=True)
def _matches(idx: np.ndarray, s: int, e: int, q: int, qe: int, at: np.ndarray,
             other: np.ndarray) -> int:  # pragma: no cover - compiled
    """Merge-join the ascending term runs ``idx[s:e]`` and ``idx[q:qe]``: the positions of
    the shared terms go to ``at`` (first run) and ``other`` (second), in term order; returns
    how many there are."""
    h = 0
    for p in range(s, e):
        term = idx[p]
        while q < qe and idx[q] < term:
            q += 1
        if q == qe:
            break
        if idx[q] == term:
            at[h] = p
            other[h] = q
            h += 1
    return h


@njit(cache=True, nogil=True)
def _widest(indptr: np.ndarray, rows: np.ndarray) -> int:  # pragma: no cover - compiled
    width = 0
    for r in rows:
        width = max(width, indptr[r + 1] - indptr[r])
    return width


@njit(cache=True, nogil=True)
def query_match(indptr: np.ndarray, idx: np.ndarray, cnt: np.ndarray, val: np.ndarray,
                rows: np.ndarray, query_rows: np.ndarray, idf: np.ndarray, avgdl: float,
                k1: float, b: float, with_bm25: bool) -> tuple[np.ndarray, np.ndarray]:
    # pragma: no cover - compiled
    """Per candidate: BM25 of its row against its query row (Lucene's saturation, a query
    term counted once; zeros unless ``with_bm25``) and the cosine of the two unit TF-IDF
    rows. ``rows[i]`` / ``query_rows[i]`` are store rows; both rows' terms ascend."""
    n = len(rows)
    bm25 = np.zeros(n)
    cos = np.zeros(n)
    width = _widest(indptr, rows)
    at = np.empty(width, np.int64)
    other = np.empty(width, np.int64)
    hits_bm = np.empty(width)
    hits_cos = np.empty(width)
    for i in range(n):
        s, e = indptr[rows[i]], indptr[rows[i] + 1]
        h = _matches(idx, s, e, indptr[query_rows[i]], indptr[query_rows[i] + 1], at, other)
        for m in range(h):
            hits_cos[m] = val[at[m]] * val[other[m]]
        cos[i] = segment_sum(hits_cos, h)
        if with_bm25:
            dl = 0.0
            for p in range(s, e):
                dl += cnt[p]
            norm = k1 * ((1 - b) + b * dl / avgdl)
            for m in range(h):
                tf = cnt[at[m]]
                hits_bm[m] = tf / (tf + norm) * idf[idx[at[m]]]
            bm25[i] = segment_sum(hits_bm, h)
    return bm25, cos


@njit(cache=True, nogil=True)
def anchor_similarity(indptr: np.ndarray, idx: np.ndarray, val: np.ndarray, rows: np.ndarray,
                      pair_row: np.ndarray, pair_anchor: np.ndarray) -> np.ndarray:
    # pragma: no cover - compiled
    """Mean TF-IDF cosine of each candidate with its anchors.

    ``pair_row`` / ``pair_anchor`` list (candidate, anchor) pairs by ascending candidate,
    each candidate's anchors in the order they are averaged; ``rows`` maps a candidate to its
    store row. The mean is a Kahan sum (pandas' groupby mean) over the anchors; 0 without any.
    """
    n = len(rows)
    total = np.zeros(n)
    comp = np.zeros(n)
    count = np.zeros(n, np.int64)
    width = _widest(indptr, rows)
    at = np.empty(width, np.int64)
    other = np.empty(width, np.int64)
    hits = np.empty(width)
    for j in range(len(pair_row)):
        i = pair_row[j]
        r, a = rows[i], rows[pair_anchor[j]]
        h = _matches(idx, indptr[r], indptr[r + 1], indptr[a], indptr[a + 1], at, other)
        for m in range(h):
            hits[m] = val[at[m]] * val[other[m]]
        y = segment_sum(hits, h) - comp[i]
        t = total[i] + y
        comp[i] = (t - total[i]) - y
        total[i] = t
        count[i] += 1
    out = np.zeros(n)
    for i in range(n):
        if count[i] > 0:
            out[i] = total[i] / count[i]
    return out


@njit(cache=True, nogil=True)
def _common(a: np.ndarray, a0: int, a1: int, b: np.ndarray, b0: int,
            b1: int) -> int:  # pragma: no cover - compiled
    """How many ids two ascending runs without repeats share."""
    n = 0
    while a0 < a1 and b0 < b1:
        if a[a0] < b[b0]:
            a0 += 1
        elif a[a0] > b[b0]:
            b0 += 1
        else:
            n += 1
            a0 += 1
            b0 += 1
    return n


# Layout of a product's packed token ids (feature_products builds it): a header, then the
# id runs in this order. A missing brand / type has length -1 and no run.
TITLE_N, STEMS_N, BRAND_N, TYPE_N, BRAND_SET, TITLE_WORDS, HEADER = range(7)


@njit(cache=True, nogil=True)
def token_overlaps(packed: np.ndarray, offsets: np.ndarray, row_q: np.ndarray,
                   q_ptr: np.ndarray, q_ids: np.ndarray, q_counts: np.ndarray,
                   q_head: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Token-overlap features of each row with its query, shaped (rows, 7): query and stem
    coverage, head-noun match, number match, title length, brand and type match.

    A row's packed ids start at ``offsets[i]``. Query j's known token, stem and number ids
    are the runs ``q_ids[q_ptr[3j]:q_ptr[3j + 1]]``, ``...[q_ptr[3j + 1]:q_ptr[3j + 2]]`` and
    ``...[q_ptr[3j + 2]:q_ptr[3j + 3]]``; ``q_counts[j]`` counts its tokens, stems and
    numbers including unknown ones (the denominators); ``q_head[j]`` is its head stem's id,
    -1 when unknown or absent.
    """
    n = len(offsets)
    out = np.empty((n, 7))
    for i in range(n):
        j = row_q[i]
        t0, s0, m0, m1 = q_ptr[3 * j], q_ptr[3 * j + 1], q_ptr[3 * j + 2], q_ptr[3 * j + 3]
        n_tok, n_stem, n_num = q_counts[j, 0], q_counts[j, 1], q_counts[j, 2]
        p = offsets[i]
        lt, ls, lb, lp = (packed[p + TITLE_N], packed[p + STEMS_N], packed[p + BRAND_N],
                          packed[p + TYPE_N])
        tt = p + HEADER
        ts = tt + lt
        bt = ts + ls
        pt = bt + max(lb, 0)
        out[i, 0] = _common(q_ids, t0, s0, packed, tt, ts) / n_tok if n_tok else 0.0
        out[i, 1] = _common(q_ids, s0, m0, packed, ts, bt) / n_stem if n_stem else 0.0
        head = 0.0
        if q_head[j] >= 0:
            for k in range(ts, bt):
                if packed[k] == q_head[j]:
                    head = 1.0
        out[i, 2] = head
        out[i, 3] = _common(q_ids, m0, m1, packed, tt, ts) / n_num if n_num else np.nan
        out[i, 4] = float(packed[p + TITLE_WORDS])
        if lb < 0:
            out[i, 5] = np.nan
        else:
            inside = _common(packed, bt, bt + lb, q_ids, t0, s0) == lb
            out[i, 5] = 1.0 if packed[p + BRAND_SET] == 1 and inside else 0.0
        if lp < 0:
            out[i, 6] = np.nan
        else:
            out[i, 6] = _common(packed, pt, pt + lp, q_ids, t0, s0) / max(lp, 1)
    return out
