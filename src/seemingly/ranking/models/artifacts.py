"""Model directory: LightGBM model texts, the feature snapshot, and a JSON manifest with the
sha256 of every file. Never pickle: everything is text, JSON or Parquet."""

from __future__ import annotations

import hashlib
import json
import re
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
MAX_MANIFEST_BYTES = 1 << 20  # a real one is ~10 kB; a bigger one is not ours
_SHA256 = re.compile(r"[0-9a-f]{64}")


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
    fix it (missing/changed file, other format version, other LightGBM major version).

    The manifest must list every file of the directory with its sha256: a file it does not
    list, a listed name that is not a plain file name (a path separator, ``..``, a leading dot,
    the manifest itself), a listed file that is a link or a folder, or a hash that differs
    refuses the directory. Names starting with ``.seemingly`` (the bookkeeping a command
    writes beside its output) are the only files outside the manifest; nothing reads them.
    """
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ModelArtifactError(f"{directory} is not a directory; pass the model directory "
                                 "`seemingly train DATA --out DIR` wrote")
    if not path.is_file() or path.is_symlink():
        raise ModelArtifactError(f"{directory} has no {MANIFEST}: it is not a seemingly model "
                                 "directory; create one with `seemingly train DATA --out DIR`")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ModelArtifactError(f"{path} has {path.stat().st_size} bytes, more than a "
                                 f"manifest's {MAX_MANIFEST_BYTES}; retrain the model")
    try:
        manifest = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelArtifactError(f"{path} is not valid JSON ({exc}); retrain the model") from exc
    if not isinstance(manifest, dict):
        raise ModelArtifactError(f"{path} holds a JSON {type(manifest).__name__}, not an "
                                 "object; retrain the model")
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
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelArtifactError(f"{path} lists no 'files' with their sha256, so nothing in "
                                 f"{directory} can be verified; retrain the model")
    for name, digest in files.items():
        if not _plain_name(name):
            raise ModelArtifactError(
                f"{path} lists the file {name!r}: a model file name is a plain name in the "
                "model directory (no path separator, no '..', no leading dot); retrain")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ModelArtifactError(f"{path}: the sha256 of {name} is {digest!r}, not 64 hex "
                                     "digits; retrain the model")
    for entry in sorted(directory.iterdir()):
        if entry.name == MANIFEST or entry.name.startswith(".seemingly"):
            continue
        if entry.name not in files:
            raise ModelArtifactError(
                f"{entry} is not listed in {MANIFEST}: a model directory holds only the files "
                "its manifest lists; remove it or retrain")
    for name, digest in files.items():
        f = directory / name
        if f.is_symlink() or (f.exists() and not f.is_file()):
            raise ModelArtifactError(f"{f} is a link or a folder, not a file; copy the model "
                                     "directory without links or retrain")
        if not f.is_file():
            raise ModelArtifactError(f"{directory} lacks {name}, listed in {MANIFEST}; copy the "
                                     "whole model directory or retrain")
        if sha256_file(f) != digest:
            raise ModelArtifactError(f"{f} does not match the sha256 in {MANIFEST} (changed or "
                                     "corrupt); restore it or retrain")
    return manifest


def _plain_name(name: object) -> bool:
    return (isinstance(name, str) and 0 < len(name) <= 255 and name not in (".", "..", MANIFEST)
            and not name.startswith(".") and "/" not in name and "\\" not in name
            and "\0" not in name and ".." not in name and ":" not in name)
