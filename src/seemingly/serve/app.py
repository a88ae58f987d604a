"""The application factory: ``create_app(model_dir) -> FastAPI``."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from seemingly.serve.deps import LoadedModel
from seemingly.serve.limits import DEFAULT_MAX_BYTES, BodySizeLimit
from seemingly.serve.protocol import RankerLike, RankerLoader
from seemingly.serve.routers import health, model, rank

__all__ = ["create_app", "load_model", "app_from_env"]

MODEL_ENV = "SEEMINGLY_SERVE_MODEL"  # how `seemingly serve --workers N` tells workers the model

log = logging.getLogger("seemingly.serve")


def load_model(model_dir: str | Path, loader: RankerLoader | None = None) -> LoadedModel:
    """Load and verify ``model_dir``; raises ``ModelArtifactError`` with the reason.

    ``loader`` defaults to ``seemingly.ranking.models.Ranker.load``, which checks every file's
    sha256,
    the feature names and the versions against the directory's manifest.
    """
    path = Path(model_dir)
    if loader is None:
        from seemingly.ranking.models import Ranker  # heavy (LightGBM): only when a model is served

        loader = Ranker.load
    ranker: RankerLike = loader(path)
    return LoadedModel(model_dir=path, ranker=ranker)


def create_app(
    model_dir: str | Path,
    *,
    loader: RankerLoader | None = None,
    preloaded: LoadedModel | None = None,
    max_body_bytes: int = DEFAULT_MAX_BYTES,
) -> FastAPI:
    """Build the service for one model directory.

    Parameters
    ----------
    model_dir
        A directory written by ``seemingly train``; loaded and verified once, at startup.
    loader
        Replaces ``Ranker.load`` (tests pass a fake ranker here).
    preloaded
        An already verified model (the CLI loads first so a bad model fails before binding).
    max_body_bytes
        Larger request bodies get a 413.

    Examples
    --------
    >>> app = create_app("out/model")            # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    directory = Path(model_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A bad model raises here, so the server refuses to start instead of serving 503s.
        app.state.model = preloaded if preloaded is not None else load_model(directory, loader)
        # The model, its vocabularies and the warmed caches are a few hundred thousand
        # long-lived objects; a full garbage collection walking them took ~140 ms, a latency
        # spike whenever one ran mid-request. Frozen, the collector skips them.
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()
        app.state.model = None

    app = FastAPI(
        title="seemingly ranking service",
        version=_version(),
        summary="Rank product candidates by a per-request blend of relevance and outcome.",
        lifespan=lifespan,
    )
    app.state.model = None
    for router in (rank.router, model.router, health.router):
        app.include_router(router)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(rank.NonFiniteScoreError, _model_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    _document_rank_body(app)
    return app


def _document_rank_body(app: FastAPI) -> None:
    """Put the request models ``POST /v1/rank`` parses itself into the OpenAPI components
    (FastAPI adds only the models it validates)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()  # FastAPI caches this very dict as app.openapi_schema
            spec.setdefault("components", {}).setdefault("schemas", {}).update(
                rank.body_schemas())
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """The app for the model directory named by ``$SEEMINGLY_SERVE_MODEL``.

    uvicorn starts several worker processes only from an import string, so
    ``seemingly serve --workers N`` verifies the model once, sets the variable and hands
    uvicorn ``seemingly.serve.app:app_from_env`` (with ``factory=True``); every worker then
    loads and verifies the directory itself at startup.
    """
    model_dir = os.environ.get(MODEL_ENV)
    if not model_dir:
        raise RuntimeError(f"set {MODEL_ENV} to a model directory (seemingly serve does this)")
    return create_app(model_dir)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default echoes each bad ``input``; a NaN there cannot be written as JSON and
    # turned a 422 into a 500. Keep loc/msg/type, which is what a client acts on. (A body
    # that is not JSON at all is a 415 from the endpoint, before validation.)
    errors = cast(RequestValidationError, exc).errors()
    detail = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in errors
    ]
    return JSONResponse(status_code=422, content={"detail": detail})


async def _model_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("model error on %s: %s", request.url.path, exc)
    return JSONResponse(status_code=500, content={"detail": str(exc)})


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return JSONResponse(
        status_code=500, content={"detail": f"internal error ({type(exc).__name__}); see logs"}
    )


def _version() -> str:
    from seemingly._version import __version__

    return __version__
