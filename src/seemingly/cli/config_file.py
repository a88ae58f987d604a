"""Analysis settings as a TOML file: ``seemingly config`` prints the defaults, and
:func:`load_settings` reads a file back, validated by the pydantic models of
:mod:`seemingly.config` (unknown keys are refused, not ignored).

Commands that take ``--config FILE`` call :func:`load_settings`; options given on the command
line then override the file's values (``settings.model_copy(update=...)``).
"""

from __future__ import annotations

import json
import os
import textwrap
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from seemingly.config import AnalysisSettings
from seemingly.errors import ContractError

__all__ = ["load_settings", "load_settings_text", "settings_toml"]


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def _lines(model: BaseModel, values: dict[str, Any], prefix: str) -> list[str]:
    scalars, tables = [], []
    for name, info in type(model).model_fields.items():
        v = values[name]
        sub = getattr(model, name)
        if isinstance(sub, BaseModel):
            tables.append((name, sub, v))
            continue
        if info.description:
            scalars += [f"# {line}" for line in textwrap.wrap(info.description, 96)]
        # TOML has no null: an unset optional setting is shown commented out
        scalars.append(f"# {name} = (unset)" if v is None else f"{name} = {_value(v)}")
    out = scalars
    for name, sub, v in tables:
        key = f"{prefix}{name}"
        doc = (type(sub).__doc__ or "").strip().splitlines()
        out += ["", f"[{key}]"] + ([f"# {doc[0]}"] if doc else []) + _lines(sub, v, key + ".")
    return out


def settings_toml(settings: AnalysisSettings | None = None) -> str:
    """Every analysis setting as TOML, with its description as a comment.

    Examples
    --------
    >>> text = settings_toml()
    >>> "seed = 7" in text and "[hypotheses]" in text
    True
    >>> load_settings_text(text) == AnalysisSettings()
    True
    """
    settings = settings or AnalysisSettings()
    head = ["# seemingly analysis settings (defaults). Load with --config FILE; keys left out",
            "# keep their defaults, unknown keys are an error.", ""]
    return "\n".join(head + _lines(settings, settings.model_dump(mode="json"), "")) + "\n"


def _problem(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        parent = AnalysisSettings
        for part in err["loc"][:-1]:
            parent = parent.model_fields[str(part)].annotation  # type: ignore[assignment]
        known = ", ".join(parent.model_fields)
        return f"unknown key {key!r} (known here: {known})"
    return f"{key}: {err['msg']}"


def load_settings_text(text: str, *, where: str = "<settings>") -> AnalysisSettings:
    """:func:`load_settings` on TOML text; ``where`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"{where}: not valid TOML ({exc})") from None
    try:
        return AnalysisSettings.model_validate(data)
    except ValidationError as exc:
        errs = exc.errors()
        more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        raise ContractError(f"{where}: {_problem(dict(errs[0]))}{more}") from None


def load_settings(path: str | os.PathLike[str]) -> AnalysisSettings:
    """Read analysis settings from a TOML file; keys left out keep their defaults.

    Raises
    ------
    ContractError
        One line naming the file and the first offending key: unknown key, wrong type or
        out of range, or a file that is not TOML.
    FileNotFoundError
        There is no such file.

    Examples
    --------
    >>> settings = load_settings("study.toml")  # doctest: +SKIP
    >>> settings.hypotheses.short_max  # doctest: +SKIP
    3
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such settings file (write one with `seemingly "
                                "config > FILE`)")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(f"{p}: not UTF-8 text ({exc})") from None
    return load_settings_text(text, where=str(p))
