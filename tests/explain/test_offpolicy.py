"""IPS, SNIPS and DR (seemingly.explain.offpolicy): by hand, and against Open Bandit Pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.offpolicy_cases import CASES, bandit_case

from seemingly.explain.offpolicy import LoggedCells, cells_for, off_policy_value

# Open Bandit Pipeline 0.4.1's InverseProbabilityWeighting, SelfNormalizedInverseProbability-
# Weighting and DoublyRobust (estimate_policy_value, len_list=1) on bandit_case(kind); computed
# once with tests/support/obp_reference.py in a scratch venv (obp pins torch, so it is not a
# dev dependency; that file's docstring has the commands).
OBP = {
    "deterministic": {"ips": 0.21986423917622563, "snips": 0.27150331855945625,
                      "dr": 0.24457090397845638},
    "stochastic": {"ips": 0.32765732233367295, "snips": 0.29834168120681637,
                   "dr": 0.29589081138837053},
}


def _inputs(c: dict[str, np.ndarray]) -> tuple[LoggedCells, dict[str, np.ndarray]]:
    q, a = c["query"], c["action"]
    cells = LoggedCells.from_rounds(q, c["reward"], c["pscore"],
                                    n_queries=c["target"].shape[0])
    return cells, {"target": c["target"][q, a], "reward_hat": c["model"][q, a],
                   "dm": (c["target"] * c["model"]).sum(axis=1)}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_matches_open_bandit_pipeline(kind: str) -> None:
    cells, kw = _inputs(bandit_case(kind))
    est = off_policy_value(cells, kw["target"], reward_hat=kw["reward_hat"], dm=kw["dm"],
                           n_boot=0).estimates
    for name, want in OBP[kind].items():
        assert est[name].value == pytest.approx(want, rel=1e-12, abs=1e-15), name


def test_by_hand() -> None:
    # w = pi / p = (2, 0, 2): IPS (2 + 0 + 2) / 3, SNIPS 4 / 4, ESS 4^2 / (4 + 4);
    # DR: 0.4 + 2 (1 - 0.4), 0.4 + 0, 0.6 + 2 (1 - 0.6) -> 3.4 / 3
    cells = LoggedCells.from_rounds(np.array([0, 0, 1]), np.array([1.0, 0.0, 1.0]),
                                    np.array([0.5, 0.25, 0.5]))
    est = off_policy_value(cells, np.array([1.0, 0.0, 1.0]),
                           reward_hat=np.array([0.4, 0.1, 0.6]), dm=np.array([0.4, 0.6]),
                           n_boot=0).estimates
    assert est["ips"].value == pytest.approx(4 / 3)
    assert est["snips"].value == pytest.approx(1.0)
    assert est["dr"].value == pytest.approx(3.4 / 3)
    assert est["ips"].ess == pytest.approx(2.0)
    assert est["dr"].n_rounds == 3 and est["dr"].n_queries == 2
    assert np.isnan(est["ips"].ci[0])


def test_cells_sum_rounds() -> None:
    """Summing rounds per (query, product) in the engine gives the per-round values."""
    c = bandit_case("stochastic")
    cells, kw = _inputs(c)
    per_round = off_policy_value(cells, kw["target"], reward_hat=kw["reward_hat"],
                                 dm=kw["dm"], n_boot=200, seed=3).estimates
    frame = pd.DataFrame({"query": c["query"], "product_id": c["action"],
                          "r": c["reward"], "p": c["pscore"]})
    agg = (frame.assign(rounds=1, purchase_ip=frame.r / frame.p, engagement_ip=0.0,
                        inv_p=1 / frame.p, inv_p2=1 / frame.p ** 2)
           .groupby(["query", "product_id"], as_index=False).sum())
    q = pd.Index(range(c["target"].shape[0]))
    summed = cells_for(agg, q, "purchase")
    qa = agg["query"].to_numpy(), agg["product_id"].to_numpy()
    by_cell = off_policy_value(summed, c["target"][qa], reward_hat=c["model"][qa],
                               dm=kw["dm"], n_boot=200, seed=3).estimates
    for name in ("ips", "snips", "dr"):
        assert by_cell[name].value == pytest.approx(per_round[name].value, rel=1e-12)
        assert by_cell[name].ci == pytest.approx(per_round[name].ci, rel=1e-12)
        assert by_cell[name].ess == pytest.approx(per_round[name].ess, rel=1e-12)


def test_query_bootstrap() -> None:
    # every query alike: resampling queries cannot move the value, the interval is a point
    cells = LoggedCells.from_rounds(np.repeat(np.arange(5), 2), np.tile([1.0, 0.0], 5),
                                    np.full(10, 0.5))
    est = off_policy_value(cells, np.tile([1.0, 1.0], 5), estimators=("ips", "snips"),
                           n_boot=300).estimates
    assert est["ips"].value == pytest.approx(1.0)
    assert est["ips"].ci == pytest.approx((1.0, 1.0))
    assert est["snips"].ci == pytest.approx((0.5, 0.5))
    # queries that differ: the interval has width, holds the value, and is seeded
    c = bandit_case("deterministic")
    cells, kw = _inputs(c)
    a = off_policy_value(cells, kw["target"], estimators=("ips",), n_boot=400, seed=5)
    b = off_policy_value(cells, kw["target"], estimators=("ips",), n_boot=400, seed=5)
    lo, hi = a.estimates["ips"].ci
    assert lo < a.estimates["ips"].value < hi
    assert a.estimates["ips"].ci == b.estimates["ips"].ci


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"propensity": np.array([0.5, 0.0])}, "row 1 has propensity 0.0"),
    ({"propensity": np.array([0.5, 1.5])}, "row 1 has propensity 1.5"),
])
def test_bad_propensities(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LoggedCells.from_rounds(np.array([0, 1]), np.array([1.0, 0.0]), **kwargs)


def test_bad_arguments() -> None:
    cells = LoggedCells.from_rounds(np.array([0, 1]), np.array([1.0, 0.0]),
                                    np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="unknown off-policy estimators"):
        off_policy_value(cells, np.ones(2), estimators=("ips", "switch"))
    with pytest.raises(ValueError, match="doubly robust estimator needs"):
        off_policy_value(cells, np.ones(2))
    with pytest.raises(ValueError, match="target probabilities"):
        off_policy_value(cells, np.array([1.0, 2.0]), estimators=("ips",))


def test_on_policy_target_is_the_plain_mean() -> None:
    """A target that is the logging policy itself has every weight 1: IPS and SNIPS are the
    mean reward and the ESS is the number of rounds (DR too, with a model that says 0)."""
    c = bandit_case("stochastic")
    q = c["query"]
    cells = LoggedCells.from_rounds(q, c["reward"], c["pscore"], n_queries=40)
    est = off_policy_value(cells, c["pscore"], reward_hat=np.zeros(len(q)),
                           dm=np.zeros(40), n_boot=0).estimates
    for name in ("ips", "snips", "dr"):
        assert est[name].value == pytest.approx(c["reward"].mean(), rel=1e-12)
    assert est["ips"].ess == pytest.approx(len(q))
