"""Adversarial HTTP requests to the service: each gets its status and a one-line JSON detail,
no traceback, and the ranker is never called (nothing is scored or changed). The connection
cases run against a real server on loopback with short deadlines.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.serve_fakes import FakeRanker
from support.serve_server import raw_exchange, running_server

from seemingly.serve import create_app
from seemingly.serve.connections import ServeLimits

CAND = {"product_id": "A", "title": "red toy car", "category": "toys", "price": 10.0}
BODY: dict[str, Any] = {"query": "red car", "weight": 0.5, "objective": "purchase",
                        "candidates": [CAND]}


def _with(**over: Any) -> dict[str, Any]:
    return {**BODY, **over}


def _cand(**over: Any) -> dict[str, Any]:
    return _with(candidates=[{**CAND, **over}])


@pytest.fixture()
def fake() -> FakeRanker:
    return FakeRanker(bought={"u1": {"A"}})


@pytest.fixture()
def client(tmp_path: Path, fake: FakeRanker) -> Any:
    with TestClient(create_app(tmp_path, loader=lambda _p: fake),
                    raise_server_exceptions=False) as c:
        yield c


def _one_line(r: Any) -> str:
    detail = r.json()["detail"]
    text = detail if isinstance(detail, str) else "; ".join(d["msg"] for d in detail)
    assert "\n" not in text and "Traceback" not in r.text
    return text


REFUSED = {
    "zero-width query": (_with(query="\u200b"), 422, "blank"),
    "joiners and BOM query": (_with(query="\u200c\u200d\ufeff"), 422, "blank"),
    "word-joiner and spaces query": (_with(query=" \u2060 \u2060 "), 422, "blank"),
    "bidi override query": (_with(query="\u202e\u202c"), 422, "blank"),
    "soft-hyphen query": (_with(query="\u00ad\u00ad"), 422, "blank"),
    "control-character query": (_with(query="\x07\x1b"), 422, "blank"),
    "zero-width title": (_cand(title="\u200b\u200b"), 422, "blank"),
    "control-character title": (_cand(title="\x00\x01"), 422, "blank"),
    "title over 2000 characters": (_cand(title="x" * 2001), 422, "at most 2000"),
    "brand over 256 characters": (_cand(brand="b" * 257), 422, "at most 256"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_body(case: str, client: TestClient, fake: FakeRanker) -> None:
    body, status, rule = REFUSED[case]
    r = client.post("/v1/rank", json=body)
    assert r.status_code == status, r.text
    assert rule in _one_line(r)
    assert fake.calls == []


def test_trailing_slash_does_not_echo_host(client: TestClient, fake: FakeRanker) -> None:
    r = client.post("/v1/rank/", json=BODY, headers={"Host": "evil.example"},
                    follow_redirects=False)
    assert r.status_code == 404 and "location" not in r.headers
    assert "evil.example" not in r.text and fake.calls == []


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_no_cdn_docs_by_default(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404 and "cdn" not in r.text.lower()


def test_model_shows_no_training_details(client: TestClient) -> None:
    r = client.get("/v1/model")
    text = json.dumps(r.json())
    assert r.status_code == 200
    for secret in ("metrics", "auc", "fingerprint", "r.txt", "0" * 64, "user_bought_"):
        assert secret not in text


def test_explain_for_a_user_hides_what_they_bought(client: TestClient, fake: FakeRanker) -> None:
    r = client.post("/v1/rank", json=_with(user_id="u1", explain=True))
    assert r.status_code == 200
    assert all(not k.startswith("user_bought_") for k in r.json()["results"][0]["features"])
    assert fake.calls[-1]["user_id"] == "u1"  # still used for scoring, just not shown


def _exchange(port: int, data: bytes, then: bytes = b"", pause: float = 0.0) -> bytes:
    return raw_exchange(port, data, then, pause, timeout=15)


POST = b"POST /v1/rank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
CONNECTION = {
    "headers never finished": (b"POST /v1/rank HTTP/1.1\r\nHost: x\r\nX-A: ", b"", 0, 408),
    "nothing sent at all": (b"", b"", 0, 408),
    "request line only": (b"GET /healthz HTTP/1.1\r\n", b"", 0, 408),
    "body shorter than its length": (POST + b"Content-Length: 50\r\n\r\n{}", b"", 0, 408),
    "chunked body never ended": (POST + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                                 b"", 0, 408),
    "one huge header": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192, b"", 0,
                        431),
    "many small headers": (b"GET /healthz HTTP/1.1\r\n" + b"X-H: v\r\n" * 1200, b"", 0, 431),
    "headers trickled past the deadline": (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", 1.8,
                                           408),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    fake = FakeRanker()
    app = create_app(tmp_path_factory.mktemp("srv"), loader=lambda _p: fake)
    limits = ServeLimits(header_timeout=1.5, body_timeout=1.0, max_header_bytes=4096)
    with running_server(app, limits) as port:
        yield port, fake


@pytest.mark.parametrize("case", sorted(CONNECTION))
def test_bad_connection_is_cut_off(case: str, server: tuple[int, FakeRanker]) -> None:
    port, fake = server
    data, then, pause, status = CONNECTION[case]
    t = time.monotonic()
    got = _exchange(port, data, then, pause)
    took = time.monotonic() - t
    assert got.startswith(b"HTTP/1.1 %d" % status), got[:200]
    head, _, body = got.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    assert "\n" not in json.loads(body)["detail"]
    assert took < 6.0
    assert fake.calls == []
