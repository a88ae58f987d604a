"""Optional parts of seemingly live behind pip extras; a command that needs one says which."""

from __future__ import annotations

import importlib.util

import typer

__all__ = ["EXTRAS", "require_extra"]

# extra -> the modules it installs that the commands import (pyproject.toml lists the packages)
EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "prometheus_client", "prometheus_fastapi_instrumentator"),
    "spark": ("pyspark",),
    "mlflow": ("mlflow",),
}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_extra(extra: str, command: str) -> None:
    """Stop ``command`` with a one-line message if ``extra``'s packages are not installed.

    Examples
    --------
    >>> require_extra("serve", "seemingly serve")  # doctest: +SKIP
    error: seemingly serve needs the [serve] extra (fastapi is not installed): pip install ...
    """
    missing = [m for m in EXTRAS[extra] if not _importable(m)]
    if missing:
        typer.echo(f"error: {command} needs the [{extra}] extra ({', '.join(missing)} "
                   f"{'is' if len(missing) == 1 else 'are'} not installed): "
                   f"pip install 'seemingly[{extra}]'", err=True)
        raise typer.Exit(code=2)
