"""Closing the loop, service side: request ids, product-id candidates, the impression and
feedback log, exploration propensities, readiness and metrics.

Propensities are checked against values worked out by hand from their definitions (see
seemingly.serve.explore); the log is read back from its Parquet files after the app's
lifespan has shut down (the graceful stop that flushes it).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from support.serve_fakes import FakeRanker
from support.serve_model import catalog_candidates

from seemingly.serve import create_app
from seemingly.serve.deps import LoadedModel
from seemingly.serve.explore import ExplorePolicy, epsilon_greedy, plackett_luce
from seemingly.serve.impressions import IMPRESSION_SCHEMA, LogOptions, TableLog


def _cand(pid: str, title: str, price: float) -> dict[str, Any]:
    return {"product_id": pid, "title": title, "category": "toys", "price": price}


CANDS = [_cand("A", "red toy car", 10.0), _cand("B", "blue mug", 0.0), _cand("C", "red mug", 1.0)]


def _body(**over: Any) -> dict[str, Any]:
    return {"query": "red car", "candidates": CANDS, "weight": 0.5, "objective": "purchase",
            **over}


def _app(tmp_path: Path, fake: FakeRanker, **kw: Any) -> Any:
    return create_app(tmp_path, preloaded=LoadedModel(tmp_path, fake), **kw)


def _read(directory: Path) -> pd.DataFrame:
    files = sorted(directory.glob("part-*.parquet"))
    assert not list(directory.glob(".*.tmp")), "a graceful stop leaves no unfinished file"
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files \
        else pd.DataFrame()


# ---------------------------------------------------------------- request ids


def test_request_id_round_trip_and_generated(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path, FakeRanker())) as client:
        sent = client.post("/v1/rank", json=_body(request_id="req-42")).json()
        assert sent["request_id"] == "req-42"
        a, b = (client.post("/v1/rank", json=_body()).json()["request_id"] for _ in range(2))
    assert a != b and len(a) == 32 and int(a, 16) >= 0  # uuid4 hex
    assert [r["propensity"] for r in sent["results"]] == [1.0, 1.0, 1.0]  # not exploring


def test_product_ids_alone_need_a_catalog(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path, FakeRanker())) as client:
        r = client.post("/v1/rank", json=_body(candidates=["A", CANDS[1]]))
        assert r.status_code == 422 and "catalog" in r.json()["detail"]
        # a candidate that is neither an object nor a string names its position
        r = client.post("/v1/rank", json=_body(candidates=[CANDS[0], 5]))
        assert r.status_code == 422
        assert ["body", "candidates", 1] in [e["loc"] for e in r.json()["detail"]]
        r = client.post("/v1/rank", json=_body(candidates=["A", "A"]))
        assert r.status_code == 422


@pytest.fixture(scope="module")
def real(trained: tuple[Path, Path]) -> Iterator[tuple[Path, TestClient]]:
    with TestClient(create_app(trained[1])) as c:
        yield trained[0], c


def test_lean_candidates_rank_as_full_rows(real: tuple[Path, TestClient]) -> None:
    root, client = real
    full = catalog_candidates(root, 30)
    ids = [c["product_id"] for c in full]
    mixed: list[Any] = [c if i % 3 == 0 else c["product_id"] for i, c in enumerate(full)]
    answers = [client.post("/v1/rank", json=_body(query="toy car", candidates=cands)).json()
               for cands in (full, ids, mixed)]
    for a in answers[1:]:
        assert a["results"] == answers[0]["results"]  # same rows, same scores, bit for bit


def test_unknown_product_ids_are_422_naming_them(real: tuple[Path, TestClient]) -> None:
    root, client = real
    ids = [c["product_id"] for c in catalog_candidates(root, 3)]
    r = client.post("/v1/rank", json=_body(candidates=[*ids, "NOPE-1", "NOPE-2"]))
    assert r.status_code == 422
    assert "2 candidate product id(s)" in r.json()["detail"]
    assert "'NOPE-1', 'NOPE-2'" in r.json()["detail"]


# ---------------------------------------------------------------- the log


def test_every_served_row_is_logged(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    served: list[dict[str, Any]] = []
    app = _app(tmp_path, FakeRanker(), log_dir=tmp_path / "log")
    with TestClient(app) as client:
        for i in range(25):
            k = int(rng.integers(1, 4))
            body = _body(k=k, user_id=None if i % 5 == 0 else f"u{i}", query=f" red car {i} ")
            if i % 2:
                body["request_id"] = f"r{i}"
            answer = client.post("/v1/rank", json=body).json()
            served.append({**answer, "user_id": body.get("user_id"), "query": f"red car {i}"})
        client.post("/v1/rank", json=_body(candidates=[]))  # nothing served, nothing logged
    got = _read(tmp_path / "log" / "impressions")
    assert len(got) == sum(len(a["results"]) for a in served)
    assert list(got.columns) == IMPRESSION_SCHEMA.names
    expected = pd.DataFrame([
        {"offer_id": f"{a['request_id']}-{r['rank']}", "request_id": a["request_id"],
         "user_id": a["user_id"], "query": a["query"], "product_id": r["product_id"],
         "position": r["rank"], "propensity": 1.0, "weight": 0.5, "objective": "purchase",
         "policy": "deterministic"}
        for a in served for r in a["results"]])
    got = got.sort_values(["request_id", "position"]).reset_index(drop=True)
    expected = expected.sort_values(["request_id", "position"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)
    assert str(got["timestamp"].dt.tz) == "UTC"
    assert got["offer_id"].is_unique


def test_feedback_is_logged_and_404_without_a_log(tmp_path: Path) -> None:
    fb = {"request_id": "r1", "product_id": "A", "engaged": True, "purchased": False}
    with TestClient(_app(tmp_path, FakeRanker())) as client:
        assert client.post("/v1/feedback", json=fb).status_code == 404
    with TestClient(_app(tmp_path, FakeRanker(), log_dir=tmp_path / "log")) as client:
        assert client.post("/v1/feedback", json=fb).json() == {"accepted": True}
        assert client.post("/v1/feedback", json={**fb, "purchased": True}).status_code == 202
        bad = client.post("/v1/feedback", json={**fb, "engaged": "yes"})
        assert bad.status_code == 422
    got = _read(tmp_path / "log" / "feedback")
    assert got[["request_id", "product_id", "engaged", "purchased"]].to_dict("records") == [
        {**fb}, {**fb, "purchased": True}]


def test_full_queue_drops_and_counts_rows(tmp_path: Path) -> None:
    table = TableLog(tmp_path, IMPRESSION_SCHEMA, LogOptions(queue_rows=5), build=list)
    row = ("one request's rows",)
    assert table.append(row, 3)  # the writer is not started: nothing drains the queue
    assert not table.append(row, 3)  # 6 > 5
    assert table.append(row, 2)
    assert (table.queued, table.dropped) == (5, 3)


def test_files_rotate_by_time_without_a_stop(tmp_path: Path) -> None:
    app = _app(tmp_path, FakeRanker(), log_dir=tmp_path / "log",
               log_options=LogOptions(rotate_seconds=0.05))
    with TestClient(app) as client:
        client.post("/v1/rank", json=_body())
        deadline = time.monotonic() + 5
        while not list((tmp_path / "log" / "impressions").glob("part-*.parquet")):
            assert time.monotonic() < deadline, "no file within 5 s of a 50 ms rotation"
            time.sleep(0.02)
        client.post("/v1/rank", json=_body())
    assert len(list((tmp_path / "log" / "impressions").glob("part-*.parquet"))) == 2
    assert len(_read(tmp_path / "log" / "impressions")) == 6


# ---------------------------------------------------------------- exploration


def _forced(order: list[int]) -> np.ndarray:
    """Gumbel noise that makes the Plackett-Luce draw come out in ``order``."""
    g = np.zeros(len(order))
    g[order] = 1e6 * np.arange(len(order), 0, -1)
    return g


def test_plackett_luce_propensities_by_hand() -> None:
    # scores [1, 0, 0.5] at T = 0.5: weights e^2, e^0, e^1. Order (2, 0, 1):
    # p1 = e / (e^2 + 1 + e) = 0.2447285, p2 = e^2 / (e^2 + 1) = 0.8807971, p3 = 1
    order, prop = plackett_luce(np.array([1.0, 0.0, 0.5]), 0.5, _forced([2, 0, 1]), 3)
    assert order.tolist() == [2, 0, 1]
    assert prop == pytest.approx([0.24472847, 0.88079708, 1.0], abs=1e-8)
    # top 2 only: the same first two (the unserved product still counts as remaining)
    assert plackett_luce(np.array([1.0, 0.0, 0.5]), 0.5, _forced([2, 0, 1]), 2)[1] == \
        pytest.approx([0.24472847, 0.88079708], abs=1e-8)


@pytest.mark.parametrize("k", [2, 3])
def test_plackett_luce_list_probabilities_sum_to_one(k: int) -> None:
    fused = np.array([0.9, 0.2, 0.5])
    # with 3 products every ordered top-2 has exactly one completion, so both k sum over
    # all 6 orders of the lists they serve
    total = sum(math.prod(plackett_luce(fused, 0.3, _forced(list(p)), k)[1])
                for p in itertools.permutations(range(3)))
    assert total == pytest.approx(1.0, abs=1e-12)


def test_plackett_luce_draws_match_their_propensities() -> None:
    policy = ExplorePolicy("plackett-luce", temperature=0.5, seed=11)
    fused = np.array([1.0, 0.0, 0.5])
    n = 6000
    seen: dict[tuple[int, ...], int] = {}
    probs: dict[tuple[int, ...], float] = {}
    for _ in range(n):
        order, prop = policy.order(fused)
        key = tuple(order.tolist())
        seen[key] = seen.get(key, 0) + 1
        probs[key] = float(np.prod(prop))
    for key, count in seen.items():
        p = probs[key]
        assert abs(count / n - p) < 4 * math.sqrt(p * (1 - p) / n), (key, count / n, p)


def test_epsilon_greedy_propensities_by_hand() -> None:
    fused = np.array([0.1, 0.9, 0.5])  # greedy order: 1, 2, 0
    eps = 0.3
    # exploit, explore (pick the 2nd of the two left: product 0), forced last
    order, prop = epsilon_greedy(fused, eps, np.array([0.9, 0.1, 0.9]),
                                 np.array([0.0, 0.75, 0.0]), 3)
    assert order.tolist() == [1, 0, 2]
    # p1 = 0.7 + 0.3/3 = 0.8; p2 = 0.3/2 = 0.15 (product 0 is not the best of {2, 0});
    # p3 = 0.7 + 0.3/1 = 1
    assert prop == pytest.approx([0.8, 0.15, 1.0], abs=1e-12)
    # exploring may pick the greedy product too: its propensity is still 1 - eps + eps/m
    order, prop = epsilon_greedy(fused, eps, np.array([0.1]), np.array([0.2]), 1)
    assert order.tolist() == [1] and prop == pytest.approx([0.8])


def test_epsilon_greedy_list_probabilities_sum_to_one() -> None:
    fused, eps = np.array([0.1, 0.9, 0.5]), 0.25
    policy = ExplorePolicy("epsilon-greedy", epsilon=eps, seed=5)
    lists: dict[tuple[int, ...], float] = {}
    for _ in range(400):  # every ordering has probability >= (eps/3)(eps/2) > 1 %
        order, prop = policy.order(fused)
        lists[tuple(order.tolist())] = float(np.prod(prop))
    assert len(lists) == 6
    assert sum(lists.values()) == pytest.approx(1.0, abs=1e-12)


def test_explore_is_seeded_served_and_logged(tmp_path: Path) -> None:
    def serve(log: Path) -> list[dict[str, Any]]:
        app = _app(tmp_path, FakeRanker(), log_dir=log,
                   explore=ExplorePolicy("plackett-luce", temperature=0.2, seed=3))
        with TestClient(app) as client:
            return [client.post("/v1/rank", json=_body(k=2, request_id=f"r{i}")).json()
                    for i in range(30)]

    first, again = serve(tmp_path / "a"), serve(tmp_path / "b")
    assert [a["results"] for a in first] == [a["results"] for a in again]
    orders = {tuple(r["product_id"] for r in a["results"]) for a in first}
    assert len(orders) > 1  # it does explore
    assert all(len(a["results"]) == 2 and a["n_candidates"] == 3 for a in first)
    for a in first:
        for r in a["results"]:
            assert 0 < r["propensity"] <= 1
    got = _read(tmp_path / "a" / "impressions").sort_values(["request_id", "position"])
    served = pd.DataFrame([{"request_id": a["request_id"], "position": r["rank"],
                            "product_id": r["product_id"], "propensity": r["propensity"]}
                           for a in first for r in a["results"]]).sort_values(
        ["request_id", "position"])
    assert got[served.columns].values.tolist() == served.values.tolist()
    assert set(got["policy"]) == {"plackett-luce:T=0.2"}


# ---------------------------------------------------------------- operations


def test_readyz_after_load_and_livez_always(tmp_path: Path) -> None:
    client = TestClient(_app(tmp_path, FakeRanker()))  # no `with`: the lifespan has not run
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 503
    with client:
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.get("/livez").status_code == 200


def test_metrics_count_requests_and_the_log(tmp_path: Path) -> None:
    app = _app(tmp_path, FakeRanker(), log_dir=tmp_path / "log",
               log_options=LogOptions(queue_rows=4))
    with TestClient(app) as client:
        for _ in range(3):
            client.post("/v1/rank", json=_body())
        text = client.get("/metrics").text
    assert 'http_requests_total{handler="/v1/rank",method="POST",status="2xx"} 3.0' in text
    assert 'http_request_duration_seconds_bucket{handler="/v1/rank"' in text
    assert 'seemingly_log_queue_rows{table="impressions"}' in text
    assert 'seemingly_log_written_rows_total{table="impressions"}' in text
    # 3 rows a request into a 4-row queue: at least one of the later requests found it full
    # unless the writer drained it in between; the sum is what was served either way
    dropped = float(text.split('seemingly_log_dropped_rows_total{table="impressions"} ')[1]
                    .split()[0])
    assert dropped in (0.0, 3.0, 6.0)
    assert dropped + len(_read(tmp_path / "log" / "impressions")) == 9


# ---------------------------------------------------------------- SIGTERM under load


def test_sigterm_under_load_loses_no_row(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """`seemingly serve` in its own process, stopped by SIGTERM while requests are in flight:
    every answered request's rows are in the log, nothing else is."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    root, model = trained
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from seemingly.cli import main; main()", "serve", "--model",
         str(model), "--port", str(port), "--log-dir", str(tmp_path / "log"),
         "--log-level", "warning"], env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        ids = [c["product_id"] for c in catalog_candidates(root, 40)]
        answered: list[dict[str, Any]] = []
        lock = threading.Lock()

        def send(i: int) -> None:
            if i == 30:  # mid-load: the other requests are still being sent and answered
                proc.send_signal(signal.SIGTERM)
            try:
                r = httpx.post(f"{url}/v1/rank", timeout=10, json=_body(
                    candidates=ids[i % 7:], request_id=f"r{i}", user_id=f"u{i}"))
            except httpx.HTTPError:
                return  # refused once the server stopped accepting
            if r.status_code == 200:
                with lock:
                    answered.append(r.json())

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(send, range(80)))
        # uvicorn re-raises the signal after its graceful shutdown, so the exit is by SIGTERM
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert 25 <= len(answered) < 80  # the stop came mid-load
    got = _read(tmp_path / "log" / "impressions")
    assert len(got) == sum(len(a["results"]) for a in answered)
    assert set(got["request_id"]) == {a["request_id"] for a in answered}


# ---------------------------------------------------------------- the CLI's switches


@pytest.mark.parametrize(
    ("extra", "kind", "setting"),
    [(["--explore"], "plackett-luce", 0.1),
     (["--explore", "--explore-temperature", "0.5"], "plackett-luce", 0.5),
     (["--explore", "--explore-epsilon", "0.2", "--explore-seed", "9"], "epsilon-greedy", 0.2)],
)
def test_cli_serve_hands_explore_and_log_to_the_app(
    trained: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    extra: list[str], kind: str, setting: float,
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from seemingly.cli import app
    from seemingly.serve.deps import serving_of_app

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda a, **kw: seen.update(app=a, **kw))
    args = ["serve", "--model", str(trained[1]), "--log-dir", str(tmp_path / "log"),
            "--log-rotate-rows", "7", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    serving = serving_of_app(seen["app"])
    assert serving.log is not None and serving.log.impressions.options.rotate_rows == 7
    assert serving.explore is not None and serving.explore.kind == kind
    got = serving.explore.temperature if kind == "plackett-luce" else serving.explore.epsilon
    assert got == setting


@pytest.mark.parametrize("extra", [
    ["--explore", "--explore-temperature", "0.5", "--explore-epsilon", "0.1"],
    ["--explore-epsilon", "0.1"],
    ["--explore", "--explore-temperature", "0"],
])
def test_cli_serve_refuses_contradictory_explore_options(
    trained: tuple[Path, Path], extra: list[str]) -> None:
    from typer.testing import CliRunner

    from seemingly.cli import app

    result = CliRunner().invoke(app, ["serve", "--model", str(trained[1]), *extra])
    assert result.exit_code == 2
    assert "--explore" in result.output and "Traceback" not in result.output


def test_workers_read_log_and_explore_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from seemingly.serve.app import MODEL_ENV, OPTIONS_ENV, app_from_env
    from seemingly.serve.deps import serving_of_app

    monkeypatch.setenv(MODEL_ENV, str(tmp_path))  # loaded by the lifespan, not run here
    monkeypatch.setenv(OPTIONS_ENV, json.dumps({
        "log_dir": str(tmp_path / "log"), "log_options": {"rotate_seconds": 5.0},
        "explore": {"kind": "epsilon-greedy", "epsilon": 0.3, "seed": 4}}))
    serving = serving_of_app(app_from_env())
    assert serving.log is not None and serving.log.log_dir == tmp_path / "log"
    assert serving.log.feedback.options.rotate_seconds == 5.0
    assert serving.explore is not None and serving.explore.epsilon == 0.3
    assert serving.explore.seed[0] == 4  # type: ignore[index]  # + the worker's pid
