"""The base install (`pip install seemingly`, no extras) runs simulate, validate, study and
report: none of them may import the server stack or a test-only reference library.

The shared venv has every extra installed, so "not installed" is imitated by a meta-path hook
that refuses those modules in a fresh interpreter; the commands then run on a tiny world.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Installed only by the [serve] extra or the [test] extra (see pyproject.toml).
EXTRA_ONLY = ("fastapi", "starlette", "uvicorn", "httptools", "uvloop", "prometheus_client",
              "prometheus_fastapi_instrumentator", "statsmodels", "bm25s", "mlflow", "polars")

_RUNNER = """
import importlib.abc, json, sys

BLOCKED = set(json.loads(sys.argv[1]))

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(
                f"No module named {name!r} (blocked: not in the base install)", name=name)
        return None

sys.meta_path.insert(0, Block())
from seemingly.cli import app
for argv in json.loads(sys.argv[2]):
    code = app(argv, standalone_mode=False)  # an Exit's code is returned, not raised
    if code:
        sys.exit(code)
    print("ok", argv[0], flush=True)
"""


def _run(commands: list[list[str]], blocked: tuple[str, ...] = EXTRA_ONLY
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps(list(blocked)), json.dumps(commands)],
        capture_output=True, text=True, timeout=600,
    )


def test_the_hook_really_blocks() -> None:
    # Without this check a hook that never fires would make the next test pass vacuously.
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER.replace("from seemingly.cli import app", "import fastapi"),
         json.dumps(["fastapi"]), "[]"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "blocked: not in the base install" in proc.stderr


def test_base_commands_run_without_server_or_test_packages(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    proc = _run([
        ["simulate", str(data), "--offers", "3000", "--seed", "5"],
        ["validate", str(data)],
        ["study", str(data), "--out", str(out), "--seed", "5"],
        ["report", str(out)],
    ])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [line for line in proc.stdout.splitlines() if line.startswith("ok ")] == [
        "ok simulate", "ok validate", "ok study", "ok report"]
    assert (out / "results.json").is_file() and (out / "report.html").is_file()
    assert (out / "models" / "manifest.json").is_file()


def test_serve_without_the_extra_names_the_install_command(tmp_path: Path) -> None:
    proc = _run([["serve", "--model", str(tmp_path)]])
    assert proc.returncode != 0
    assert "pip install 'seemingly[serve]'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name", ["serve", "test"])
def test_the_extras_hold_what_the_base_leaves_out(name: str) -> None:
    import tomllib

    meta = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    base = " ".join(meta["dependencies"])
    for module in ("fastapi", "uvicorn", "statsmodels", "bm25s"):
        assert module not in base, module
    extra = " ".join(meta["optional-dependencies"][name])
    wanted = {"serve": ("fastapi", "uvicorn", "httptools", "uvloop"),
              "test": ("statsmodels", "bm25s", "pytest", "seemingly[serve,mlflow]")}[name]
    for dep in wanted:
        assert dep in extra, dep
