"""The compiled text-feature loops against numpy / a hand-worked example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seemingly.ranking.features.kernels import (
    anchor_similarity,
    query_match,
    segment_sum,
    token_overlaps,
)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 130, 255, 256,
                               257, 1000, 4099])
def test_segment_sum_is_numpy_reduceat_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    # magnitudes over 16 orders, so a different summation order shows in the last bits
    a = rng.random(max(n, 1)) * 10.0 ** rng.integers(-8, 8, max(n, 1))
    want = float(np.add.reduceat(a[:n], [0])[0]) if n else 0.0
    assert segment_sum(a, n) == want


def _store(rows: list[dict[int, tuple[float, float]]]) -> tuple[np.ndarray, ...]:
    """CSR arrays of rows given as {term: (count, value)}."""
    indptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    items = [(t, *r[t]) for r in rows for t in sorted(r)]
    idx = np.array([i[0] for i in items], np.int64)
    cnt = np.array([i[1] for i in items], float)
    val = np.array([i[2] for i in items], float)
    return indptr, idx, cnt, val


def test_query_match_by_hand() -> None:
    # rows 0, 1: titles; row 2: the query (terms 1 and 3)
    indptr, idx, cnt, val = _store([
        {1: (2.0, 0.6), 2: (1.0, 0.8)},
        {0: (1.0, 1.0)},
        {1: (1.0, 0.5), 3: (1.0, math.sqrt(0.75))},
    ])
    idf = np.array([1.0, 2.0, 3.0, 4.0])
    k1, b, avgdl = 1.2, 0.75, 2.0
    bm25, cos = query_match(indptr, idx, cnt, val, np.array([0, 1]), np.array([2, 2]), idf,
                            avgdl, k1, b, True)
    # title 0: length 3, term 1 (tf 2) matches
    norm = k1 * (1 - b + b * 3.0 / avgdl)
    assert bm25[0] == pytest.approx(2.0 / (2.0 + norm) * 2.0, rel=1e-15)
    assert cos[0] == pytest.approx(0.6 * 0.5, rel=1e-15)
    assert bm25[1] == 0.0 and cos[1] == 0.0  # no shared term
    _, cos_only = query_match(indptr, idx, cnt, val, np.array([0]), np.array([2]), idf, 1.0,
                              0.0, 0.0, False)
    assert cos_only[0] == cos[0]


def test_anchor_similarity_averages_over_each_rows_anchors() -> None:
    indptr, _, _, val = _store([{0: (1, 1.0)}, {0: (1, 0.6), 1: (1, 0.8)}, {1: (1, 1.0)}])
    idx = np.array([0, 0, 1, 1], np.int64)
    rows = np.array([0, 1, 2])
    # candidate 0 has anchors 1 and 2; candidate 1 has anchor 0; candidate 2 none
    sim = anchor_similarity(indptr, idx, val, rows, np.array([0, 0, 1]), np.array([1, 2, 0]))
    assert sim[0] == pytest.approx((0.6 + 0.0) / 2)
    assert sim[1] == pytest.approx(0.6)
    assert sim[2] == 0.0


def test_token_overlaps_by_hand() -> None:
    from seemingly.ranking.features.kernels import HEADER

    # ids: 1 "lego", 2 "car", 3 "red", 4 "lego" stem "lego", 5 "2024"
    # row 0: title {lego, car, 2024} (4 words), stems {lego, car, 2024}, brand {lego},
    #        no type; row 1: title {red}, stems {red}, no brand, type {car, red}
    row0 = [3, 3, 1, -1, 1, 4, 1, 2, 5, 1, 2, 5, 1]
    row1 = [1, 1, -1, 2, 0, 1, 3, 3, 2, 3]
    assert len(row0) == HEADER + 3 + 3 + 1 and len(row1) == HEADER + 1 + 1 + 2
    packed = np.array(row0 + row1, np.int64)
    offsets = np.array([0, len(row0)], np.int64)
    # query "lego car 2025": tokens lego, car known, 2025 unknown; stems lego, car, 2025
    # (2025's unknown); numbers: 2025 (unknown); head stem "2025" (unknown)
    q_ptr = np.array([0, 2, 4, 4], np.int64)
    q_ids = np.array([1, 2, 1, 2], np.int64)
    q_counts = np.array([[3, 3, 1]], np.int64)
    out = token_overlaps(packed, offsets, np.zeros(2, np.int64), q_ptr, q_ids, q_counts,
                         np.array([-1], np.int64))
    nan = np.nan
    np.testing.assert_array_equal(out[0], [2 / 3, 2 / 3, 0.0, 0.0, 4.0, 1.0, nan])
    np.testing.assert_array_equal(out[1], [0.0, 0.0, 0.0, 0.0, 1.0, nan, 1 / 2])
