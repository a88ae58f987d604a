"""``seemingly convert FORMAT SOURCE OUT_DIR``: public data sets -> contract tables."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from seemingly.adapters.conversion import REPORT_FILE, ConversionReport
from seemingly.adapters.registry import FORMATS
from seemingly.cli.app import app, error_line, one_output
from seemingly.contract import DATASET_FILE

__all__ = ["convert_command"]

_FORMAT_HELP = "; ".join(f"{name}: {a.summary}" for name, a in FORMATS.items())


def render(report: ConversionReport) -> Table:
    """The report as one Rich table: read, written, dropped (per reason), nulls, labels."""
    table = Table(title=f"seemingly convert {report.format}: {report.source} -> {report.out_dir}")
    table.add_column("what")
    table.add_column("name")
    table.add_column("rows", justify="right")
    for name, n in report.rows_read.items():
        table.add_row("read", name, f"{n:,}")
    for name, n in report.rows_written.items():
        table.add_row("written", name, f"{n:,}")
    for d in report.dropped:
        table.add_row("dropped", f"{d.source} -> {d.table}: {d.reason}", f"{d.rows:,}")
    for name, counts in report.nulls.items():
        for column, n in counts.items():
            table.add_row("null", f"{name}.{column}", f"{n:,}")
    if report.labels is not None:
        settings = ", ".join(f"{k}={v}" for k, v in report.labels.settings().items())
        flag = "" if report.labels.mapping_confirmed else " (label mapping UNCONFIRMED)"
        table.add_row("labels", f"{report.labels.scale}; recommended {settings}{flag}", "")
    return table


@app.command("convert")
def convert_command(
    format: str = typer.Argument(..., metavar="FORMAT", help=f"data set format. {_FORMAT_HELP}"),
    source: Path = typer.Argument(..., help="folder holding the data set's files (or its file)"),
    out_dir: Path | None = typer.Argument(
        None, help="folder to write the contract tables to (or -o/--out)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="same as OUT_DIR"),
    locale: str | None = typer.Option(None, help="esci only: product locale (default us)"),
    force: bool = typer.Option(False, help="replace an earlier conversion in OUT_DIR (never "
                               "files seemingly did not write)"),
) -> None:
    """Convert a public data set into contract tables (Parquet) plus conversion.json and
    dataset.json (the recommended label settings).

    Example: seemingly convert esci downloads/esci -o data/esci-es --locale es
    """
    from seemingly.adapters import convert

    console = Console()
    out_dir = one_output(out_dir, out, "OUT_DIR")
    try:
        report = convert(format, source, out_dir, force=force, locale=locale)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        # one line, never folded (a fold would split the file path the message names)
        console.print(f"[red]{escape(error_line(exc))}[/red]", soft_wrap=True, highlight=False)
        raise typer.Exit(code=2) from None
    console.print(render(report))
    for note in report.notes:
        console.print(f"- {note}")
    console.print(f"wrote {out_dir / REPORT_FILE} and {out_dir / DATASET_FILE}")
