"""The application factory: ``create_app(model_dir) -> FastAPI``."""

from __future__ import annotations

import gc
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from seemingly.serve.connections import ServeLimits
from seemingly.serve.deps import LoadedModel, Serving
from seemingly.serve.explore import ExplorePolicy
from seemingly.serve.impressions import LogOptions, ServeLog
from seemingly.serve.limits import BodySizeLimit
from seemingly.serve.protocol import RankerLike, RankerLoader
from seemingly.serve.routers import feedback, health, model, rank

__all__ = ["create_app", "load_model", "app_from_env", "OPTIONS_ENV"]

MODEL_ENV = "SEEMINGLY_SERVE_MODEL"  # how `seemingly serve --workers N` tells workers the model
OPTIONS_ENV = "SEEMINGLY_SERVE_OPTIONS"  # ... and the --docs / --explain-personal switches

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
    max_body_bytes: int | None = None,
    limits: ServeLimits | None = None,
    docs: bool = False,
    explain_personal: bool = False,
    log_dir: str | Path | None = None,
    log_options: LogOptions | None = None,
    explore: ExplorePolicy | None = None,
    metrics: bool = True,
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
        Larger request bodies get a 413 (default: ``limits.max_body_bytes``, 1 MiB).
    limits
        Body size and the ranker's cache budget in bytes (the connection deadlines are the
        server's: see :mod:`seemingly.serve.connections`).
    docs
        Serve the interactive ``/docs`` page. Off by default: FastAPI's page loads its
        JavaScript and CSS from a public CDN, which a service should not make its users'
        browsers do unasked. ``/openapi.json`` is always served.
    explain_personal
        Let ``explain: true`` return the ``user_bought_*`` features. Off by default: they
        tell anyone who can call the service what a given user bought.
    log_dir
        Append every served ranking to ``log_dir/impressions/`` and every ``POST
        /v1/feedback`` to ``log_dir/feedback/`` (Parquet, see :mod:`seemingly.serve.impressions`);
        without it nothing is logged and feedback is a 404.
    log_options
        The log's rotation and queue bound.
    explore
        Serve a randomised order (and log its propensities) instead of the fused order.
    metrics
        Serve Prometheus metrics at ``/metrics``.

    Examples
    --------
    >>> app = create_app("out/model")            # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    directory = Path(model_dir)
    limits = limits or ServeLimits()
    serve_log = ServeLog(Path(log_dir), log_options) if log_dir is not None else None
    body_limit = max_body_bytes if max_body_bytes is not None else limits.max_body_bytes

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A bad model raises here, so the server refuses to start instead of serving 503s.
        app.state.model = preloaded if preloaded is not None else load_model(directory, loader)
        bound = getattr(app.state.model.ranker, "bound_caches", None)
        if bound is not None:  # seemingly's Ranker: its text caches within the byte budget
            bound(limits.cache_bytes)
        # The model, its vocabularies and the warmed caches are a few hundred thousand
        # long-lived objects; a full garbage collection walking them took ~140 ms, a latency
        # spike whenever one ran mid-request. Frozen, the collector skips them.
        _warm(app.state.model.ranker)
        gc.collect()
        gc.freeze()
        if serve_log is not None:
            serve_log.start()
        app.state.ready = True
        try:
            yield
        finally:
            # not ready first, so a load balancer stops sending while the log is flushed;
            # uvicorn runs this on SIGTERM / SIGINT after the open requests are answered
            app.state.ready = False
            if serve_log is not None:
                serve_log.close()
            gc.unfreeze()
            app.state.model = None

    app = FastAPI(
        title="seemingly ranking service",
        version=_version(),
        summary="Rank product candidates by a per-request blend of relevance and outcome.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        # Starlette answers /v1/rank/ with a redirect to an absolute URL built from the Host
        # header, which a client controls; the service's few paths need no such guessing.
        redirect_slashes=False,
    )
    app.state.model = None
    app.state.ready = False
    app.state.serving = Serving(explain_personal=explain_personal, explore=explore, log=serve_log)
    app.state.heavy_limiter = anyio.CapacityLimiter(rank.HEAVY_THREADS)
    for router in (rank.router, feedback.router, model.router, health.router):
        app.include_router(router)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(rank.NonFiniteScoreError, _model_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(BodySizeLimit, max_bytes=body_limit)
    if metrics:
        from seemingly.serve.metrics import instrument

        instrument(app)
    _document_rank_body(app)
    return app


def _warm(ranker: RankerLike) -> None:
    """Rank a few catalog products once, so the first customer's request does not pay for
    the code paths' first run (LightGBM's and the feature code's lazy set-up)."""
    lookup = rank.catalog_lookup(ranker)
    rows = getattr(getattr(getattr(ranker, "snapshot", None), "index", None), "catalog_row", None)
    objectives = [m for m in ranker.manifest.get("models", {}) if m != "relevance"]
    if lookup is None or not rows or not objectives:
        return
    candidates = [r for p in list(rows)[:20] if (r := lookup(str(p))) is not None]
    if not candidates:
        return
    try:
        ranker.rank(str(candidates[0].get("title") or "warm up"), candidates, weight=0.5,
                    objective=objectives[0])
    except Exception:  # a model that cannot rank shows it on the first request, with a 4xx/5xx
        log.warning("warming the model up failed", exc_info=True)


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
    options = json.loads(os.environ.get(OPTIONS_ENV) or "{}")
    explore = options.get("explore")
    return create_app(model_dir, limits=ServeLimits.from_env(), docs=bool(options.get("docs")),
                      explain_personal=bool(options.get("explain_personal")),
                      log_dir=options.get("log_dir"),
                      log_options=LogOptions(**options.get("log_options", {})),
                      # each worker its own stream of draws: the same seed in every worker
                      # would serve the same "random" orders in lock step
                      explore=ExplorePolicy(**{**explore, "seed": [explore["seed"], os.getpid()]})
                      if explore else None)


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
