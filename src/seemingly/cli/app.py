"""The one Typer app. Command modules in this package register their commands on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="seemingly",
    help="Why do people buy seemingly irrelevant items? Measure it on your search logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
