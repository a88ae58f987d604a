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
    log_dir: Annotated[
        Path | None, typer.Option(help="append every served ranking to DIR/impressions/ and "
                                  "every POST /v1/feedback to DIR/feedback/ (Parquet)")] = None,
    log_rotate_rows: Annotated[
        int, typer.Option(min=1, help="start a new log file after this many rows")] = 100_000,
    log_rotate_seconds: Annotated[
        float, typer.Option(min=0.001, help="... or after this many seconds")] = 60.0,
    log_queue_rows: Annotated[
        int, typer.Option(min=1, help="rows that may wait for the log writer; beyond, rows "
                          "are dropped and counted (seemingly_log_dropped_rows_total)")
    ] = 200_000,
    explore: Annotated[
        bool, typer.Option("--explore", help="serve a randomised order and log each row's "
                           "propensity: Plackett-Luce over the fused scores, or epsilon-greedy "
                           "with --explore-epsilon")] = False,
    explore_temperature: Annotated[
        float | None, typer.Option(min=0.0, help="Plackett-Luce temperature (default 0.1; "
                                   "fused scores lie in [0, 1])")] = None,
    explore_epsilon: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="epsilon-greedy: each position "
                                   "is uniform among the rest with this probability")] = None,
    explore_seed: Annotated[int, typer.Option(help="seed of the exploration draws")] = 0,
) -> None:
    """Serve MODEL over HTTP: POST /v1/rank, POST /v1/feedback, GET /v1/model, /healthz,
    /livez, /readyz, /metrics (and /docs with --docs).

    Example: seemingly serve --model out/study/models --port 8000 --log-dir logs (needs the
    serve extra)
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
    from seemingly.serve.explore import ExplorePolicy
    from seemingly.serve.impressions import LogOptions

    try:
        limits = ServeLimits(header_timeout=header_timeout, body_timeout=body_timeout,
                             max_header_bytes=max_header_bytes, max_body_bytes=max_body_bytes,
                             cache_bytes=cache_mb << 20)
        log_options = LogOptions(rotate_rows=log_rotate_rows,
                                 rotate_seconds=log_rotate_seconds, queue_rows=log_queue_rows)
    except ValueError as exc:  # the message starts with the field: name the option instead
        field, _, rule = str(exc).partition(" ")
        name = f"log_{field}" if field.startswith(("rotate", "queue")) else field
        typer.echo(f"error: --{name.replace('_', '-')} {rule}", err=True)
        raise typer.Exit(code=2) from exc
    explore_options: dict[str, Any] | None = None
    if explore_temperature is not None and explore_epsilon is not None:
        typer.echo("error: --explore-temperature and --explore-epsilon pick different "
                   "policies; give one", err=True)
        raise typer.Exit(code=2)
    if not explore and (explore_temperature is not None or explore_epsilon is not None):
        typer.echo("error: --explore-temperature / --explore-epsilon need --explore", err=True)
        raise typer.Exit(code=2)
    if explore:
        explore_options = ({"kind": "epsilon-greedy", "epsilon": explore_epsilon}
                           if explore_epsilon is not None else
                           {"kind": "plackett-luce", "temperature": explore_temperature or 0.1})
        explore_options["seed"] = explore_seed
        if explore_temperature == 0.0:
            typer.echo("error: --explore-temperature must be > 0 (0 is the deterministic "
                       "order: leave out --explore)", err=True)
            raise typer.Exit(code=2)
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
                          explain_personal=explain_personal, log_dir=log_dir,
                          log_options=log_options,
                          explore=ExplorePolicy(**explore_options) if explore_options else None)
        uvicorn.run(app_, http=deadline_protocol(limits), **options)
        return
    # Worker processes are started from an import string; each loads and verifies the
    # directory again (a few seconds), the check above only made a bad model fail fast.
    # They read the limits and switches from the environment, as they do the model.
    os.environ[MODEL_ENV] = str(model.resolve())
    os.environ[LIMITS_ENV] = limits.to_env()
    os.environ[OPTIONS_ENV] = json.dumps({
        "docs": docs, "explain_personal": explain_personal,
        "log_dir": str(log_dir.resolve()) if log_dir is not None else None,
        "log_options": {"rotate_rows": log_rotate_rows, "rotate_seconds": log_rotate_seconds,
                        "queue_rows": log_queue_rows},
        "explore": explore_options})
    uvicorn.run("seemingly.serve.app:app_from_env", factory=True, workers=workers,
                http="seemingly.serve.connections:DeadlineProtocol", **options)
