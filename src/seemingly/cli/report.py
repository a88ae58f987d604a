"""`seemingly report RESULTS_DIR`: re-render report.html from results.json, no recomputing."""

from __future__ import annotations

from pathlib import Path

import typer

from seemingly.cli.app import app, error_line


@app.command("report")
def report(
    results_dir: Path = typer.Argument(
        ..., help="Folder written by `seemingly study --out DIR` (holds results.json)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Where to write the page (default: RESULTS_DIR/report.html)."),
) -> None:
    """Render the HTML report from a results folder (results.json and tables/*.csv).

    Example: seemingly report out/study (re-renders out/study/report.html)
    """
    from seemingly.errors import OutputError
    from seemingly.report import render_results_dir
    from seemingly.results import ResultsFileError

    try:
        path = render_results_dir(results_dir, out)
    except (FileNotFoundError, ResultsFileError, OutputError) as exc:
        typer.echo(error_line(exc), err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
