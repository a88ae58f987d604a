"""The numpy feature path equals the pandas / scikit-learn one it replaced bit for bit, on
many random candidate sets: offline-style frames (many groups, precomputed history) and
service-style request dicts (one set, catalog look-ups, a user), with ties, empty titles,
unknown words, missing brands and bad prices on purpose. Also: the Ranker's scores equal the
models' predictions on the DataFrame features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from support.features_reference import reference_features

from seemingly.ranking.features import FEATURE_NAMES, FeatureSnapshot, compute_features
from seemingly.ranking.features.matrix import Candidates, feature_matrix

WORDS = ["red", "toy", "car", "Cars", "blue", "mug", "coffee", "beans", "dark", "roast", "lego",
         "set", "train", "2", "500ml", "x10", "kids", "deluxe", "classic", "é-clair", "mini",
         "USB", "cable", "3m", "charger", "shampoo", "hair", "dry", "brackets", "bracket"]
CATEGORIES = ["toys", "home", "grocery", "beauty", "digital"]
BRANDS = ["Zoom", "Mugly", "Kidzoo", "Wondo", "", "Blue Bird", "!!"]


def _title(rng: np.random.Generator) -> str:
    k = int(rng.integers(0, 7))
    return " ".join(rng.choice(WORDS, size=k)) + ("" if rng.random() < 0.9 else "  extra")


def _world(seed: int) -> tuple[pd.DataFrame, FeatureSnapshot]:
    rng = np.random.default_rng(seed)
    n = 150
    titles = [_title(rng) for _ in range(n)]
    for i in range(0, n, 10):  # exact duplicates and reorderings tie on purpose
        titles[i + 1] = titles[i]
        titles[i + 2] = " ".join(reversed(titles[i].split()))
    price = rng.lognormal(2.5, 1.0, n).round(2)
    price[rng.random(n) < 0.08] = np.nan
    price[rng.random(n) < 0.04] = 0.0
    price[: n // 10 * 10 : 10] = 12.5  # shared prices make even-sized medians ties too
    catalog = pd.DataFrame({
        "product_id": [f"p{i:03d}" for i in range(n)],
        "title": titles,
        "category": [None if rng.random() < 0.05 else str(rng.choice(CATEGORIES))
                     for _ in range(n)],
        "price": price,
        "brand": [None if rng.random() < 0.15 else str(rng.choice(BRANDS)) for _ in range(n)],
        "product_type": [None if rng.random() < 0.15 else " ".join(rng.choice(WORDS, 2))
                         for _ in range(n)],
    })
    ids = catalog["product_id"].to_numpy()
    have = rng.choice(ids, size=n // 2, replace=False)
    offers = rng.integers(0, 60, len(have)).astype(float)
    stats = pd.DataFrame({"product_id": have, "offers": offers,
                          "purchases": np.floor(offers * rng.random(len(have))),
                          "engagements": np.floor(offers * rng.random(len(have)))})
    stats["popularity"] = stats["purchases"] + rng.integers(0, 5, len(have))
    stats.loc[3, "engagements"] = np.nan
    a = rng.choice(ids, 300)
    b = rng.choice(ids, 300)
    pairs = pd.DataFrame({"product_a": a, "product_b": b}).drop_duplicates()
    pairs = pairs[pairs["product_a"] != pairs["product_b"]]
    lift = rng.lognormal(0.0, 1.0, len(pairs)) - 0.3  # some negative lifts (clipped to 0)
    lift[::17] = np.nan
    half = pairs.assign(lift=lift)
    cp = pd.concat([half, half.rename(columns={"product_a": "product_b",
                                               "product_b": "product_a"})])
    cp = cp.drop_duplicates(["product_a", "product_b"])
    users = [f"u{i}" for i in range(8)]
    hist = pd.DataFrame({"user_id": rng.choice(users, 80), "product_id": rng.choice(ids, 80)})
    hist = hist.drop_duplicates().merge(catalog[["product_id", "brand"]], on="product_id")
    snap = FeatureSnapshot.from_catalog(catalog, product_stats=stats, copurchase=cp,
                                        history=hist)
    return catalog, snap


def _query(rng: np.random.Generator) -> str:
    r = rng.random()
    if r < 0.05:
        return "!!"  # no token at all
    if r < 0.1:
        return "zzz unknownword"
    return " ".join(rng.choice(WORDS, size=int(rng.integers(1, 5))))


def _assert_same(new: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(new.columns) == list(FEATURE_NAMES)
    pd.testing.assert_index_equal(new.index, ref.index)
    for c in FEATURE_NAMES:
        # the very same floats (NaN where the reference has NaN), not merely close ones
        np.testing.assert_array_equal(new[c].to_numpy(), ref[c].to_numpy(float), err_msg=c)


@pytest.mark.parametrize("seed", [0, 1])
def test_offline_frames_match_reference(seed: int) -> None:
    catalog, snap = _world(seed)
    rng = np.random.default_rng(100 + seed)
    for trial in range(60):
        n_groups = int(rng.integers(1, 12))
        parts = []
        for _ in range(n_groups):
            k = int(rng.integers(1, 12))
            idx = rng.choice(len(catalog), size=k, replace=rng.random() < 0.2)
            parts.append(catalog.iloc[idx].assign(query=_query(rng)))
        rows = pd.concat(parts)
        rows.index = rng.permutation(len(rows)) + 1000  # a foreign index is reset
        kind = trial % 4
        if kind == 0:  # offline training: ids only, history precomputed
            rows = rows[["query", "product_id"]].assign(
                user_bought_product=rng.integers(0, 2, len(rows)).astype(float),
                user_bought_brand=0.0)
        elif kind == 1:  # users from the snapshot's history, some rows without one
            users: list[Any] = [None if rng.random() < 0.3 else f"u{rng.integers(9)}"
                                for _ in range(len(rows))]
            rows = rows.assign(user_id=users)
        elif kind == 2:  # explicit groups across queries, shuffled rows
            rows = rows.assign(group=rng.integers(0, 3, len(rows))).sample(frac=1.0,
                                                                          random_state=trial)
        else:  # some product columns absent: looked up in the catalog
            rows = rows.drop(columns=["title", "brand"])
        _assert_same(compute_features(rows, snap), reference_features(rows, snap))


def _records(catalog: pd.DataFrame, rng: np.random.Generator, k: int) -> list[dict[str, Any]]:
    recs = []
    for r in catalog.iloc[rng.choice(len(catalog), size=k, replace=False)].to_dict("records"):
        d = {str(key): v for key, v in r.items() if not pd.isna(v)}  # as a client sends
        if rng.random() < 0.1:
            d["title"] = _title(rng) + " novel"  # a title the catalog does not have
        recs.append(d)
    return recs


@pytest.mark.parametrize("seed", [0, 3])
def test_request_dicts_match_reference(seed: int) -> None:
    catalog, snap = _world(seed)
    rng = np.random.default_rng(200 + seed)
    for trial in range(60):
        recs = _records(catalog, rng, int(rng.integers(1, 120)))
        if trial % 5 == 0:  # no candidate sends a brand: it comes from the catalog
            recs = [{k: v for k, v in r.items() if k != "brand"} for r in recs]
        query = _query(rng)
        user = None if trial % 2 else f"u{rng.integers(9)}"
        X = feature_matrix(Candidates.from_records(query, recs, user), snap.index)
        # what the Ranker built before: a frame of the dicts
        rows = pd.DataFrame(recs).assign(query=query, user_id=user)
        _assert_same(pd.DataFrame(X, columns=list(FEATURE_NAMES)),
                     reference_features(rows, snap))


def test_features_do_not_depend_on_the_text_cache() -> None:
    catalog, snap = _world(5)
    rows = catalog.assign(query="red toy car 2")
    cold = compute_features(rows, snap)
    snap.index.warm()
    pd.testing.assert_frame_equal(compute_features(rows, snap), cold)
    fresh = FeatureSnapshot.from_catalog(catalog, product_stats=snap.products,
                                         copurchase=snap.copurchase, history=snap.history)
    pd.testing.assert_frame_equal(compute_features(rows, fresh), cold)


def test_ranker_scores_equal_model_predictions_on_frames() -> None:
    from seemingly.ranking.models import OutcomeModel, Ranker, RelevanceModel

    catalog, snap = _world(7)
    rng = np.random.default_rng(7)
    train = catalog.assign(query=[_query(rng) for _ in range(len(catalog))])
    X = compute_features(train, snap)
    rel = RelevanceModel(n_estimators=30).fit(X, (X["bm25"] > X["bm25"].median()).to_numpy(float))
    out = OutcomeModel(n_estimators=30).fit(X, rng.random(len(X)))
    ranker = Ranker({"relevance": rel, "purchase": out}, snap, {"normalization": "min-max"})
    recs = _records(catalog, rng, 60)
    res = ranker.rank("Red toy car", recs, weight=0.4, objective="purchase", user_id="u1",
                      explain=True)
    rows = pd.DataFrame(recs).assign(query="red toy car", user_id="u1")
    F = reference_features(rows, snap)
    by_id = {it.product_id: it for it in res.items}
    for pid, r, o in zip(rows["product_id"], rel.predict(F), out.predict(F), strict=True):
        assert by_id[pid].relevance_score == r  # the same floats in, the same scores out
        assert by_id[pid].outcome_score == o
    first = res.items[0].features
    assert first is not None and set(first) == set(FEATURE_NAMES)
    fused = [it.fused_score for it in res.items]
    assert fused == sorted(fused, reverse=True)


def test_snapshot_with_its_lookups_copies_and_pickles() -> None:
    import copy
    import pickle

    catalog, snap = _world(9)
    rows = catalog.assign(query="blue mug 500ml")
    before = compute_features(rows, snap)  # builds the look-ups and fills the text store
    for other in (pickle.loads(pickle.dumps(snap)), copy.deepcopy(snap)):
        pd.testing.assert_frame_equal(compute_features(rows, other), before)
