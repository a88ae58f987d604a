"""The ranked-list world (``--world serp``): k results per request, a Plackett-Luce logging
policy with logged propensities, examination falling with position, outcomes only when
examined, and the truth an analysis corrected for position bias should recover."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seemingly.simulate import load_world, simulate
from seemingly.simulate.oracle import examination_curve

N = 60_000


def _run(tmp: Path, world: object = "serp", seed: int = 5) -> tuple[pd.DataFrame, dict]:
    out, lat = tmp / "data", tmp / "latent"
    simulate(out, world, n_offers=N, seed=seed, latent_dir=lat)  # type: ignore[arg-type]
    offers = pd.read_parquet(out / "offers").merge(
        pd.read_parquet(lat), on="offer_id", validate="1:1"
    )
    return offers, json.loads((out / "truth.json").read_text())


@pytest.fixture(scope="module")
def serp(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict]:
    return _run(tmp_path_factory.mktemp("serp"))


def test_ten_distinct_results_per_request_with_plackett_luce_propensities(serp) -> None:
    offers, _ = serp
    per = offers.groupby("request_id")
    assert per.size().max() == 10 and per.size().median() == 10
    assert (per.product_id.nunique() == per.size()).all()
    assert (per.position.apply(lambda p: list(p) == list(range(1, len(p) + 1)))).all()
    # the logged propensity of a request's last result is its weight over the weight left,
    # so a request whose pool has exactly k candidates logs 1.0 at position k
    assert offers.propensity.between(0, 1, inclusive="right").all()
    # by hand: position 1's propensity of a query's product is the same on every request
    first = offers[offers.position == 1]
    assert first.groupby(["query", "product_id"]).propensity.nunique().max() == 1
    # relevant and popular products are ranked higher by the policy
    assert offers.groupby("relevant").position.mean()[True] < 4.5 < offers.groupby(
        "relevant").position.mean()[False]


def test_examination_falls_as_one_over_position_and_gates_outcomes(serp) -> None:
    offers, truth = serp
    curve = np.array([c["value"] for c in truth["position"]["examination"]["curve"]])
    np.testing.assert_allclose(curve, 1 / np.arange(1, 11))
    np.testing.assert_allclose(examination_curve("serp"), curve)
    seen = offers.groupby("position").examined.mean().to_numpy()
    n = offers.groupby("position").size().to_numpy()
    assert np.all(np.abs(seen - curve) < 4 * np.sqrt(curve * (1 - curve) / n) + 1e-9)
    assert not offers.loc[~offers.examined, ["purchased", "engaged"]].any().any()
    # once examined, the outcome follows the planted probability whatever the position
    ex = offers[offers.examined]
    for outcome, p in (("purchased", "p_purchase"), ("engaged", "p_engagement")):
        low = ex[ex.position >= 4]
        gap = low[outcome].mean() - low[p].mean()
        assert abs(gap) < 4 * np.sqrt(low[p].mean() / len(low))


def test_truth_levels_are_position_free_means_by_true_relevance(serp) -> None:
    offers, truth = serp
    lv = truth["position"]["levels"]
    for rel, key in ((True, "relevant"), (False, "irrelevant")):
        sub = offers[offers.relevant == rel]
        assert lv["purchase"][key] == pytest.approx(sub.p_purchase.mean())
        assert lv["engagement"][key] == pytest.approx(sub.p_engagement.mean())
        assert lv["offers"][key] == len(sub)
        # the naive level (purchases per offer) understates it, most for irrelevant offers
        assert sub.purchased.mean() < 0.6 * lv["purchase"][key]


def test_cascade_reads_down_until_the_first_engagement(tmp_path: Path) -> None:
    world = load_world("serp").model_copy(
        update={"examination": load_world("serp").examination.model_copy(
            update={"model": "cascade", "continue_prob": 0.8})}
    )
    offers, truth = _run(tmp_path, world)
    offers = offers.sort_values(["request_id", "position"])
    g = offers.groupby("request_id")
    stop = (offers.engaged | ~offers.examined).astype(int)
    stops_before = g.engaged.cumsum() - offers.engaged.astype(int)
    assert offers.loc[offers.position == 1, "examined"].all()
    assert not offers.loc[stops_before > 0, "examined"].any()  # nothing read after a click
    # examined is a prefix of every request
    assert (g.examined.apply(lambda e: list(e) == sorted(e, reverse=True))).all()
    assert stop.sum() > 0
    realised = [c["value"] for c in truth["position"]["examination"]["curve"]]
    assert realised[0] == 1.0 and all(np.diff(realised) < 0)
    assert examination_curve(world) is None


def test_voice_truth_has_no_position_block(tmp_path: Path) -> None:
    _, truth = _run(tmp_path, "default")
    assert "position" not in truth
