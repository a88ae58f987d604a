"""The one Wilson interval: by hand, against statsmodels, and the Ibis form against numpy."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from seemingly.explain.intervals import wilson, wilson_expr


def test_wilson_by_hand() -> None:
    # 6 of 14 at 95 %: z^2 = 3.8415, centre = (6/14 + z^2/28) / (1 + z^2/14) = 0.44395,
    # half = z * sqrt(p q / 14 + z^2 / 784) / (1 + z^2/14) = 0.23015.
    lo, hi = wilson(6, 14)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.2138, 0.6741)
    lo0, hi0 = wilson(0, 5)
    assert float(lo0) == 0.0 and float(hi0) == pytest.approx(3.8415 / (5 + 3.8415), abs=1e-4)
    lo_n, hi_n = wilson([1, 0], [0, 0])
    assert np.isnan(lo_n).all() and np.isnan(hi_n).all()


@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(1, 500)), min_size=1, max_size=20),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_wilson_matches_statsmodels(pairs: list[tuple[int, int]], conf: float) -> None:
    x = np.array([min(a, n) for a, n in pairs])
    n = np.array([n for _, n in pairs])
    lo, hi = wilson(x, n, conf)
    ref_lo, ref_hi = proportion_confint(x, n, alpha=1 - conf, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, atol=1e-12)
    np.testing.assert_allclose(hi, ref_hi, atol=1e-12)


def test_wilson_matches_statsmodels_at_the_edges() -> None:
    s, n = np.array([0, 3, 50, 10]), np.array([10, 40, 50, 1000])
    lo, hi = wilson(s, n, 0.9)
    ref_lo, ref_hi = proportion_confint(s, n, alpha=0.1, method="wilson")
    assert np.allclose(lo, ref_lo) and np.allclose(hi, ref_hi)


@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_ibis_form_equals_numpy(confidence: float) -> None:
    frame = pd.DataFrame({"x": [0, 3, 50, 10, 1], "n": [10, 40, 50, 1000, 1]})
    t = ibis.memtable(frame)
    lo_e, hi_e = wilson_expr(t.x, t.n, confidence)
    got = t.select(lo=lo_e, hi=hi_e).to_pandas()
    lo, hi = wilson(frame["x"], frame["n"], confidence)
    np.testing.assert_allclose(got["lo"], lo, rtol=0, atol=1e-15)
    np.testing.assert_allclose(got["hi"], hi, rtol=0, atol=1e-15)
