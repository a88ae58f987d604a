"""Strategy comparison: values worked out by hand on small frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seemingly.explain.strategies import STRATEGIES, compare_strategies
from seemingly.results.explain import StrategyLevels


def _levels(rows: list) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["query", "product_id", "offers", "purchases",
                                       "engagements", "relevant"])



def _values(block: StrategyLevels) -> dict[str, float | None]:
    return {name: getattr(block, name) for name in STRATEGIES}

def test_pair_strategies_by_hand() -> None:
    lv = _levels([
        ("a", "r1", 10, 2, 5, True), ("a", "i1", 10, 4, 6, False),
        ("b", "r2", 20, 6, 8, True), ("b", "i2", 20, 2, 10, False),
    ])
    r = compare_strategies(lv, n_boot=0)
    # purchase levels: a: rel .2, irr .4; b: rel .3, irr .1 -> optimal mean (.4 + .3) / 2
    opt = (0.4 + 0.3) / 2
    p = _values(r.purchase)
    assert p["optimal"] == pytest.approx(1.0)
    assert p["relevant"] == pytest.approx((0.2 + 0.3) / 2 / opt)
    assert p["irrelevant"] == pytest.approx((0.4 + 0.1) / 2 / opt)
    assert p["random"] == pytest.approx((0.3 + 0.2) / 2 / opt)
    assert p["worst"] == pytest.approx((0.2 + 0.1) / 2 / opt)
    assert r.purchase.n_queries == 2
    e = _values(r.engagement)  # a: .5 / .6, b: .4 / .5 -> irrelevant is optimal in both
    assert e["irrelevant"] == pytest.approx(1.0)
    assert e["worst"] == pytest.approx(e["relevant"])
    d = r.model_dump()
    assert set(d["purchase"]) >= {"optimal", "relevant", "irrelevant", "random", "worst",
                                  "n_queries"}
    assert all(isinstance(d["purchase"][s], float) for s in ("optimal", "random"))


def test_selection_rules() -> None:
    lv = _levels([
        ("a", "r1", 10, 2, 5, True), ("a", "i1", 3, 3, 3, False),   # irrelevant too few offers
        ("b", "r2", 10, 1, 1, True), ("b", "r3", 10, 5, 5, True),   # no irrelevant
        ("c", "r4", 10, 1, 2, True), ("c", "i4", 10, 3, 4, False), ("c", "u", 50, 50, 50, None),
        ("c", "i5", 30, 0, 0, False),  # the most offered irrelevant product is the pair's
    ])
    r = compare_strategies(lv, min_offers=5, n_boot=0)
    assert r.purchase.n_queries == 1
    # query c pair: r4 (.1) vs i5 (0) -> relevant is optimal
    assert _values(r.purchase)["relevant"] == pytest.approx(1.0)
    assert _values(r.purchase)["irrelevant"] == pytest.approx(0.0)
    # k candidates in c: r4 .1, i4 .3, i5 0 -> optimal .3, relevant .1, irrelevant .15
    k = _values(r.purchase.k_candidates)
    assert k["relevant"] == pytest.approx(0.1 / 0.3)
    assert k["irrelevant"] == pytest.approx(0.15 / 0.3)
    assert k["random"] == pytest.approx((0.4 / 3) / 0.3)
    assert k["worst"] == pytest.approx(0.0)


def test_bootstrap_interval_is_seeded_and_covers_estimate() -> None:
    rng = np.random.default_rng(1)
    rows = []
    for q in range(60):
        rows.append((f"q{q}", "r", 20, int(rng.integers(0, 10)), 10, True))
        rows.append((f"q{q}", "i", 20, int(rng.integers(0, 10)), 10, False))
    lv = _levels(rows)
    a = compare_strategies(lv, n_boot=300, seed=3)
    b = compare_strategies(lv, n_boot=300, seed=3)
    assert a.model_dump() == b.model_dump()
    for name in ("relevant", "irrelevant", "random", "worst"):
        lo, hi = a.purchase.ci[name]
        assert lo <= getattr(a.purchase, name) <= hi
        assert hi - lo > 0


def test_row_order_does_not_matter() -> None:
    lv = _levels([
        ("a", "r1", 10, 2, 5, True), ("a", "i1", 10, 4, 6, False), ("a", "i0", 10, 1, 1, False),
        ("b", "r2", 20, 6, 8, True), ("b", "i2", 20, 2, 10, False),
    ])
    a = compare_strategies(lv, n_boot=50)
    b = compare_strategies(lv.sample(frac=1.0, random_state=4), n_boot=50)
    assert a.model_dump() == b.model_dump()


@pytest.mark.parametrize("drop", ["relevant", "offers", "purchases"])
def test_missing_column(drop: str) -> None:
    lv = _levels([("a", "r1", 10, 2, 5, True)]).drop(columns=[drop])
    with pytest.raises(KeyError, match=drop):
        compare_strategies(lv)
