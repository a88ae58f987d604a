"""The off_policy block: the frontier's and the strategies' rankers estimated from ranked-list
logs (seemingly.ranking.tradeoff.offpolicy), checked by hand and against the serp world's
replayed truth; voice logs get no block."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seemingly.explain.offpolicy import has_ranked_logs
from seemingly.ranking.scoring import CandidateMatrix
from seemingly.ranking.tradeoff.offpolicy import (
    evaluate_targets,
    frontier_off_policy,
    strategies_off_policy,
)
from seemingly.ranking.tradeoff.sweep import sweep, top_picks


def _cells(rows: list[tuple[str, str, int, float, float]]) -> pd.DataFrame:
    """(query, product, rounds, purchases, propensity) -> position_one_cells' frame."""
    f = pd.DataFrame(rows, columns=["query", "product_id", "rounds", "bought", "p"])
    return f.assign(purchase_ip=f.bought / f.p, engagement_ip=f.bought / f.p,
                    inv_p=f.rounds / f.p, inv_p2=f.rounds / f.p ** 2)


CELLS = _cells([
    # query a: 4 requests; x first twice (p 0.5, one purchase), y twice (p 0.5, no purchase)
    ("a", "x", 2, 1, 0.5), ("a", "y", 2, 0, 0.5),
    # query b: 2 requests; z first once (p 0.25, bought), u once (p 0.75)
    ("b", "z", 1, 1, 0.25), ("b", "u", 1, 0, 0.75),
])


def test_frontier_by_hand() -> None:
    picks = pd.DataFrame({"query": ["a", "b", "a", "b"], "weight": [0.0, 0.0, 1.0, 1.0],
                          "product_id": ["x", "z", "y", "u"],
                          "outcome_score": [0.4, 0.5, 0.2, 0.1]})
    est = frontier_off_policy(picks, CELLS, "purchase", n_boot=0)
    # weight 0 picks x and z: IPS (1 / 0.5 + 1 / 0.25) / 6 requests; SNIPS 6 / (4 + 4);
    # DR: 4 * 0.4 + 2 * 0.5 + (2 - 0.4 * 4) + (4 - 0.5 * 4), over 6
    w0 = est["fusion:0"].estimates
    assert w0["ips"].value == pytest.approx(6 / 6)
    assert w0["snips"].value == pytest.approx(6 / 8)
    assert w0["dr"].value == pytest.approx((1.6 + 1.0 + 0.4 + 2.0) / 6)
    assert w0["ips"].ess == pytest.approx(8**2 / (2 / 0.25 + 1 / 0.0625))
    # weight 1 picks y and u: nothing bought, DR = direct method's 4 * 0.2 + 2 * 0.1 minus
    # the residuals 0.2 * 4 and 0.1 / 0.75, over 6
    w1 = est["fusion:1"].estimates
    assert w1["ips"].value == 0.0
    assert w1["dr"].value == pytest.approx((0.8 + 0.2 - 0.8 - 0.1 / 0.75) / 6)


def test_strategies_by_hand() -> None:
    levels = pd.DataFrame({"query": ["a", "a", "b", "b"], "product_id": ["x", "y", "z", "u"],
                           "offers": [10] * 4, "purchases": [1, 3, 4, 2],
                           "engagements": [5] * 4, "relevant": [True, False, True, False]})
    hat = levels[["query", "product_id"]].assign(purchase=0.3, engagement=0.5)
    est = strategies_off_policy(levels, CELLS, hat, "purchase", min_offers=5, n_boot=0)
    assert sorted(est) == ["strategy:irrelevant", "strategy:optimal", "strategy:random",
                           "strategy:relevant", "strategy:worst"]
    # relevant = x in a, z in b (as weight 0 above); optimal = y in a (3 > 1), z in b (4 > 2)
    assert est["strategy:relevant"].estimates["ips"].value == pytest.approx(1.0)
    assert est["strategy:optimal"].estimates["ips"].value == pytest.approx(4 / 6)
    # random puts each of a pair first with probability 1/2: half of x's and y's and z's
    assert est["strategy:random"].estimates["ips"].value == pytest.approx(0.5 * 6 / 6)


def test_unlogged_target_queries_count_no_requests() -> None:
    t = pd.DataFrame({"query": ["a", "c"], "product_id": ["x", "q"], "r": [1.0, 1.0],
                      "reward_hat": [0.0, 0.0]})
    est = evaluate_targets(CELLS, t, ["r"], "purchase", n_boot=0)["r"].estimates
    assert est["ips"].value == pytest.approx(2 / 4)  # query a's 4 requests only
    assert est["ips"].n_queries == 1


def test_duplicate_targets_are_refused() -> None:
    t = pd.DataFrame({"query": ["a", "a"], "product_id": ["x", "x"], "r": [1.0, 0.0],
                      "reward_hat": [0.0, 0.0]})
    with pytest.raises(ValueError, match="product_id 'x'.* appears twice"):
        evaluate_targets(CELLS, t, ["r"], "purchase", n_boot=0)


def test_top_picks_are_the_sweeps_first_products() -> None:
    rng = np.random.default_rng(0)
    rows = [(f"q{i}", f"p{j}", float(rng.random() < 0.5), float(rng.random()))
            for i in range(30) for j in range(int(rng.integers(2, 7)))]
    f = pd.DataFrame(rows, columns=["query", "product_id", "relevant", "level"])
    cm = CandidateMatrix.from_frame(f)
    rel, out = cm.scatter(f.assign(s=rng.random(len(f))), "s"), cm.scatter(
        f.assign(s=rng.random(len(f))), "s")
    w = np.array([0.0, 0.3, 1.0])
    top = top_picks(rel, out, cm, weights=w)
    sw = sweep(rel, out, cm, weights=w, k=3)
    best = np.where(cm.mask, cm.level, 0).max(axis=1)
    for i in range(len(w)):
        lvl = cm.level[np.arange(len(cm.queries)), top[i]] / best
        np.testing.assert_allclose(lvl, sw.level_at_1[i])
        np.testing.assert_allclose(cm.relevant[np.arange(len(cm.queries)), top[i]],
                                   sw.relevance_at_1[i])


def test_voice_logs_get_no_off_policy_block(tmp_path: Path) -> None:
    from seemingly.config import AnalysisSettings
    from seemingly.simulate import simulate
    from seemingly.store import open_data
    from seemingly.study.analysis import BLOCKS, Context

    simulate(tmp_path / "data", "default", n_offers=5_000, seed=3)
    with open_data(tmp_path / "data", tmp_path / "work") as store:
        assert not has_ranked_logs(store)
        ctx = Context(store, AnalysisSettings())
        assert BLOCKS["off_policy"](ctx) is None
        assert ctx.skipped == {} and ctx.warnings == []


@pytest.mark.slow
def test_serp_estimates_cover_the_replayed_truth(tmp_path: Path) -> None:
    """Done means of issue 16 (small): relevance-only, outcome-only and fusion 0.5, every
    estimator's interval holds the truth the simulator replays, and the naive level (no
    propensities) misses it. bench/experiments/offpolicy_serp.py prints the full version."""
    from bench.experiments.offpolicy_serp import run_seed

    df = run_seed(5, n_offers=100_000, work=tmp_path, n_boot=300, n_estimators=30)
    assert len(df) == 3 * 2 * 3  # rankers x objectives x estimators
    assert df["covered"].all(), df[~df["covered"]].to_string()
    assert (df["naive"] < df["low"]).all()  # examination 1 / position: naive levels too low
    assert (df["ess"] > 300).all()
