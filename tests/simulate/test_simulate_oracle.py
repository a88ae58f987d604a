"""The oracle's true probabilities agree with what the simulator wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seemingly.simulate import simulate
from seemingly.simulate.oracle import majority_probability, true_probabilities

N_OFFERS, SEED = 30_000, 11


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("oracle")
    simulate(root / "data", "default", n_offers=N_OFFERS, seed=SEED, latent_dir=root / "latent")
    return root / "data", root / "latent", true_probabilities(
        "default", n_offers=N_OFFERS, seed=SEED)


def test_majority_probability_by_hand() -> None:
    # 3 votes at 0.9: 3 * 0.9^2 * 0.1 + 0.9^3 = 0.972; 2 votes: tie counts only if asked
    p = majority_probability(np.array([3, 2, 2]), np.array([0.9, 0.9, 0.9]))
    assert p == pytest.approx([0.972, 0.81, 0.81])
    t = majority_probability(np.array([2]), np.array([0.9]), tie="relevant")
    assert t == pytest.approx([0.81 + 2 * 0.9 * 0.1])


def test_judged_pairs_and_rates(world: tuple[Path, Path, pd.DataFrame]) -> None:
    data, _, truth = world
    pairs = truth.drop_duplicates(["query", "product_id"])
    assert not pairs.duplicated(["query", "product_id"]).any()
    j = pd.read_parquet(data / "judgments.parquet")
    j["vote"] = j["label"].astype(int)
    g = j.groupby(["query", "product_id"]).agg(n=("vote", "size"), yes=("vote", "sum"))
    g = g.reset_index()
    judged = pairs[pairs["judged"]]
    m = judged.merge(g, on=["query", "product_id"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all()  # the replayed draws pick the written pairs
    assert (m["n"] == m["n_annotators"]).all()
    majority = (2 * m["yes"] > m["n"]).astype(float)
    p = m["p_judged_relevant"].to_numpy()
    for rel in (True, False):  # each class within 4 binomial standard errors
        s = m["true_relevant"].to_numpy() == rel
        err = np.sqrt((p[s] * (1 - p[s])).sum())
        assert abs(majority[s].sum() - p[s].sum()) < 4 * err + 1


def test_outcome_probabilities_match_offers(world: tuple[Path, Path, pd.DataFrame]) -> None:
    data, latent, truth = world
    offers = pd.read_parquet(data / "offers")
    lat = pd.read_parquet(latent)
    o = offers.merge(lat[["offer_id", "history", "brand_history", "p_purchase"]],
                     on="offer_id")
    o = o.assign(user_bought_product=o["history"].astype(float),
                 user_bought_brand=o["brand_history"].astype(float))
    m = o.merge(truth, on=["query", "product_id", "user_bought_product", "user_bought_brand"],
                how="left", suffixes=("_sim", ""))
    assert len(m) == len(offers) and m["p_purchase"].notna().all()
    # the purchase probability the simulator drew with, exactly
    np.testing.assert_allclose(m["p_purchase"], m["p_purchase_sim"], rtol=1e-12)
    for col, p in (("purchased", "p_purchase"), ("engaged", "p_engagement")):
        q = m[p].to_numpy()
        err = np.sqrt((q * (1 - q)).sum())
        assert abs(m[col].sum() - q.sum()) < 4 * err
