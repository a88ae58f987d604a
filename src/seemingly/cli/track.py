"""``seemingly track``: log a study's output folder to MLflow (the ``mlflow`` extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from seemingly.cli._extras import require_extra
from seemingly.cli.app import app

__all__ = ["track_cmd"]


@app.command("track")
def track_cmd(
    out: Path = typer.Argument(..., help="folder written by `seemingly study`"),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking URI, e.g. file:./mlruns "
        "(default: MLflow's own, or $MLFLOW_TRACKING_URI)"),
    experiment: str = typer.Option("seemingly", "--experiment", help="MLflow experiment name"),
    run_name: str | None = typer.Option(None, "--run-name", help="MLflow run name"),
) -> None:
    """Log OUT to MLflow: settings as params, headline numbers as metrics, results.json,
    report.html and the models as artifacts, the ranker as a pyfunc model.

    Example: seemingly track out/demo --tracking-uri file:./mlruns
    """
    require_extra("mlflow", "seemingly track")
    from seemingly.results import ResultsFileError
    from seemingly.study.tracking import log_study

    try:
        run_id = log_study(out, tracking_uri=tracking_uri, experiment=experiment,
                           run_name=run_name)
    except (ResultsFileError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"logged {out} as MLflow run {run_id}")
