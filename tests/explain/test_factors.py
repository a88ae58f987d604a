"""Per-offer factors on a tiny hand-made log; every value below is worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest
from support.factor_log import JUDGMENTS, OFFERS, ORDERS, PRODUCTS

from seemingly.config import HypothesisSettings
from seemingly.explain.factors import build_offer_factors, offer_factors


class _Rows:
    """``f.at[offer, column]`` over a frame's records (keeps the checks short and typed)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.rows = frame.set_index("offer_id").to_dict("index")
        self.at = self

    def __getitem__(self, key: tuple[str, str]) -> Any:
        return self.rows[key[0]][key[1]]


def _by_hand_checks(frame: pd.DataFrame) -> None:
    f = _Rows(frame)
    assert sorted(map(str, f.rows)) == ["o1", "o2", "o3", "o4", "o6"]  # o5: (lego, x) never judged
    # purchases: i1 = o1 + orders a, b = 3; r1 = o3 + a = 2 (order "o3" is o3 itself);
    # r2 = 1; i2 = 1; x = 0
    # catalog counts sorted [0, 1, 1, 2, 3]; mid-rank percentile = (below + ties/2) / 5
    assert f.at["o1", "popularity"] == pytest.approx(70.0)  # o1 bought i1: leave-one-out 2
    assert f.at["o2", "popularity"] == pytest.approx(90.0)  # 3
    assert f.at["o3", "popularity"] == pytest.approx(40.0)  # r1 bought in o3: 1
    assert f.at["o1", "popularity_log2"] == pytest.approx(math.log2(3))
    assert f.at["o2", "popularity_log2"] == pytest.approx(2.0)
    # median price of lego's relevant products (10, 40) = 25
    assert f.at["o1", "price_ratio"] == pytest.approx(math.log2(5 / 25))
    assert f.at["o3", "price_ratio"] == pytest.approx(math.log2(10 / 25))
    assert pd.isna(f.at["o4", "price_ratio"])  # i2 has no price
    assert pd.isna(f.at["o6", "price_ratio"])  # this query has no relevant product
    # baskets a{i1,r1} b{i1,r2} c{i2} (not "o3": an offer purchase): N=3, n_i1=2, n_r=1,
    # n_ab=1 -> lift 1/(2/3+1) = 0.6
    assert f.at["o1", "copurchase"] == pytest.approx(math.log2(1.6))
    assert f.at["o3", "copurchase"] == pytest.approx(0.0)  # r1 and r2 never together
    assert f.at["o4", "copurchase"] == pytest.approx(0.0)
    assert pd.isna(f.at["o6", "copurchase"]) and pd.isna(f.at["o6", "semantic"])
    # semantic: i1 shares "lego", type and brand markers with r1 and r2; i2 shares nothing
    assert 0 < f.at["o1", "semantic"] < 1 and f.at["o4", "semantic"] == pytest.approx(0.0)
    # history: u1 bought i1 in o1 itself (not strictly before o1) and in b, before o2
    assert f.at["o1", "history"] == 0 and f.at["o2", "history"] == 1
    assert f.at["o2", "history_brand"] == 1 and f.at["o4", "history_brand"] == 0
    assert f.at["o3", "history"] == 0  # u2 bought i2 later (01-10), and never r1 before
    # u2 never bought i1, but bought r1 (lego) in o3 three days before o6
    assert f.at["o6", "history"] == 0 and f.at["o6", "history_brand"] == 1
    assert f.at["o6", "length_bin"] == "long" and f.at["o1", "length_bin"] == "short"
    assert f.at["o4", "category"] == "beauty"
    assert bool(f.at["o3", "relevant"]) and not bool(f.at["o1", "relevant"])
    assert f.at["o1", "purchased"] == 1 and f.at["o1", "engaged"] == 1


def test_factors_on_memtables_by_hand() -> None:
    rel = JUDGMENTS.assign(relevant=JUDGMENTS.label == "1")[["query", "product_id", "relevant"]]
    ft = build_offer_factors(
        offers=ibis.memtable(OFFERS), products=ibis.memtable(PRODUCTS),
        relevance=ibis.memtable(rel), orders=ibis.memtable(ORDERS),
    )
    assert ft.copurchase_source == "orders" and ft.warnings == ()
    _by_hand_checks(ibis.duckdb.connect().execute(ft.table))


def test_factors_through_the_store(tmp_path: Path) -> None:
    from seemingly.store import store_from_frames

    store = store_from_frames(tmp_path / "s.duckdb", products=PRODUCTS, offers=OFFERS,
                              judgments=JUDGMENTS, orders=ORDERS)
    _by_hand_checks(offer_factors(store).to_pandas())


def test_without_orders_history_comes_from_offers_and_warns() -> None:
    rel = JUDGMENTS.assign(relevant=JUDGMENTS.label == "1")[["query", "product_id", "relevant"]]
    ft = build_offer_factors(
        offers=ibis.memtable(OFFERS), products=ibis.memtable(PRODUCTS),
        relevance=ibis.memtable(rel), orders=None,
        settings=HypothesisSettings(short_max=1, long_min=7),
    )
    f = _Rows(ibis.duckdb.connect().execute(ft.table))
    assert ft.warnings and "orders" in ft.warnings[0]
    assert f.at["o2", "history"] == 1  # o1's purchase, a day earlier
    assert f.at["o1", "popularity_log2"] == 0.0  # its own purchase left out, nothing else
    assert f.at["o6", "length_bin"] == "medium"  # 6 tokens < long_min=7


def _memtable_factors(cells: bool) -> pd.DataFrame:
    rel = JUDGMENTS.assign(relevant=JUDGMENTS.label == "1")[["query", "product_id", "relevant"]]
    ft = build_offer_factors(
        offers=ibis.memtable(OFFERS), products=ibis.memtable(PRODUCTS),
        relevance=ibis.memtable(rel), orders=ibis.memtable(ORDERS), cells=cells,
    )
    return ibis.duckdb.connect().execute(ft.table)


def test_offer_cells_sum_the_offers_by_hand() -> None:
    cells = _memtable_factors(cells=True)
    # judged offers o1 o2 o3 o4 o6 fall in 5 distinct cells: (lego, i1) splits into o1
    # (purchased, no history) and o2 (not purchased, history), the rest are alone
    assert len(cells) == 5 and cells["offers"].sum() == 5
    i1 = cells[(cells["query"] == "lego") & (cells["product_id"] == "i1")].set_index("purchased")
    assert i1.loc[1, "offers"] == 1 and i1.loc[1, "purchases"] == 1 and i1.loc[1, "history"] == 0
    assert i1.loc[0, "purchases"] == 0 and i1.loc[0, "history"] == 1
    assert i1.loc[1, "popularity"] == pytest.approx(70.0)  # leave-one-out, as per offer
    assert i1.loc[0, "popularity_log2"] == pytest.approx(2.0)
    assert cells["engagements"].sum() == 2  # o1, o3


def test_patterns_from_cells_equal_patterns_from_offers() -> None:
    from seemingly.explain.hypotheses.patterns import pattern_frame

    settings = HypothesisSettings()
    a = pattern_frame(ibis.memtable(_memtable_factors(cells=True)), settings)
    b = pattern_frame(ibis.memtable(_memtable_factors(cells=False)), settings)
    pd.testing.assert_frame_equal(a, b)
    assert a["offers"].sum() == 5 and a["purchases"].sum() == 2


@pytest.mark.parametrize("seed", [0, 1])
def test_popularity_percentiles_match_a_brute_force_reference(seed: int) -> None:
    from seemingly.explain.factors import _popularity

    rng = np.random.default_rng(seed)
    ids = [f"p{i}" for i in range(60)]
    counts = rng.integers(0, 6, len(ids))  # few distinct values: many ties
    bought = pd.DataFrame({"product_id": np.repeat(ids, counts)})
    out = ibis.duckdb.connect().execute(
        _popularity(ibis.memtable(bought), ibis.memtable(pd.DataFrame({"product_id": ids})))
    ).set_index("product_id").loc[ids]

    def pct(v: int) -> float:  # mid-rank percentile of v among all counts, straight from the def
        return 100.0 * (np.sum(counts < v) + 0.5 * np.sum(counts == v)) / len(counts)

    assert out["pop_n"].tolist() == counts.tolist()
    assert np.allclose(out["pop_keep"], [pct(v) for v in counts])
    assert np.allclose(out["pop_drop"], [pct(max(v - 1, 0)) for v in counts])
