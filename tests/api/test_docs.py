"""Every public name has an example in its docstring and a place in the API reference
(docs/api.md, built by `make docs` with mkdocstrings)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import seemingly

ROOT = Path(__file__).resolve().parents[2]


def _doc(name: str) -> str:
    obj = getattr(seemingly, name)
    if name == "simulate":  # the package, callable as its function
        obj = obj.simulate
    return inspect.getdoc(obj) or ""


@pytest.mark.parametrize("name", sorted(seemingly._EXPORTS))
def test_public_name_has_an_example(name: str) -> None:
    assert ">>>" in _doc(name), f"{name}'s docstring has no example"


@pytest.mark.parametrize("name", sorted(seemingly._EXPORTS))
def test_public_name_is_in_the_api_reference(name: str) -> None:
    api = (ROOT / "docs" / "api.md").read_text()
    assert f".{name}\n" in api, f"docs/api.md has no `::: ...{name}` entry"


def test_mkdocs_site_lists_every_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert page.name in nav, f"{page.name} is not in mkdocs.yml's nav"
