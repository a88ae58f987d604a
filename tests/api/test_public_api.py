"""The top-level API: every promised name resolves, and importing the package stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import seemingly


@pytest.mark.parametrize("name", sorted(set(seemingly.__all__) - {"__version__"}))
def test_every_public_name_resolves_to_its_definition(name: str) -> None:
    obj = getattr(seemingly, name)
    # the object is the one its defining module holds, not a copy or a wrapper
    module = __import__(seemingly._EXPORTS[name], fromlist=[name])
    if name == "simulate":  # the package itself, callable as the function (see its docstring)
        assert obj is module and callable(obj)
        assert module.simulate.__doc__
        return
    assert obj is getattr(module, name)
    assert obj.__doc__, f"{name} has no docstring"


def test_unknown_name_lists_the_public_ones() -> None:
    with pytest.raises(AttributeError, match="run_study"):
        seemingly.run_studdy  # noqa: B018


def test_import_does_not_load_the_heavy_stack() -> None:
    code = ("import sys, seemingly; heavy = [m for m in ('duckdb', 'lightgbm', 'numba', 'ibis',"
            " 'fastapi') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_notebook_style_names() -> None:
    import seemingly as s

    assert callable(s.run_study) and callable(s.analyze) and callable(s.open_store)
    assert s.AnalysisSettings().seed == 7


def test_simulate_is_callable_before_and_after_the_package_is_imported(tmp_path) -> None:
    import seemingly as s

    first = s.simulate
    import seemingly.simulate.core  # noqa: F401  rebinds seemingly.simulate to the package

    assert callable(first) and callable(s.simulate)
    result = s.simulate(tmp_path / "w", n_offers=2_000, seed=3)
    assert (tmp_path / "w" / "products.parquet").exists() or any((tmp_path / "w").iterdir())
    assert result is not None
