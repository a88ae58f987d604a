"""Command-line interface. Each submodule registers its commands on ``app``; heavy imports
happen inside the commands so ``seemingly --help`` stays fast."""

from __future__ import annotations

from seemingly.cli.app import app

# Imported for their side effect, registering their commands on ``app``, in the order
# ``seemingly --help`` lists them.
# isort: off
from seemingly.cli import data, simulate, train, study, evaluate, report, serve, convert  # noqa: F401
from seemingly.cli import config_cmd, track, logs, traffic  # noqa: F401
# isort: on


def main() -> None:
    app()


__all__ = ["app", "main"]
