"""A data folder's ``dataset.json``: how its judgment labels read, as a converter recorded it.

``seemingly convert`` writes the file beside the tables; the analysis starts from its label
settings unless the user gives others.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import ValidationError

from seemingly.config import LabelSettings
from seemingly.contract import DATASET_FILE
from seemingly.errors import ContractError
from seemingly.text import LANGUAGES

__all__ = ["dataset_label_settings", "dataset_language"]


def dataset_label_settings(data: str | os.PathLike[str]) -> LabelSettings | None:
    """The label settings recorded in ``DATA/dataset.json``, or None without one.

    None too for a store file or a storage URL (only a local folder has a ``dataset.json``
    to read) and for a file whose ``labels`` is null (a data set without judgments).

    Raises
    ------
    ContractError
        When the file is not JSON, not an object, or its ``labels`` are not label settings;
        the message names the file and what is wrong.

    Examples
    --------
    >>> dataset_label_settings("data/esci")  # doctest: +SKIP
    LabelSettings(relevant_at=1.0, esci_relevant=('E',), tie='not_relevant')
    """
    if "://" in os.fspath(data):
        return None
    path = Path(data) / DATASET_FILE
    if not path.is_file():
        return None
    fix = "Fix the file, or delete it to use the default label settings."
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"{path}: not valid JSON ({exc}). {fix}") from None
    except RecursionError:  # a hostile file nested thousands deep
        raise ContractError(f"{path}: nested too deeply to be a dataset.json. {fix}") from None
    except OSError as exc:
        raise ContractError(f"{path}: cannot be read ({exc.strerror}). {fix}") from None
    if not isinstance(content, dict):
        raise ContractError(
            f"{path}: expected a JSON object with a 'labels' key, got "
            f"{type(content).__name__}. {fix}"
        )
    labels = content.get("labels")
    if labels is None:
        return None
    if not isinstance(labels, dict):
        raise ContractError(
            f"{path}: 'labels' should be an object of label settings "
            f"({', '.join(LabelSettings.model_fields)}), got {type(labels).__name__}. {fix}"
        )
    try:
        return LabelSettings(**labels)
    except ValidationError as exc:
        problems = "; ".join(
            f"labels.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        )
        raise ContractError(f"{path}: {problems}. {fix}") from None


def dataset_language(data: str | os.PathLike[str]) -> str | None:
    """The language of titles and queries recorded in ``DATA/dataset.json`` (``"spanish"`` for
    ``convert esci --locale es``), or None without one.

    Raises
    ------
    ContractError
        When the file is not a JSON object or names a language seemingly has no tokenizer for.

    Examples
    --------
    >>> dataset_language("data/esci-es")  # doctest: +SKIP
    'spanish'
    """
    if "://" in os.fspath(data):
        return None
    path = Path(data) / DATASET_FILE
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"{path}: not valid JSON ({exc})") from None
    language = content.get("language") if isinstance(content, dict) else None
    if language is None:
        return None
    if language not in LANGUAGES:
        raise ContractError(f"{path}: language {language!r} is not one of "
                            f"{', '.join(LANGUAGES)}; fix the file or delete the key")
    return str(language)
