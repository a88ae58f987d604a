"""``POST /v1/rank``: score and order candidates with the loaded ranker."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import numpy as np
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from seemingly.serve.deps import LoadedModel, Serving, model_of, serving_of
from seemingly.serve.protocol import RankerLike, RankResultLike
from seemingly.serve.schemas import (
    PERSONAL_PREFIX,
    Candidate,
    ErrorResponse,
    RankRequest,
    RankResponse,
)

__all__ = ["router", "body_schemas", "INLINE_BYTES", "HEAVY_THREADS"]

router = APIRouter(prefix="/v1", tags=["rank"])

INLINE_BYTES = 65_536  # bodies up to this size are ranked on the event loop (a few ms)
HEAVY_THREADS = 2  # larger ones in at most this many worker threads at once

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 413, 415, 422, 500, 503)
}


# pydantic-core's serializer for plain dicts: the same JSON (key order, number format) as
# RankResponse.model_dump_json, without building a model object per ranked item.
_JSON: TypeAdapter[Any] = TypeAdapter(Any)


class NonFiniteScoreError(RuntimeError):
    """The model produced NaN or inf for a score: a model bug, never the client's fault."""


# The request body, as the OpenAPI schema documents it; the endpoint parses it itself.
_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RankRequest"}}},
    }
}


def body_schemas() -> dict[str, Any]:
    """RankRequest and the models it nests, as OpenAPI components (the app adds them)."""
    schema = RankRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = schema.pop("$defs", {})
    return {"RankRequest": schema, **nested}


def parse_body(raw: bytes) -> RankRequest:
    """Validate the raw body in one pass (pydantic's JSON parser straight into the model).

    FastAPI's own path decodes with ``json.loads`` and validates the resulting objects
    again, about twice the work for a hundred candidates. Errors carry FastAPI's
    ``["body", ...]`` locations, so clients see the same 422.
    """
    try:
        return RankRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = _one_branch(exc.errors(include_url=False, include_input=False))
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in errors]
        ) from None


_BRANCHES = {"Candidate": "model_type", "constrained-str": "string_type"}


def _one_branch(errors: list[Any]) -> list[Any]:
    """A candidate is a row or a product id: report the errors of the branch the client
    meant (the one whose type matched), at ``candidates.<i>.<field>``, as before ids alone
    were allowed."""
    wrong_type: set[tuple[Any, str]] = set()
    for e in errors:
        loc = e["loc"]
        if len(loc) >= 3 and loc[0] == "candidates" and loc[2] in _BRANCHES \
                and e["type"] == _BRANCHES[loc[2]] and len(loc) == 3:
            wrong_type.add((loc[1], loc[2]))
    out: list[Any] = []
    for e in errors:
        loc = e["loc"]
        if not (len(loc) >= 3 and loc[0] == "candidates" and loc[2] in _BRANCHES):
            out.append(e)
            continue
        i, branch = loc[1], loc[2]
        if (i, branch) in wrong_type:
            if all((i, b) in wrong_type for b in _BRANCHES) and branch == "Candidate":
                out.append({**e, "loc": ("candidates", i), "msg": "a candidate is an object "
                            "(product_id, title, category, price, ...) or a product id string"})
            continue
        out.append({**e, "loc": ("candidates", i, *loc[3:])})
    return out


# The endpoint is ``async`` on purpose: ranking is CPU-bound, so a worker thread buys no
# parallelism here but costs thread hand-offs on every request (measured: ~1 ms on 2 cores).
# It reads and validates the body itself (see parse_body) and returns the serialised answer
# itself: FastAPI would otherwise re-validate every item of an answer built from the ranker's
# floats. ``response_model`` and ``openapi_extra`` keep the OpenAPI schema exact, and the
# body is built as plain dicts in RankResponse's field order (tests check the two agree).
@router.post("/rank", response_model=RankResponse, responses=_ERRORS, openapi_extra=_BODY_SCHEMA)
async def rank(request: Request) -> Response:
    """Rank the candidates, best first, by the ranker's fused score.

    The fused score is ``weight * norm(relevance) + (1 - weight) * norm(outcome)`` over this
    candidate set (see ``seemingly.ranking.models.Ranker.rank``); ``objective`` picks the outcome
    model (purchase or engagement).
    """
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type.lower():
        raise HTTPException(
            status_code=415,
            detail=f"send the body as JSON with Content-Type: application/json "
            f"(got {content_type or 'no Content-Type'!r})",
        )
    raw = await request.body()
    model = model_of(request)
    if await request.is_disconnected():
        # The client gave up while this request queued behind others (overload): scoring it
        # would only delay the requests still waiting. Nobody reads this answer.
        return Response(status_code=499)
    serving = serving_of(request)
    if len(raw) <= INLINE_BYTES:
        answer = _answer(raw, model, serving)
    else:
        # A large request (up to the 1 MiB limit: a thousand long titles) is ~100 ms of
        # parsing and scoring; on the event loop it would stall every other client, health
        # checks included, for that long. In a worker thread the loop keeps answering; at
        # most HEAVY_THREADS at once, so a burst of them cannot queue without bound.
        answer = await anyio.to_thread.run_sync(
            _answer, raw, model, serving, limiter=request.app.state.heavy_limiter)
    return Response(answer, media_type="application/json")


def _answer(raw: bytes, model: LoadedModel, serving: Serving) -> bytes:
    """Parse, rank, log and serialise one request body (in or off the event loop)."""
    body = parse_body(raw)
    request_id = body.request_id or uuid.uuid4().hex
    results: list[dict[str, Any]] = []
    if body.candidates:  # nothing to score; the ranker need not handle an empty frame
        candidates = _records(body.candidates, model.ranker)
        explore = serving.explore
        try:
            ranked = model.ranker.rank(
                body.query,
                candidates,
                weight=body.weight,
                objective=body.objective,
                user_id=body.user_id,
                # exploring draws from every candidate's score, then keeps the top k
                k=body.k if explore is None else None,
                explain=body.explain,
            )
        except ValueError as exc:  # the ranker refused the input (ContractError and kin)
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        results = _items(ranked, explain=body.explain, personal=serving.explain_personal)
        if explore is not None:
            order, prop = explore.order(np.array([r["fused"] for r in results]), body.k)
            results = [{**results[i], "rank": r, "propensity": float(p)}
                       for r, (i, p) in enumerate(zip(order.tolist(), prop.tolist(),
                                                      strict=True), start=1)]
        if serving.log is not None:
            serving.log.served(
                request_id=request_id, timestamp=time.time(), user_id=body.user_id,
                query=body.query, product_ids=[r["product_id"] for r in results],
                propensities=[r["propensity"] for r in results], weight=body.weight,
                objective=body.objective,
                policy="deterministic" if explore is None else explore.label)
    answer = {
        "request_id": request_id,
        "objective": body.objective,
        "weight": body.weight,
        "n_candidates": len(body.candidates),
        "results": results,
    }
    return _JSON.dump_json(answer)


def _records(candidates: Sequence[Candidate | str], ranker: RankerLike) -> list[dict[str, Any]]:
    """The ranker's input rows; a bare product id takes its columns from the catalog."""
    # a validated Candidate's fields, as model_dump would give them (nested models: none)
    records = [c if isinstance(c, str) else c.__dict__ for c in candidates]
    if all(isinstance(r, dict) for r in records):
        return records  # type: ignore[return-value]
    lookup = catalog_lookup(ranker)
    if lookup is None:
        raise HTTPException(status_code=422, detail=(
            "this model has no catalog snapshot to look product ids up in; send each "
            "candidate with its title, category and price"))
    out: list[dict[str, Any]] = []
    unknown: list[str] = []
    for r in records:
        if isinstance(r, str):
            row = lookup(r)
            if row is None:
                unknown.append(r)
                continue
            r = row
        out.append(r)
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise HTTPException(status_code=422, detail=(
            f"{len(unknown)} candidate product id(s) are not in the model's catalog: "
            f"{shown}{more}; send them with their title, category and price"))
    return out


_FIELDS = ("title", "category", "price", "brand", "product_type")


def catalog_lookup(ranker: RankerLike) -> Callable[[str], dict[str, Any] | None] | None:
    """product id -> a full candidate row from the model's catalog snapshot, or None when the
    ranker has no catalog (``None``) or the id is not in it."""
    own = getattr(ranker, "catalog_record", None)
    if callable(own):
        return own  # type: ignore[no-any-return]
    index = getattr(getattr(ranker, "snapshot", None), "index", None)
    rows: Mapping[Any, int] | None = getattr(index, "catalog_row", None)
    cols: Mapping[str, list[Any]] | None = getattr(index, "catalog_cols", None)
    if not rows or cols is None or not getattr(index, "catalog_unique", False):
        return None  # a catalog repeating ids cannot say which row an id means

    def lookup(pid: str) -> dict[str, Any] | None:
        i = rows.get(pid)
        if i is None:
            return None
        row: dict[str, Any] = {"product_id": pid}
        for c in _FIELDS:
            col = cols.get(c)
            v = None if col is None else col[i]
            row[c] = None if isinstance(v, float) and c != "price" and math.isnan(v) else v
        return row

    return lookup


def _items(ranked: RankResultLike, *, explain: bool, personal: bool = False
           ) -> list[dict[str, Any]]:
    columns = getattr(ranked, "columns", None)
    if columns is not None:  # seemingly's Ranker: plain columns, no object per item
        ids, rel, outcome, fused, feats = columns()
    else:
        items = list(ranked.items)
        ids = [it.product_id for it in items]
        rel, outcome, fused = ([float(getattr(it, a)) for it in items] for a in
                               ("relevance_score", "outcome_score", "fused_score"))
        feats = [it.features for it in items]
    scores = np.array([rel, outcome, fused], dtype=float).reshape(3, -1)
    bad = np.flatnonzero(~np.isfinite(scores).all(axis=0))
    if len(bad):
        i = int(bad[0])
        raise NonFiniteScoreError(
            f"the model scored product {ids[i]!r} as relevance={rel[i]}, "
            f"outcome={outcome[i]}, fused={fused[i]}; check the model directory (retrain it "
            "if the manifest verifies)"
        )
    if not explain or feats is None:
        feats = [None] * len(ids)
    else:
        feats = [_features(f, personal) for f in feats]
    return [
        {"rank": r, "product_id": str(p), "relevance": a, "outcome": b, "fused": c,
         "propensity": 1.0, "features": f}
        for r, (p, a, b, c, f) in enumerate(
            zip(ids, map(float, rel), map(float, outcome), map(float, fused), feats,
                strict=True), start=1)
    ]


def _features(raw: Mapping[str, Any] | None, personal: bool) -> dict[str, float | None] | None:
    if raw is None:
        return None
    # JSON has no NaN: a missing feature value (LightGBM's NaN) is sent as null. The
    # user_bought_* features say what the request's user bought: only with --explain-personal.
    return {
        str(k): (f if math.isfinite(f := float(v)) else None) if v is not None else None
        for k, v in raw.items() if personal or not str(k).startswith(PERSONAL_PREFIX)
    }
