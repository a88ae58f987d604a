"""Command-line interface. Each submodule registers its commands on ``app``; heavy imports
happen inside the commands so ``seemingly --help`` stays fast."""

from __future__ import annotations

import importlib

from seemingly.cli.app import app

# Command groups; a module that does not exist yet is skipped so the CLI grows with the package.
_COMMAND_MODULES = ("data", "simulate", "train", "study", "report", "serve", "convert")
for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"seemingly.cli.{_name}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a group is unwritten
        if exc.name != f"seemingly.cli.{_name}":
            raise


def main() -> None:
    app()


__all__ = ["app", "main"]
