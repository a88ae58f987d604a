"""``seemingly traffic``: simulated customers against a fake local service, by hand."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from seemingly.cli import app
from seemingly.simulate.config import load_world
from seemingly.simulate.traffic import Customers, check_loopback, send_traffic


@contextmanager
def fake_service(feedback_code: int = 202
                 ) -> Iterator[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """A service that serves the candidates by product id, last first, and records every
    call."""
    ranks: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real service

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/v1/rank":
                ranks.append(body)
                out = {"request_id": body["request_id"],
                       "results": [{"rank": r, "product_id": p} for r, p in
                                   enumerate(sorted(body["candidates"], reverse=True), start=1)]}
                code = 200
            else:
                feedback.append(body)
                out, code = {"accepted": True}, feedback_code
            raw = json.dumps(out).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", ranks, feedback
    finally:
        server.shutdown()
        server.server_close()


def _customers(examination: dict[str, Any], p_buy: np.ndarray, p_eng: np.ndarray,
               n_users: int = 1) -> Customers:
    """One query 'q' with the pool a, b, c (b has brand 0); probabilities (1, 3, 4) by state."""
    world = load_world("default")
    world = world.model_copy(update={"examination": world.examination.model_validate(
        examination)})
    return Customers(world, np.array(["a", "b", "c"], dtype=object), np.array([-1, 0, -1]),
                     ["q"], [np.array([0, 1, 2])], [{0: 0, 1: 1, 2: 2}], p_buy[None],
                     p_eng[None], np.array([f"u{i}" for i in range(n_users)], dtype=object),
                     np.ones(n_users) / n_users, np.zeros((n_users, 1), dtype=np.int64),
                     np.ones(1))


def test_voice_customer_hears_the_first_result_and_remembers_purchases() -> None:
    # c (served first) is bought for sure by a user who never bought it, never again after
    buy = np.zeros((3, 4))
    buy[2, 0] = 1.0
    c = _customers({"model": "none"}, buy, buy.copy())
    with fake_service() as (url, ranks, feedback):
        report = send_traffic(c, url, requests=3, seed=1, weight=0.3)
    # lean: product ids, in a random order per request
    assert [sorted(r["candidates"]) for r in ranks] == [["a", "b", "c"]] * 3
    assert len({tuple(r["candidates"]) for r in ranks}) > 1
    assert {r["weight"] for r in ranks} == {0.3} and ranks[0]["user_id"] == "u0"
    assert feedback == [{"request_id": "t1-0000000", "product_id": "c", "engaged": True,
                         "purchased": True}]
    assert (report.requests, report.candidates_served, report.purchases,
            report.feedback_sent) == (3, 9, 1, 1)
    rate, _, expected = report.purchase_at_1()
    assert rate == pytest.approx(1 / 3) and expected == pytest.approx(1 / 3)


def test_position_examination_follows_the_curve() -> None:
    # everything engaging, nothing bought; position 2 (b) is never examined
    c = _customers({"model": "position", "curve": (1.0, 0.0, 1.0)}, np.zeros((3, 4)),
                   np.ones((3, 4)))
    with fake_service() as (url, _, feedback):
        send_traffic(c, url, requests=2, seed=3, weight=0.5)
    assert [(f["request_id"], f["product_id"], f["purchased"]) for f in feedback] == [
        ("t3-0000000", "c", False), ("t3-0000000", "a", False),
        ("t3-0000001", "c", False), ("t3-0000001", "a", False)]


def test_cascade_stops_after_the_first_engagement() -> None:
    eng = np.ones((3, 4))
    eng[2] = 0.0  # c, shown first, never engages; b, shown second, always does
    c = _customers({"model": "cascade", "continue_prob": 1.0}, np.zeros((3, 4)), eng)
    with fake_service() as (url, _, feedback):
        send_traffic(c, url, requests=1, seed=3, weight=0.5)
    assert [f["product_id"] for f in feedback] == ["b"]


def test_same_seed_same_customers_and_bounds() -> None:
    c = _customers({"model": "none"}, np.full((3, 4), 0.5), np.full((3, 4), 0.5), n_users=5)
    with fake_service() as (url, ranks, feedback):
        send_traffic(c, url, requests=20, seed=9, weight=0.5)
        send_traffic(c, url, requests=20, seed=9, weight=0.5)
        first, second = ranks[:20], ranks[20:]
        assert [r["user_id"] for r in first] == [r["user_id"] for r in second]
        assert feedback[: len(feedback) // 2] == feedback[len(feedback) // 2:]
        # bounded in time: 1 request per second for at most 0.3 s sends one
        report = send_traffic(c, url, requests=50, seed=9, weight=0.5, rate=1.0,
                              max_seconds=0.3)
    assert report.requests == 1 and report.stopped_by == "max_seconds"


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://example.com",
                                 "https://127.0.0.1:8000", "http://0.0.0.0:8000"])
def test_non_loopback_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="loopback|http://"):
        check_loopback(url)
    res = CliRunner().invoke(app, ["traffic", "--service", url, "--requests", "1",
                                   "--seed", "1"])
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and res.output.startswith("error:")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost", "http://[::1]:9"])
def test_loopback_is_accepted(url: str) -> None:
    check_loopback(url)


def test_world_probabilities_are_the_oracles() -> None:
    from seemingly.simulate.oracle import true_probabilities

    c = Customers.from_world("default", n_offers=2000, world_seed=7)
    t = true_probabilities("default", n_offers=2000, seed=7)
    for row in t.sample(40, random_state=1).itertuples():
        q = c.query_text.index(row.query)
        p = int(np.flatnonzero(c.product_ids == row.product_id)[0])
        state = int(2 * row.user_bought_product + row.user_bought_brand)
        assert c.p_buy[q, c.slot[q][p], state] == pytest.approx(row.p_purchase)
        assert c.p_eng[q, c.slot[q][p], state] == pytest.approx(row.p_engagement)
    # users are the data's ids
    assert c.user_ids[0] == "u0000000"


def test_cli_traffic_from_a_simulated_folder(tmp_path: Any) -> None:
    from seemingly.simulate import simulate

    simulate(tmp_path / "data", "default", n_offers=1000, seed=5)
    with fake_service() as (url, ranks, feedback):
        res = CliRunner().invoke(app, ["traffic", "--service", url, "--requests", "40",
                                       "--seed", "2", "--data", str(tmp_path / "data"),
                                       "--weight", "0.25", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["requests"] == 40 and out["errors"] == 0 and len(ranks) == 40
    assert out["candidates_served"] == sum(len(r["candidates"]) for r in ranks)
    assert out["feedback_sent"] == len(feedback) == out["engagements"]
    assert {r["weight"] for r in ranks} == {0.25}
    # every query and product is the simulated world's
    products = set(pd.read_parquet(tmp_path / "data" / "products.parquet")["product_id"])
    assert {p for r in ranks for p in r["candidates"]} <= products



def test_feedback_refused_is_counted_apart() -> None:
    buy = np.ones((3, 4))
    c = _customers({"model": "none"}, buy, buy)
    # a service without --log-dir answers 404 to feedback
    with fake_service(feedback_code=404) as (url, _, feedback):
        report = send_traffic(c, url, requests=2, seed=1, weight=0.5)
    assert len(feedback) == 2
    assert (report.requests, report.errors, report.feedback_sent, report.feedback_errors,
            report.error_codes) == (2, 0, 0, 2, {404: 2})
