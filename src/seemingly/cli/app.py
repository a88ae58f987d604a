"""The one Typer app. Command modules in this package register their commands on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="seemingly",
    help="Why do people buy seemingly irrelevant items? Measure it on your search logs.",
    no_args_is_help=True,
    # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    add_completion=True,
    pretty_exceptions_enable=False,
)


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
