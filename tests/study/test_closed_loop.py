"""The loop closed on loopback (issue 17's done-means): serve weight w0 with exploration,
let the world's simulated customers answer, collect the logs, run the study on them,
estimate off-policy the purchase level@1 of weight w1, then serve w1 to the same customers:
the online value lies in the estimate's interval, and every served candidate is logged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from support.serve_model import shared_model_dir  # noqa: E402

from bench.experiments.closed_loop import run_loop  # noqa: E402

W0, W1 = 0.5, 0.0


@pytest.mark.slow
def test_offline_estimate_meets_online_value(tmp_path: Path) -> None:
    model = shared_model_dir()
    data = model.parent / "data"
    r = run_loop(data, model, tmp_path, requests=600, w0=W0, w1=W1, temperature=0.3,
                 seed=11, n_boot=400)
    for line in r.lines(W0, W1):
        print(line)
    # every served ranking is in the logs, row for row
    assert r.logged.errors == 0 and r.logged.requests == 600
    assert r.rows_logged == r.logged.candidates_served
    offers = pd.read_parquet(tmp_path / "collected" / "offers.parquet")
    served = r.logged.served.set_index("request_id")
    first = offers[offers["position"] == 1].set_index("request_id")["product_id"]
    assert first.sort_index().equals(served["first"].sort_index().rename("product_id"))
    assert int(offers["purchased"].sum()) == r.logged.purchases
    # the study reads the collected logs as ranked lists with propensities
    assert r.has_off_policy_block
    # online meets offline: w1's measured level lies in both estimators' intervals
    rate, se, truth = r.online.purchase_at_1()
    assert r.online.errors == 0
    for name, est in r.estimate.estimates.items():
        assert est.covers(truth), (name, est, truth)
        assert est.covers(rate), (name, est, rate)
        # an interval that says something: narrower than the whole [0, 1] by far
        assert est.ci[1] - est.ci[0] < 0.25
