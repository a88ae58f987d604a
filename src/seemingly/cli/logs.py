"""``seemingly logs collect``: the service's impression and feedback logs as contract tables."""

from __future__ import annotations

from pathlib import Path

import typer

from seemingly.cli.app import app, error_line, one_output

__all__ = ["logs_app"]

logs_app = typer.Typer(name="logs", help="Work with the logs of `seemingly serve --log-dir`.",
                       no_args_is_help=True)
app.add_typer(logs_app)


@logs_app.command("collect")
def collect(
    log_dir: Path = typer.Argument(..., help="the service's --log-dir"),
    out_dir: Path | None = typer.Argument(None, help="folder to write the tables to (or -o)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="same as OUT_DIR"),
    model: Path | None = typer.Option(
        None, "--model", help="the served model directory: its catalog snapshot becomes the "
        "products table"),
    products: Path | None = typer.Option(
        None, "--products", help="a products table (.parquet, .csv, .jsonl) instead of --model"),
    data: Path | None = typer.Option(
        None, "--data", help="a data folder whose judgments and orders are copied alongside"),
    force: bool = typer.Option(False, help="replace an earlier collect output in OUT_DIR"),
) -> None:
    """Join impressions and feedback into offers (engaged/purchased 0 without feedback), add
    products and the data's judgments and orders: a folder `seemingly study` reads.

    Example: seemingly logs collect logs/ -o collected/ --model out/study/models --data out/sim
    """
    from seemingly.adapters.serve_logs import collect_logs

    target = one_output(out_dir, out, "OUT_DIR")
    try:
        report = collect_logs(log_dir, target, model=model, products=products, data=data,
                              force=force)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        typer.echo(error_line(exc), err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"{report.offers} offers of {report.requests} requests "
               f"({report.impression_files} impression files), {report.engaged} engaged, "
               f"{report.purchased} purchased; feedback: {report.feedback_rows} rows, "
               f"{report.feedback_unmatched} naming no served offer; {report.products} products "
               f"from {report.products_source}"
               + (f"; copied {', '.join(report.passed_through)}" if report.passed_through
                  else ""))
    typer.echo(f"wrote {target}")
