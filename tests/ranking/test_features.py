"""Ranking-time features: BM25 against bm25s, hand-worked values, snapshot round trip,
no leakage from the label window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seemingly.ranking.features import FEATURE_NAMES, FeatureSnapshot, compute_features

CATALOG = pd.DataFrame({
    "product_id": ["a", "b", "c", "d"],
    "title": ["red toy car", "blue coffee mug", "toy train set", "coffee beans dark roast"],
    "category": ["toys", "home", "toys", "grocery"],
    "price": [10.0, 5.0, 20.0, 8.0],
    "brand": ["Zoom", "Mugly", "Zoom", None],
    "product_type": ["car", "mug", "train", "coffee"],
})


def _snapshot() -> FeatureSnapshot:
    stats = pd.DataFrame({"product_id": ["a", "b", "c"], "purchases": [10.0, 0.0, 3.0],
                          "engagements": [20.0, 1.0, 3.0], "offers": [40.0, 10.0, 30.0]})
    cp = pd.DataFrame({"product_a": ["a", "c"], "product_b": ["c", "a"], "lift": [3.0, 3.0]})
    hist = pd.DataFrame({"user_id": ["u1"], "product_id": ["c"], "brand": ["Zoom"]})
    return FeatureSnapshot.from_catalog(CATALOG, product_stats=stats, copurchase=cp,
                                        history=hist)


def test_bm25_agrees_with_bm25s() -> None:
    bm25s = pytest.importorskip("bm25s")
    snap = _snapshot()
    corpus = [t.lower().split() for t in CATALOG["title"]]
    retriever = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    retriever.index(_ids(corpus))
    rows = pd.DataFrame({"query": ["toy car"] * 4, "product_id": list("abcd")})
    ours = compute_features(rows, snap)["bm25"].to_numpy()
    ref = retriever.get_scores(["toy", "car"])
    np.testing.assert_allclose(ours, ref, rtol=1e-5)


def _ids(corpus: list[list[str]]):  # type: ignore[no-untyped-def]
    import bm25s

    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(w, len(vocab)) for w in doc] for doc in corpus]
    return bm25s.tokenization.Tokenized(ids=ids, vocab=vocab)


def test_hand_worked_features() -> None:
    snap = _snapshot()
    rows = pd.DataFrame({"query": ["zoom toy car"] * 3, "product_id": ["a", "b", "c"],
                         "user_id": ["u1"] * 3})
    f = compute_features(rows, snap)
    assert list(f.columns) == list(FEATURE_NAMES)
    assert f["query_length"].tolist() == [3, 3, 3]
    assert f["query_coverage"].tolist() == pytest.approx([2 / 3, 0.0, 1 / 3])
    assert f["fuzzy_coverage"].tolist() == pytest.approx([2 / 3, 0.0, 1 / 3])
    assert f["head_match"].tolist() == [1.0, 0.0, 0.0]
    assert f["number_match"].isna().all()  # the query names no size or number
    assert f["title_length"].tolist() == [3.0, 3.0, 3.0]
    # candidate prices 10, 5, 20 -> median 10
    assert f["price_relative"].tolist() == pytest.approx([0.0, -1.0, 1.0])
    assert f["brand_match"].tolist() == [1.0, 0.0, 1.0]
    assert f["popularity"].tolist() == pytest.approx(np.log1p([10.0, 0.0, 3.0]))
    # smoothed rate: (purchases + 20 * global) / (offers + 20), global = 13 / 80
    g = 13 / 80
    assert f["purchase_rate"].iloc[0] == pytest.approx((10 + 20 * g) / 60)
    assert f["user_bought_product"].tolist() == [0.0, 0.0, 1.0]
    assert f["user_bought_brand"].tolist() == [1.0, 0.0, 1.0]
    assert f["copurchase_max"].tolist() == pytest.approx([np.log1p(3.0), 0.0, np.log1p(3.0)])
    assert f["text_rank"].iloc[0] == 1.0 and f["text_rank"].iloc[1] == 0.0
    assert f["category"].tolist() == [snap.categories.index("toys"),
                                      snap.categories.index("home"),
                                      snap.categories.index("toys")]


def test_stems_and_numbers() -> None:
    rows = pd.DataFrame({"query": ["2 toy trains"], "product_id": ["c"]})
    f = compute_features(rows, _snapshot())
    assert f["query_coverage"].iloc[0] == pytest.approx(1 / 3)  # "toy" only
    assert f["fuzzy_coverage"].iloc[0] == pytest.approx(2 / 3)  # "trai" matches "train"
    assert f["head_match"].iloc[0] == 1.0
    assert f["number_match"].iloc[0] == 0.0


def test_candidates_are_ranked_within_their_group_only() -> None:
    snap = _snapshot()
    one = compute_features(pd.DataFrame({"query": ["toy"] * 2, "product_id": ["a", "c"]}), snap)
    both = compute_features(pd.DataFrame({"query": ["toy", "toy", "mug", "mug"],
                                          "product_id": ["a", "c", "b", "d"]}), snap)
    pd.testing.assert_frame_equal(one, both.iloc[:2])


def test_no_user_means_missing_history() -> None:
    f = compute_features(pd.DataFrame({"query": ["toy"], "product_id": ["c"]}), _snapshot())
    assert np.isnan(f["user_bought_product"].iloc[0])


def test_snapshot_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    snap = _snapshot()
    snap.save(tmp_path)
    back = FeatureSnapshot.load(tmp_path)
    rows = pd.DataFrame({"query": ["coffee mug", "coffee mug", "coffee mug"],
                         "product_id": ["b", "d", "a"], "user_id": ["u1", "u2", None]})
    pd.testing.assert_frame_equal(compute_features(rows, snap), compute_features(rows, back))
    assert not list(tmp_path.glob("*.pkl"))


def test_missing_columns() -> None:
    with pytest.raises(KeyError, match="product_id"):
        compute_features(pd.DataFrame({"query": ["x"]}), _snapshot())


@pytest.mark.slow
def test_label_window_outcomes_do_not_reach_features(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from seemingly.config import AnalysisSettings
    from seemingly.ranking.models.data import build_model_data
    from seemingly.simulate import simulate
    from seemingly.store import store_from_frames

    simulate(tmp_path / "sim", "default", n_offers=6000, seed=3)
    products = pd.read_parquet(tmp_path / "sim" / "products.parquet")
    judgments = pd.read_parquet(tmp_path / "sim" / "judgments.parquet")
    offers = pd.read_parquet(tmp_path / "sim" / "offers")
    orders = pd.read_parquet(tmp_path / "sim" / "orders")
    a = build_model_data(store_from_frames(tmp_path / "a.duckdb", products, offers, judgments,
                                           orders), AnalysisSettings())
    late = offers["timestamp"] >= offers["timestamp"].quantile(0.6)  # after the 0.5 cutoff
    flipped = offers.assign(purchased=np.where(late, ~offers["purchased"], offers["purchased"]))
    flipped["engaged"] = flipped["engaged"] | flipped["purchased"]
    b = build_model_data(store_from_frames(tmp_path / "b.duckdb", products, flipped, judgments,
                                           orders), AnalysisSettings())
    cols = [c for c in FEATURE_NAMES if not c.startswith("user_")]
    pd.testing.assert_frame_equal(a.candidates[cols], b.candidates[cols])
    assert (a.candidates["purchases"] != b.candidates["purchases"]).any()


def test_relation_anchors_are_the_best_text_matches_in_any_order() -> None:
    # Anchors stand in for the relevant products: the 3 other candidates with the best text
    # match. "e" matches the query worst, so it is nobody's anchor, while "a" (best) is
    # everybody's; only a-e were bought together.
    catalog = pd.DataFrame({
        "product_id": ["a", "b", "c", "d", "e"],
        "title": ["red toy car", "red toy", "toy car track", "car wash", "blue mug"],
        "category": ["toys"] * 5, "price": [1.0] * 5})
    cp = pd.DataFrame({"product_a": ["a", "e"], "product_b": ["e", "a"], "lift": [3.0, 3.0]})
    snap = FeatureSnapshot.from_catalog(catalog, copurchase=cp)
    lift = np.log1p(3.0)
    for order in (list("abcde"), list("edcba"), list("ceadb")):
        f = compute_features(pd.DataFrame({"query": ["red toy car"] * 5, "product_id": order}),
                             snap).set_index(pd.Index(order)).sort_index()
        score = f["bm25"] + f["char_cosine"]
        assert score.idxmax() == "a" and score.idxmin() == "e" and score.is_unique
        assert f["copurchase_relation"].tolist() == pytest.approx([0, 0, 0, 0, lift])
        assert f["copurchase_max"].tolist() == pytest.approx([lift, 0, 0, 0, lift])
        if order[0] == "a":
            first = f
        else:
            pd.testing.assert_frame_equal(f, first)
