"""``seemingly serve``: serve a trained model directory over HTTP."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from seemingly.cli._extras import require_extra
from seemingly.cli.app import app

__all__ = ["serve"]


@app.command("serve")
def serve(
    model: Annotated[
        Path, typer.Option("--model", help="model directory written by `seemingly train`")
    ],
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to bind")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    limit_concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="answer 503 at once beyond this many open connections"),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, help="worker processes, each with its own copy of the model; "
                     "about one per core (ranking is CPU-bound, one request at a time each)"),
    ] = 1,
    header_timeout: Annotated[
        float, typer.Option(help="seconds a client has to send a request's line and headers; "
                            "then 408 and the connection is closed")] = 30.0,
    body_timeout: Annotated[
        float, typer.Option(help="seconds a client has to send a request's body after its "
                            "headers; then 408 and the connection is closed")] = 60.0,
    max_header_bytes: Annotated[
        int, typer.Option(help="larger request headers get a 431")] = 16_384,
    max_body_bytes: Annotated[
        int, typer.Option(help="larger request bodies get a 413")] = 1_048_576,
    cache_mb: Annotated[
        int, typer.Option(min=1, max=1 << 20,
                          help="memory for the ranker's text caches, in MiB (per worker)")
    ] = 256,
    docs: Annotated[
        bool, typer.Option("--docs", help="serve the interactive /docs page (it loads its "
                           "JavaScript from a public CDN)")] = False,
    explain_personal: Annotated[
        bool, typer.Option("--explain-personal", help="let explain return the user_bought_* "
                           "features, which tell any caller what a user bought")] = False,
) -> None:
    """Serve MODEL over HTTP: POST /v1/rank, GET /v1/model, GET /healthz (and /docs with
    --docs).

    Example: seemingly serve --model out/study/models --port 8000 (needs the serve extra)
    """
    # One OpenMP thread per LightGBM predict: a server's parallelism is its requests, and on a
    # small machine the default (all cores per 100-row predict) measured 1 ms -> 9 ms under
    # load. Only effective before LightGBM is first imported; a user's own setting wins.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    require_extra("serve", "seemingly serve")
    import uvicorn

    from seemingly.errors import ModelArtifactError
    from seemingly.serve import create_app, load_model
    from seemingly.serve.app import MODEL_ENV, OPTIONS_ENV
    from seemingly.serve.connections import LIMITS_ENV, ServeLimits, deadline_protocol

    try:
        limits = ServeLimits(header_timeout=header_timeout, body_timeout=body_timeout,
                             max_header_bytes=max_header_bytes, max_body_bytes=max_body_bytes,
                             cache_bytes=cache_mb << 20)
    except ValueError as exc:  # the message starts with the field: name the option instead
        field, _, rule = str(exc).partition(" ")
        typer.echo(f"error: --{field.replace('_', '-')} {rule}", err=True)
        raise typer.Exit(code=2) from exc
    # Verify the model before binding the port: a corrupt or mismatched directory must stop
    # the command with the reason, not leave a half-started server.
    try:
        loaded = load_model(model)
    except (ModelArtifactError, FileNotFoundError) as exc:
        typer.echo(f"error: cannot serve {model}: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"serving {model} on http://{host}:{port} with {workers} worker"
               f"{'s' if workers > 1 else ''}{' (docs at /docs)' if docs else ''}", err=True)
    options: dict[str, Any] = {"host": host, "port": port, "log_level": log_level,
               "limit_concurrency": limit_concurrency,
               # the server's own Server/Date headers say nothing a client needs
               "server_header": False}
    if workers == 1:
        app_ = create_app(model, preloaded=loaded, limits=limits, docs=docs,
                          explain_personal=explain_personal)
        uvicorn.run(app_, http=deadline_protocol(limits), **options)
        return
    # Worker processes are started from an import string; each loads and verifies the
    # directory again (a few seconds), the check above only made a bad model fail fast.
    # They read the limits and switches from the environment, as they do the model.
    os.environ[MODEL_ENV] = str(model.resolve())
    os.environ[LIMITS_ENV] = limits.to_env()
    os.environ[OPTIONS_ENV] = json.dumps({"docs": docs, "explain_personal": explain_personal})
    uvicorn.run("seemingly.serve.app:app_from_env", factory=True, workers=workers,
                http="seemingly.serve.connections:DeadlineProtocol", **options)
