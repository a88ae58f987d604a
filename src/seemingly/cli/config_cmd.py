"""``seemingly config``: print the analysis settings' defaults as TOML."""

from __future__ import annotations

import typer

from seemingly.cli.app import app

__all__ = ["config_cmd"]


@app.command("config")
def config_cmd() -> None:
    """Print every analysis setting with its default and description, as TOML.

    Example: seemingly config > study.toml (then edit it; unknown keys are refused on load)
    """
    from seemingly.cli.config_file import settings_toml

    typer.echo(settings_toml(), nl=False)
