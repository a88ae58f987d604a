"""The ranking service through FastAPI's TestClient.

Service-only rules (limits, validation, errors) run against ``FakeRanker`` whose scores are
worked out by hand; the no-skew and model-verification tests use a real trained model.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from support.serve_fakes import FakeRanker
from support.serve_model import catalog_candidates
from typer.testing import CliRunner

from seemingly.errors import ModelArtifactError
from seemingly.serve import create_app
from seemingly.serve.limits import BodySizeLimit


def _cand(pid: str, title: str, price: float, **extra: Any) -> dict[str, Any]:
    return {"product_id": pid, "title": title, "category": "toys", "price": price, **extra}


CANDS = [_cand("A", "red toy car", 10.0), _cand("B", "blue mug", 0.0), _cand("C", "red mug", 1.0)]


def _body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query": "red car",
        "candidates": CANDS,
        "weight": 0.5,
        "objective": "purchase",
    }
    body.update(over)
    return body


@pytest.fixture()
def fake() -> FakeRanker:
    return FakeRanker()


@pytest.fixture()
def client(tmp_path: Path, fake: FakeRanker) -> Iterator[TestClient]:
    app = create_app(tmp_path, loader=lambda _path: fake)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


# ---------------------------------------------------------------- happy paths, hand-worked


def test_healthz_and_model(client: TestClient, fake: FakeRanker) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "model_loaded": True}
    got = client.get("/v1/model").json()
    # what a client needs, nothing about the training data (metrics, fingerprint, hashes);
    # the personal feature is not listed while explain does not return it
    assert got == {"model_dir": client.app.state.model.model_dir.name, "format_version": 2,
                   "seemingly_version": "0.0.0-fake", "objectives": ["purchase"],
                   "normalization": "min-max",
                   "feature_names": ["coverage", "price", "brand_known"]}


@pytest.mark.parametrize(
    ("weight", "order"),
    [
        # A: rel 1, out 1/11; B: rel 0, out 1; C: rel 1/2, out 1/2.
        # w=0.9: A .9091, C .5, B .1        w=0.1: B .9, C .5, A .1818
        (0.9, ["A", "C", "B"]),
        (0.1, ["B", "C", "A"]),
    ],
)
def test_rank_orders_by_fused_score(client: TestClient, weight: float, order: list[str]) -> None:
    r = client.post("/v1/rank", json=_body(weight=weight))
    assert r.status_code == 200, r.text
    got = r.json()
    assert [x["product_id"] for x in got["results"]] == order
    assert [x["rank"] for x in got["results"]] == [1, 2, 3]
    a = next(x for x in got["results"] if x["product_id"] == "A")
    assert a["relevance"] == pytest.approx(1.0)
    assert a["outcome"] == pytest.approx(1 / 11)
    assert a["fused"] == pytest.approx(weight + (1 - weight) / 11)
    assert a["features"] is None
    assert got["objective"] == "purchase" and got["n_candidates"] == 3


@pytest.mark.parametrize("explain", [False, True])
def test_body_is_exactly_the_response_model(client: TestClient, explain: bool) -> None:
    # the endpoint writes plain dicts for speed: the bytes must be what RankResponse gives
    from seemingly.serve.schemas import RankedItem, RankResponse

    r = client.post("/v1/rank", json=_body(weight=0.3, explain=explain))
    assert r.status_code == 200, r.text
    got = r.json()
    model = RankResponse.model_construct(
        request_id=got["request_id"], objective=got["objective"], weight=got["weight"],
        n_candidates=got["n_candidates"],
        results=[RankedItem.model_construct(**x) for x in got["results"]])
    assert r.content == model.model_dump_json().encode()
    assert RankResponse.model_validate_json(r.content).model_dump() == got


def test_request_reaches_ranker_normalised(client: TestClient, fake: FakeRanker) -> None:
    body = _body(query="  red car  ", user_id="u1", k=2, objective="engagement", explain=True)
    r = client.post("/v1/rank", json=body)
    assert r.status_code == 200, r.text
    call = fake.calls[-1]
    assert call["query"] == "red car"  # stripped
    assert (call["user_id"], call["k"], call["objective"], call["explain"]) == (
        "u1",
        2,
        "engagement",
        True,
    )
    assert call["candidates"][0] == {**CANDS[0], "brand": None, "product_type": None}
    assert len(r.json()["results"]) == 2


def test_explain_adds_features_and_nan_becomes_null(client: TestClient) -> None:
    r = client.post("/v1/rank", json=_body(explain=True))
    first = r.json()["results"][0]
    assert first["features"]["coverage"] == pytest.approx(first["relevance"])
    assert first["features"]["brand_known"] is None  # NaN has no JSON form


def test_empty_candidates_answer_empty(client: TestClient, fake: FakeRanker) -> None:
    r = client.post("/v1/rank", json=_body(candidates=[]))
    assert r.status_code == 200 and r.json()["results"] == []
    assert fake.calls == []


def test_openapi_schema_is_served_and_closed(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/rank", "/v1/model", "/healthz"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert schemas["RankRequest"]["additionalProperties"] is False
    assert schemas["Candidate"]["additionalProperties"] is False
    assert schemas["RankRequest"]["properties"]["candidates"]["maxItems"] == 1000


# ---------------------------------------------------------------- bad input -> 4xx, field-level

LONG = "q" * 513


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        (_body(colour="red"), ["body", "colour"]),
        (_body(candidates=[{**CANDS[0], "rating": 5}]), ["body", "candidates", 0, "rating"]),
        (_body(candidates=[_cand("A", "t", -1.0)]), ["body", "candidates", 0, "price"]),
        (_body(query=""), ["body", "query"]),
        (_body(query="   "), ["body", "query"]),
        (_body(query=LONG), ["body", "query"]),
        (_body(candidates=[_cand(f"p{i}", "t", 1.0) for i in range(1001)]), ["body", "candidates"]),
        (_body(weight=1.5), ["body", "weight"]),
        (_body(weight="0.5"), ["body", "weight"]),
        (_body(objective="clicks"), ["body", "objective"]),
        (_body(k=0), ["body", "k"]),
        (_body(query=5), ["body", "query"]),
        (_body(candidates="A,B"), ["body", "candidates"]),
        (_body(candidates=[{**CANDS[0], "price": "12"}]), ["body", "candidates", 0, "price"]),
        (_body(candidates=[{"product_id": "A"}]), ["body", "candidates", 0, "title"]),
        (_body(candidates=[CANDS[0], CANDS[0]]), ["body", "candidates"]),
        ({"query": "x"}, ["body", "candidates"]),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, raw: dict[str, Any], loc: list[Any]
) -> None:
    r = client.post("/v1/rank", json=raw)
    assert r.status_code == 422, r.text
    locs = [e["loc"] for e in r.json()["detail"]]
    assert loc in locs, locs
    assert all(e["msg"] for e in r.json()["detail"])


@pytest.mark.parametrize(
    ("text", "loc"),
    [
        ('{"query":"x","candidates":[],"weight":NaN,"objective":"purchase"}', ["body", "weight"]),
        (
            '{"query":"x","candidates":[],"weight":Infinity,"objective":"purchase"}',
            ["body", "weight"],
        ),
        (
            '{"query":"x","candidates":[{"product_id":"a","title":"t","category":"c",'
            '"price":-Infinity}],"weight":0.5,"objective":"purchase"}',
            ["body", "candidates", 0, "price"],
        ),
        (
            '{"query":"x","candidates":[],"weight":0.5,"objective":"purchase","n":NaN}',
            ["body", "n"],
        ),
    ],
)
def test_nan_and_inf_are_422_not_500(client: TestClient, text: str, loc: list[Any]) -> None:
    # Python's json accepts NaN/Infinity literals; echoing them back used to make a 500.
    r = client.post("/v1/rank", content=text, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert loc in [e["loc"] for e in r.json()["detail"]]


@pytest.mark.parametrize(
    ("content", "status"),
    [(b'{"query": ', 422), (b"[1, 2]", 422), (b"\xff\xfe", 422), (b"[" * 100_000, 422)],
)
def test_malformed_json_is_4xx(client: TestClient, content: bytes, status: int) -> None:
    r = client.post("/v1/rank", content=content, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_non_json_body_is_415(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/v1/rank", content=json.dumps(_body()).encode(), headers=headers)
    assert r.status_code == 415 and "application/json" in r.json()["detail"]


def test_body_over_1mb_is_413_by_content_length(client: TestClient, fake: FakeRanker) -> None:
    title = "x" * 1500  # 1000 candidates with 1.5 kB titles: ~1.6 MB, otherwise valid
    body = _body(candidates=[_cand(f"p{i}", title, 1.0) for i in range(1000)])
    r = client.post("/v1/rank", json=body)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert fake.calls == []


def test_body_over_1mb_is_413_when_streamed_without_length(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65536  # 1.25 MiB of JSON whitespace, sent chunked

    r = client.post("/v1/rank", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def _call_middleware(
    headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, bool]:
    """Run BodySizeLimit directly (a client can declare any Content-Length it likes)."""
    reached = False

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal reached
        reached = True
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    mw = BodySizeLimit(app, max_bytes=100)
    await mw({"type": "http", "headers": headers}, receive, send)
    return sent[0]["status"], reached


@pytest.mark.parametrize(
    ("headers", "chunks", "status", "reached"),
    [
        ([(b"content-length", b"10")], [b"x" * 60, b"x" * 60], 413, False),  # lies about size
        ([(b"content-length", b"101")], [b"x" * 101], 413, False),
        ([(b"content-length", b"abc")], [b"x"], 400, False),
        ([(b"content-length", "\u00b2".encode("latin-1"))], [b"x"], 400, False),
        ([(b"content-length", b"100")], [b"x" * 50, b"x" * 50], 200, True),  # at the limit
        ([], [b"x" * 100], 200, True),
    ],
)
def test_body_limit_middleware(
    headers: list[tuple[bytes, bytes]], chunks: list[bytes], status: int, reached: bool
) -> None:
    assert asyncio.run(_call_middleware(headers, chunks)) == (status, reached)


# ---------------------------------------------------------------- ranker failures


def test_ranker_value_error_is_422(client: TestClient, fake: FakeRanker) -> None:
    fake.fail_with = ValueError("candidate 'A' has category 'zzz' the model never saw")
    r = client.post("/v1/rank", json=_body())
    assert r.status_code == 422 and "never saw" in r.json()["detail"]


def test_unexpected_ranker_error_is_clean_json_500(client: TestClient, fake: FakeRanker) -> None:
    fake.fail_with = RuntimeError("boom")
    r = client.post("/v1/rank", json=_body())
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error (RuntimeError); see logs"}


def test_non_finite_model_score_is_clean_json_500(client: TestClient, fake: FakeRanker) -> None:
    fake.nan_scores = True
    r = client.post("/v1/rank", json=_body())
    assert r.status_code == 500 and "retrain" in r.json()["detail"]


def test_no_model_loaded_is_503(tmp_path: Path, fake: FakeRanker) -> None:
    app = create_app(tmp_path, loader=lambda _p: fake)
    c = TestClient(app)  # not entered: the lifespan (model load) has not run
    assert c.post("/v1/rank", json=_body()).status_code == 503
    assert c.get("/healthz").json()["model_loaded"] is False


def test_bad_model_refuses_to_start(tmp_path: Path) -> None:
    def loader(path: Path) -> FakeRanker:
        raise ModelArtifactError(f"{path}/manifest.json: sha256 of relevance.txt differs")

    app = create_app(tmp_path, loader=loader)
    with pytest.raises(ModelArtifactError, match="sha256"):
        with TestClient(app):
            pass


def test_response_json_is_strict(client: TestClient) -> None:
    # Clients parse with strict JSON parsers: no NaN tokens anywhere in an answer.
    text = client.post("/v1/rank", json=_body(explain=True)).text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


# ---------------------------------------------------------------- a real trained model


@pytest.fixture(scope="module")
def real_client(trained: tuple[Path, Path]) -> Iterator[TestClient]:
    with TestClient(create_app(trained[1])) as c:
        yield c


@pytest.mark.parametrize(
    ("query", "user_id", "objective", "weight"),
    [("building blocks", None, "purchase", 0.5), ("toy car", "u0001", "engagement", 0.2),
     ("x", None, "purchase", 1.0)],
)
def test_served_scores_equal_offline_ranker(
    trained: tuple[Path, Path], real_client: TestClient,
    query: str, user_id: str | None, objective: Literal["purchase", "engagement"],
    weight: float,
) -> None:
    from seemingly.ranking.models import Ranker

    root, model_dir = trained
    # catalog products plus one the model never saw (new product id, free text, no brand)
    cands = catalog_candidates(root, 60) + [_cand("NEW-1", "wooden toy car set", 12.5)]
    body = {"query": query, "user_id": user_id, "candidates": cands, "weight": weight,
            "objective": objective, "explain": True}
    served = real_client.post("/v1/rank", json=body)
    assert served.status_code == 200, served.text
    offline = Ranker.load(model_dir).rank(
        query, cands, weight=weight, objective=objective, user_id=user_id, explain=True
    )
    got = served.json()["results"]
    assert [x["product_id"] for x in got] == [c.product_id for c in offline.items]
    for s, o in zip(got, offline.items, strict=True):
        assert s["relevance"] == o.relevance_score  # bit-for-bit: same code, same floats
        assert s["outcome"] == o.outcome_score
        assert s["fused"] == o.fused_score
        assert o.features is not None
        # the same values, less the personal ones (the service runs without
        # --explain-personal here; tests/serve/test_serve_privacy.py has the rest)
        assert s["features"] == {k: (v if v == v else None) for k, v in o.features.items()
                                 if not k.startswith("user_bought_")}


def test_real_model_manifest_and_k(trained: tuple[Path, Path], real_client: TestClient) -> None:
    manifest = json.loads((trained[1] / "manifest.json").read_text())
    got = real_client.get("/v1/model").json()
    assert got["feature_names"] == [n for n in manifest["feature_names"]
                                    if not n.startswith("user_bought_")]
    assert got["objectives"] == ["engagement", "purchase"]
    assert "metrics" not in json.dumps(got) and "sha256" not in json.dumps(got)
    body = {"query": "blocks", "candidates": catalog_candidates(trained[0], 20), "weight": 0.5,
            "objective": "purchase", "k": 5}
    got = real_client.post("/v1/rank", json=body).json()["results"]
    assert len(got) == 5
    fused = [x["fused"] for x in got]
    assert fused == sorted(fused, reverse=True)


def _corrupt_copy(model_dir: Path, dest: Path, how: str) -> Path:
    shutil.copytree(model_dir, dest)
    if how == "flip_byte":
        f = dest / "relevance.txt"
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0x01
        f.write_bytes(bytes(data))
    elif how == "missing_file":
        (dest / "purchase.txt").unlink()
    elif how == "feature_names":
        m = json.loads((dest / "manifest.json").read_text())
        m["feature_names"] = m["feature_names"][:-1]
        (dest / "manifest.json").write_text(json.dumps(m))
    elif how == "lightgbm_version":
        m = json.loads((dest / "manifest.json").read_text())
        m["lightgbm_version"] = "1.0.0"
        (dest / "manifest.json").write_text(json.dumps(m))
    elif how == "no_manifest":
        (dest / "manifest.json").unlink()
    return dest


CORRUPTIONS = [
    ("flip_byte", "sha256"),
    ("missing_file", "lacks purchase.txt"),
    ("feature_names", "features"),
    ("lightgbm_version", "LightGBM"),
    ("no_manifest", "manifest.json"),
]


@pytest.mark.parametrize(("how", "message"), CORRUPTIONS)
def test_corrupt_model_refuses_to_start(
    trained: tuple[Path, Path], tmp_path: Path, how: str, message: str
) -> None:
    bad = _corrupt_copy(trained[1], tmp_path / "model", how)
    with pytest.raises(ModelArtifactError, match=message):
        with TestClient(create_app(bad)):
            pass


@pytest.mark.parametrize(("how", "message"), CORRUPTIONS[:2])
def test_cli_serve_refuses_corrupt_model(
    trained: tuple[Path, Path], tmp_path: Path, how: str, message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    from seemingly.cli import app

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # serve sets it; keep it from leaking
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    bad = _corrupt_copy(trained[1], tmp_path / "model", how)
    result = CliRunner().invoke(app, ["serve", "--model", str(bad)])
    assert result.exit_code == 2
    assert message in result.output and "cannot serve" in result.output


def test_cli_serve_starts_uvicorn_on_loopback(
    trained: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from seemingly.cli import app

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # serve sets it; keep it from leaking
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda a, **kw: seen.update(app=a, **kw))
    args = ["serve", "--model", str(trained[1]), "--port", "8123", "--limit-concurrency", "32"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"], seen["limit_concurrency"]) == ("127.0.0.1", 8123, 32)
    with TestClient(seen["app"]) as c:  # the verified model was handed over, not reloaded
        assert c.get("/healthz").json()["model_loaded"] is True


def test_request_of_a_client_that_left_is_not_scored(tmp_path: Path, fake: FakeRanker) -> None:
    from seemingly.serve.deps import LoadedModel

    app = create_app(tmp_path, loader=lambda _p: fake)
    app.state.model = LoadedModel(tmp_path, fake)
    body = json.dumps(_body()).encode()
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": body, "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if len(messages) > 1 else messages[0]

    sent: list[dict[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/v1/rank", "raw_path": b"/v1/rank",
             "root_path": "", "query_string": b"", "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80),
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
    asyncio.run(app(scope, receive, send))
    assert fake.calls == []
    assert sent[0]["status"] == 499


def test_cli_serve_with_workers_hands_uvicorn_the_factory(
    trained: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from seemingly.cli import app
    from seemingly.serve.app import MODEL_ENV, app_from_env

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # serve sets it; keep it from leaking
    monkeypatch.delenv(MODEL_ENV, raising=False)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda a, **kw: seen.update(app=a, **kw))
    result = CliRunner().invoke(app, ["serve", "--model", str(trained[1]), "--workers", "2"])
    assert result.exit_code == 0, result.output
    # workers start from an import string; each loads the directory named in the environment
    assert (seen["app"], seen["factory"], seen["workers"]) == (
        "seemingly.serve.app:app_from_env", True, 2)
    import os

    assert Path(os.environ[MODEL_ENV]) == trained[1].resolve()
    with TestClient(app_from_env()) as c:
        assert c.get("/healthz").json()["model_loaded"] is True
        assert c.get("/v1/model").json()["model_dir"] == trained[1].name


def test_app_from_env_without_a_model_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from seemingly.serve.app import MODEL_ENV, app_from_env

    monkeypatch.delenv(MODEL_ENV, raising=False)
    with pytest.raises(RuntimeError, match=MODEL_ENV):
        app_from_env()
