"""Adversarial model folders for ``seemingly serve``: every one is refused before the port is
bound, with exit 2, one line naming the file and the rule, no traceback, and the folder left
as it was. The tree-text cases would abort the process (SIGABRT in LightGBM's parser) if they
reached LightGBM, so they are also run in a subprocess once (see the last test).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.serve_model import shared_model_dir
from typer.testing import CliRunner

Corrupt = Callable[[Path], None]


def _edit_manifest(change: Callable[[dict], object]) -> Corrupt:
    def run(d: Path) -> None:
        m = json.loads((d / "manifest.json").read_text())
        change(m)
        (d / "manifest.json").write_text(json.dumps(m))
    return run


def _edit_tree(change: Callable[[str], str], file: str = "relevance.txt") -> Corrupt:
    """Change a tree text and record its new hash: only the structure check can catch it."""
    def run(d: Path) -> None:
        f = d / file
        f.write_bytes(change(f.read_text()).encode("latin-1"))
        m = json.loads((d / "manifest.json").read_text())
        m["files"][file] = hashlib.sha256(f.read_bytes()).hexdigest()
        (d / "manifest.json").write_text(json.dumps(m))
    return run


def _rename_listed(old: str, new: str) -> Corrupt:
    def run(d: Path) -> None:
        m = json.loads((d / "manifest.json").read_text())
        m["files"][new] = m["files"].pop(old)
        (d / "manifest.json").write_text(json.dumps(m))
    return run


def _first_tree(text: str, old: str, new: str) -> str:
    head, sep, rest = text.partition("\nTree=1\n")
    assert old in head, old
    return head.replace(old, new, 1) + sep + rest


def _no_sizes(text: str) -> str:
    return re.sub(r"\ntree_sizes=[^\n]*", "", text, count=1)


def _flip(d: Path) -> None:
    f = d / "relevance.txt"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))


def _symlink_listed(d: Path) -> None:
    target = d.parent / "elsewhere.txt"
    shutil.copy(d / "purchase.txt", target)
    (d / "purchase.txt").unlink()
    os.symlink(target, d / "purchase.txt")


CASES: dict[str, tuple[Corrupt, str]] = {
    "no files list": (_edit_manifest(lambda m: m.pop("files")), "lists no 'files'"),
    "empty files list": (_edit_manifest(lambda m: m.update(files={})), "lists no 'files'"),
    "files is a list": (_edit_manifest(lambda m: m.update(files=["relevance.txt"])),
                        "lists no 'files'"),
    "dot-dot name": (_rename_listed("text.json", "../text.json"), "plain name"),
    "path separator": (_rename_listed("text.json", "sub/text.json"), "plain name"),
    "backslash": (_rename_listed("text.json", "..\\text.json"), "plain name"),
    "hidden name": (_rename_listed("text.json", ".text.json"), "plain name"),
    "absolute name": (_rename_listed("text.json", "/etc/passwd"), "plain name"),
    "digest not hex": (_edit_manifest(lambda m: m["files"].update({"text.json": "zz"})),
                       "not 64 hex"),
    "unlisted file": (lambda d: (d / "notes.txt").write_text("hi"), "not listed in"),
    "unlisted folder": (lambda d: (d / "extra").mkdir(), "not listed in"),
    "hash mismatch": (_flip, "does not match the sha256"),
    "listed file missing": (lambda d: (d / "purchase.txt").unlink(), "lacks purchase.txt"),
    "listed file is a link": (_symlink_listed, "is a link or a folder"),
    "manifest not JSON": (lambda d: (d / "manifest.json").write_text("{nope"), "not valid JSON"),
    "manifest is an array": (lambda d: (d / "manifest.json").write_text("[1]"), "not an object"),
    "models not an object": (_edit_manifest(lambda m: m.update(models=[])), "'models'"),
    "model file unlisted": (_edit_manifest(
        lambda m: m["models"]["relevance"].update(file="other.txt")), "not among the manifest"),
    "tree_sizes off": (_edit_tree(lambda t: t.replace("tree_sizes=", "tree_sizes=1", 1)),
                       "tree_sizes says"),
    "num_leaves missing": (_edit_tree(lambda t: _first_tree(_no_sizes(t), "num_leaves=", "x=")),
                           "'num_leaves=' is missing"),
    "child out of range": (_edit_tree(lambda t: _first_tree(_no_sizes(t), "left_child=-1",
                                                            "left_child=-99")),
                           "'left_child' value -99"),
    "split feature out of range": (_edit_tree(lambda t: _first_tree(
        _no_sizes(t), "split_feature=", "split_feature=9")), "'split_feature' value"),
    "array too short": (_edit_tree(lambda t: _first_tree(_no_sizes(t), "leaf_value=",
                                                          "leaf_value=1 ")),
                        "'leaf_value' has"),
    "no end of trees": (_edit_tree(lambda t: t.replace("end of trees", "end", 1)),
                        "'end of trees'"),
    "binary garbage": (_edit_tree(lambda t: "tree\n" + "\x00\xff" * 50), "ASCII"),
    "trees out of order": (_edit_tree(lambda t: _no_sizes(t).replace("\nTree=1\n", "\nTree=7\n",
                                                                      1)),
                           "numbered in order"),
}


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def model() -> Path:
    return shared_model_dir()


def _serve(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    import uvicorn

    from seemingly.cli import app

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(a))
    result = CliRunner().invoke(app, ["serve", *args])
    assert not started, "a refused model must not start the server"
    return result.exit_code, result.output


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_folder_is_refused(case: str, model: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    corrupt, rule = CASES[case]
    bad = tmp_path / "model"
    shutil.copytree(model, bad)
    corrupt(bad)
    before = _snapshot(bad)
    code, out = _serve(["--model", str(bad)], monkeypatch)
    assert code == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot serve"), out
    assert rule in out and "Traceback" not in out
    assert _snapshot(bad) == before


@pytest.mark.parametrize(("args", "rule"), [
    (["--header-timeout", "0"], "--header-timeout must be in (0, 3600]"),
    (["--body-timeout", "-1"], "--body-timeout must be in (0, 3600]"),
    (["--body-timeout", "100000"], "--body-timeout must be in (0, 3600]"),
    (["--max-header-bytes", "10"], "--max-header-bytes must be at least 1024"),
    (["--max-body-bytes", "0"], "--max-body-bytes must be at least 1024"),
])
def test_bad_serve_option_is_refused(args: list[str], rule: str, model: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot(model)
    code, out = _serve(["--model", str(model), *args], monkeypatch)
    assert code == 2 and len(out.strip().splitlines()) == 1, out
    assert out.startswith(f"error: {rule}"), out
    assert "Traceback" not in out and _snapshot(model) == before


@pytest.mark.parametrize("what", ["missing", "a file"])
def test_model_path_that_is_no_folder(what: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m"
    if what == "a file":
        path.write_text("not a model")
    code, out = _serve(["--model", str(path)], monkeypatch)
    assert code == 2 and len(out.strip().splitlines()) == 1 and "Traceback" not in out, out
    assert "not a directory" in out


def test_corrupt_tree_no_longer_aborts_the_process(model: Path, tmp_path: Path) -> None:
    # The finding: LightGBM's parser met this file inside an OpenMP loop and the process died
    # of SIGABRT. Loaded in a child process: it must exit with the message, not a signal.
    bad = tmp_path / "model"
    shutil.copytree(model, bad)
    CASES["tree_sizes off"][0](bad)
    code = ("import sys\nfrom seemingly.errors import ModelArtifactError\n"
            "from seemingly.ranking.models import Ranker\n"
            "try:\n    Ranker.load(sys.argv[1])\n"
            "except ModelArtifactError as e:\n    print(e)\n    sys.exit(3)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 3, (done.returncode, done.stderr[-500:])
    assert "tree_sizes says" in done.stdout
