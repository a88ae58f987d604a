"""Model directory: LightGBM model texts, the feature snapshot, and a JSON manifest with the
sha256 of every file. Never pickle: everything is text, JSON or Parquet."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lightgbm as lgb

from seemingly._version import __version__
from seemingly.errors import ModelArtifactError

__all__ = ["write_manifest", "read_manifest", "sha256_file"]

MANIFEST = "manifest.json"
# 2: the relation features' anchors are the best text matches, not the first candidates
# 3: text is split by seemingly.text's Unicode tokenizer (recorded as "tokenizer"); format 2
#    models stemmed by cutting ASCII words to 4 letters and are refused
FORMAT_VERSION = 3


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(directory: Path, files: list[Path], content: dict[str, Any]) -> Path:
    """Write manifest.json listing ``files`` (relative names + sha256) and ``content``."""
    manifest = {
        "format_version": FORMAT_VERSION,
        "seemingly_version": __version__,
        "lightgbm_version": lgb.__version__,
        **content,
        "files": {p.name: sha256_file(p) for p in sorted(files)},
    }
    path = directory / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=float))
    return path


def read_manifest(directory: Path) -> dict[str, Any]:
    """Read and verify a model directory; ModelArtifactError says what is wrong and how to
    fix it (missing/changed file, other format version, other LightGBM major version)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ModelArtifactError(f"{directory} has no {MANIFEST}: it is not a seemingly model "
                                 "directory; create one with `seemingly train DATA --out DIR`")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelArtifactError(f"{path} is not valid JSON ({exc}); retrain the model") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelArtifactError(
            f"{path}: format_version {manifest.get('format_version')!r}, this seemingly reads "
            f"{FORMAT_VERSION}; retrain with this version (`seemingly train`)")
    have = lgb.__version__.split(".")[0]
    made = str(manifest.get("lightgbm_version", "?")).split(".")[0]
    if have != made:
        raise ModelArtifactError(
            f"{path}: trained with LightGBM {manifest.get('lightgbm_version')}, installed is "
            f"{lgb.__version__}; install lightgbm {made}.x or retrain")
    for name, digest in manifest.get("files", {}).items():
        f = Path(directory) / name
        if not f.is_file():
            raise ModelArtifactError(f"{directory} lacks {name}, listed in {MANIFEST}; copy the "
                                     "whole model directory or retrain")
        if sha256_file(f) != digest:
            raise ModelArtifactError(f"{f} does not match the sha256 in {MANIFEST} (changed or "
                                     "corrupt); restore it or retrain")
    return manifest
