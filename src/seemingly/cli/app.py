"""The one Typer app. Command modules in this package register their commands on it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

app = typer.Typer(
    name="seemingly",
    help="Why do people buy seemingly irrelevant items? Measure it on your search logs.",
    no_args_is_help=True,
    # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    add_completion=True,
    pretty_exceptions_enable=False,
)


def error_line(exc: BaseException) -> str:
    """One line for a user-caused error: the message plus its notes (where a partial output
    was left), never a traceback."""
    notes = getattr(exc, "__notes__", None) or []
    return " ".join(["error:", str(exc), *(f"({n})" for n in notes)]).replace("\n", " ")


def one_output(positional: Path | None, option: Path | None, name: str = "OUT_DIR") -> Path:
    """The output given either as the old positional argument or as -o/--out."""
    if positional is not None and option is not None and positional != option:
        raise typer.BadParameter(f"give the output once: {name} or -o/--out, not both")
    target = option if option is not None else positional
    if target is None:
        raise typer.BadParameter(f"give the output folder: {name} or -o/--out")
    return target


def _print_version(value: bool) -> None:
    if value:
        from seemingly._version import __version__

        typer.echo(f"seemingly {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    # no docstring: the app's help above is the one `seemingly --help` shows
    pass


# Choices shown in --help (typer renders a Literal as <a|b|c> and refuses anything else).
# The world names are seemingly.simulate.WORLDS (a test keeps the two equal); they are spelled
# out so `seemingly --help` does not import the simulator.
World = Literal["confounded", "default", "null", "perfect_labels", "retail", "serp"]
LabelAggregation = Literal["majority", "dawid_skene", "mace"]
Normalization = Literal["min-max", "z-score", "rank"]
TablesFormat = Literal["csv", "parquet"]
Backend = Literal["duckdb", "spark"]
