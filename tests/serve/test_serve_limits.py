"""The service's bounds, against a real server on loopback: read deadlines under slow
clients, header size, work off the event loop, the cache's memory, and what it keeps private.
"""

from __future__ import annotations

import asyncio
import random
import string
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from support.serve_fakes import FakeRanker
from support.serve_model import catalog_candidates
from support.serve_server import raw_exchange, running_server

from seemingly.serve import create_app
from seemingly.serve.connections import ServeLimits

BODY = {"query": "red car", "weight": 0.5, "objective": "purchase",
        "candidates": [{"product_id": "A", "title": "red toy car", "category": "toys",
                        "price": 10.0}]}


def _fake_app(tmp_path: Path, fake: FakeRanker | None = None, **kw: Any) -> Any:
    ranker = fake or FakeRanker()
    return create_app(tmp_path, loader=lambda _p: ranker, **kw)


# ------------------------------------------------------------------ slow clients


async def _slow_client(port: int, hold: float) -> float | None:
    """Send half a request's headers, then one header byte every 0.5 s; the seconds until
    the server closed the connection, or None if it was still open after ``hold``."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /v1/rank HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    try:
        while time.monotonic() - start < hold:
            try:
                got = await asyncio.wait_for(reader.read(4096), timeout=0.5)
            except TimeoutError:
                writer.write(b"a")
                continue
            if not got or b"408" in got:
                return time.monotonic() - start
        return None
    except ConnectionError:
        return time.monotonic() - start
    finally:
        writer.close()


async def _slow_clients_and_probes(port: int, n_slow: int, hold: float, n_probes: int
                                   ) -> tuple[list[float | None], list[float]]:
    slow = [asyncio.create_task(_slow_client(port, hold)) for _ in range(n_slow)]
    await asyncio.sleep(0.3)  # every slow client is connected and mid-headers
    latencies = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for _ in range(n_probes):
            t = time.perf_counter()
            r = await client.post("/v1/rank", json=BODY)
            latencies.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
            await asyncio.sleep(0.01)
    return await asyncio.gather(*slow), latencies


def test_slow_clients_are_cut_off_and_others_still_served(tmp_path: Path) -> None:
    # 200 clients trickling their headers; the CI deadline is 2 s (the 60 s default and its
    # figure: bench/perf/bench_slow_clients.py)
    limits = ServeLimits(header_timeout=2.0, body_timeout=2.0)
    with running_server(_fake_app(tmp_path), limits) as port:
        closed, latencies = asyncio.run(_slow_clients_and_probes(port, 200, 8.0, 40))
    cut = [t for t in closed if t is not None]
    assert len(cut) >= 0.9 * len(closed), f"only {len(cut)} of {len(closed)} were closed"
    assert max(cut) < 2.0 + 3.0  # the deadline plus scheduling slack on a busy machine
    p99 = sorted(latencies)[int(0.99 * (len(latencies) - 1))]
    # the service's goal is p99 < 20 ms on an idle 2-core machine; CI machines are shared
    assert p99 < 0.5, f"p99 {p99 * 1000:.0f} ms under slow clients"


def _raw(port: int, data: bytes, pause: float = 0.0, rest: bytes = b"") -> bytes:
    return raw_exchange(port, data, rest, pause, timeout=10)


def test_body_deadline_and_header_size(tmp_path: Path) -> None:
    limits = ServeLimits(header_timeout=2.0, body_timeout=1.0, max_header_bytes=2048)
    with running_server(_fake_app(tmp_path), limits) as port:
        # headers complete, body promised but never sent: 408 after the body deadline
        t = time.monotonic()
        got = _raw(port, b"POST /v1/rank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                   b"\r\nContent-Length: 100\r\n\r\n{\"query\"")
        assert got.startswith(b"HTTP/1.1 408") and b"body did not arrive within 1 s" in got
        assert 0.9 < time.monotonic() - t < 4.0
        # 4 kB of headers against a 2 kB limit: 431, connection closed
        got = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n")
        assert got.startswith(b"HTTP/1.1 431")
        # a request within the limits on the same server is answered
        ok = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200")


def test_large_request_does_not_block_the_event_loop(tmp_path: Path) -> None:
    # A large body is ranked in a worker thread: a health check sent meanwhile is answered
    # at once, not after the 1.5 s the (sleeping) ranker takes.
    fake = FakeRanker(delay=1.5)
    big = {**BODY, "candidates": [{"product_id": f"p{i}", "title": "t" * 900,
                                   "category": "toys", "price": 1.0} for i in range(100)]}
    with running_server(_fake_app(tmp_path, fake), ServeLimits()) as port:
        base = f"http://127.0.0.1:{port}"

        async def both() -> tuple[float, int]:
            async with httpx.AsyncClient(base_url=base, timeout=20) as c:
                slow = asyncio.create_task(c.post("/v1/rank", json=big))
                await asyncio.sleep(0.3)
                t = time.perf_counter()
                health = await c.get("/healthz")
                took = time.perf_counter() - t
                assert health.status_code == 200
                return took, (await slow).status_code

        took, status = asyncio.run(both())
    assert status == 200
    assert took < 0.8, f"/healthz took {took:.2f} s behind a large request"


# ------------------------------------------------------------------ memory of the caches


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def _long_titles(rng: random.Random, n: int) -> list[str]:
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
             for _ in range(3000)]
    out = []
    for _ in range(n):
        t = " ".join(rng.choice(words) for _ in range(320))
        out.append(t[:1900])
    return out


def test_cache_memory_is_bounded_by_bytes(trained: tuple[Path, Path]) -> None:
    # The load is 150 requests of 450 distinct 1.9 kB titles (the full figure:
    # bench/perf/bench_cache_memory.py). Four such requests already took ~110 MB with
    # caches bounded by count; with an 8 MiB budget the growth stays near it.
    bound = 8 << 20
    rng = random.Random(22)
    app = create_app(trained[1], limits=ServeLimits(cache_bytes=bound))
    with TestClient(app) as c:
        def send(i: int) -> None:
            cands = [{"product_id": f"r{i}-{j}", "title": t, "category": "toys", "price": 1.0}
                     for j, t in enumerate(_long_titles(rng, 450))]
            r = c.post("/v1/rank", json={**BODY, "candidates": cands})
            assert r.status_code == 200, r.text[:200]

        send(-1)  # first-request allocations are not the cache's
        before = _rss_mb()
        for i in range(4):
            send(i)
        growth = _rss_mb() - before
        index = app.state.model.ranker.snapshot.index
        held = (index.words.nbytes + index.chars.nbytes + index.products._bytes
                + index._tok_bytes)
    assert held <= bound + (4 << 20), f"caches hold {held / 2**20:.1f} MiB"
    assert growth <= bound / 2**20 + 40, f"RSS grew {growth:.0f} MB"


# ------------------------------------------------------------------ privacy


def _personal_body(root: Path) -> dict[str, Any]:
    import pandas as pd

    history = pd.read_parquet(root / "model" / "history.parquet")
    user = str(history["user_id"].iloc[0])
    bought = set(history.loc[history["user_id"].astype(str) == user, "product_id"].astype(str))
    cands = catalog_candidates(root, 400)
    cands = [c for c in cands if c["product_id"] in bought][:3] + [
        c for c in cands if c["product_id"] not in bought][:3]
    assert any(c["product_id"] in bought for c in cands)
    return {"query": "toy", "user_id": user, "candidates": cands, "weight": 0.5,
            "objective": "purchase", "explain": True, "bought": sorted(bought)}


@pytest.mark.parametrize("personal", [False, True])
def test_explain_returns_personal_features_only_when_allowed(
    trained: tuple[Path, Path], personal: bool
) -> None:
    body = _personal_body(trained[0])
    body_sent = {k: v for k, v in body.items() if k != "bought"}
    with TestClient(create_app(trained[1], explain_personal=personal)) as c:
        got = c.post("/v1/rank", json=body_sent).json()["results"]
        names = c.get("/v1/model").json()["feature_names"]
    keys = {k for item in got for k in item["features"]}
    personal_keys = {k for k in keys if k.startswith("user_bought_")}
    if not personal:
        assert personal_keys == set() and not any(n.startswith("user_bought_") for n in names)
    else:
        assert personal_keys == {"user_bought_product", "user_bought_brand"}
        # 1 exactly for the candidates the user bought (from the model's history table)
        bought = set(body["bought"])
        flags = {i["product_id"]: i["features"]["user_bought_product"] for i in got}
        assert flags == {p: float(p in bought) for p in flags} and 1.0 in flags.values()


# ------------------------------------------------------------------ surface


def test_no_docs_by_default_and_no_host_echo(tmp_path: Path) -> None:
    with TestClient(_fake_app(tmp_path), raise_server_exceptions=False) as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/openapi.json").status_code == 200
        r = c.post("/v1/rank/", json=BODY, headers={"Host": "evil.example"},
                   follow_redirects=False)
        assert r.status_code == 404 and "evil.example" not in r.headers.get("location", "")
    with TestClient(_fake_app(tmp_path, docs=True)) as c:
        assert c.get("/docs").status_code == 200


@pytest.mark.parametrize("query", ["\u200b", "\u200b\u200d\ufeff", " \u2060 ", "\u00ad"])
def test_invisible_query_is_blank(tmp_path: Path, query: str) -> None:
    with TestClient(_fake_app(tmp_path)) as c:
        r = c.post("/v1/rank", json={**BODY, "query": query})
    assert r.status_code == 422 and "blank" in r.text


def test_text_is_nfkc_without_invisible_characters(tmp_path: Path) -> None:
    fake = FakeRanker()
    cand = {**BODY["candidates"][0], "title": "ｒｅｄ\u200b toy\u00ad car\x07"}
    with TestClient(_fake_app(tmp_path, fake)) as c:
        r = c.post("/v1/rank", json={**BODY, "query": "ＲＥＤ\u200b car", "candidates": [cand]})
    assert r.status_code == 200, r.text
    call = fake.calls[-1]
    assert call["query"] == "RED car"
    assert call["candidates"][0]["title"] == "red toy car "
