"""Analysis settings for a command: defaults, then ``--config FILE``, then the options given on
the command line, then what the data's ``dataset.json`` records for what neither set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from seemingly.config import AnalysisSettings

__all__ = ["CONFIG_HELP", "config_option", "command_settings", "with_dataset_language"]

CONFIG_HELP = ("TOML file of analysis settings (`seemingly config` prints them all); options "
               "given on the command line override it")


def config_option() -> Any:
    return typer.Option(None, "--config", metavar="FILE", help=CONFIG_HELP)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        elif isinstance(v, dict):
            out[k] = _merge({}, v)
        elif v is not None:
            out[k] = v
    return {k: v for k, v in out.items() if v != {}}


def command_settings(config: Path | None, overrides: dict[str, Any] | None = None
                     ) -> AnalysisSettings:
    """The settings a command runs with: ``config``'s file (or the defaults), then
    ``overrides`` (nested like the settings; None means "not given" and keeps the file's).

    Only keys the file or the command line set count as set (``model_fields_set``), so what
    ``dataset.json`` records (language, label scale) still fills in the rest.

    Examples
    --------
    >>> command_settings(None, {"seed": 3, "labels": {"aggregation": None}}).seed
    3
    """
    from seemingly.cli.config_file import load_settings

    explicit: dict[str, Any] = {}
    if config is not None:
        explicit = load_settings(config).model_dump(exclude_unset=True)
    merged = _merge(explicit, overrides or {})
    try:
        return AnalysisSettings.model_validate(merged)
    except ValidationError as exc:  # a value the option's own check let through
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise typer.BadParameter(f"{key}: {err['msg']}") from None


def with_dataset_language(settings: AnalysisSettings, data: str | Path) -> AnalysisSettings:
    """``settings`` with the language ``DATA/dataset.json`` records, unless the settings
    (a --config file) set one, as ``seemingly study`` does."""
    from seemingly.store import dataset_language

    if "language" in settings.model_fields_set:
        return settings
    language = dataset_language(data)
    if language is None:
        return settings
    return settings.model_copy(update={"language": language})
