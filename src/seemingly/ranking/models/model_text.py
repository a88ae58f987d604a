"""Check a LightGBM model text's structure in Python before LightGBM's C++ parser reads it.

LightGBM parses the trees in an OpenMP loop, and a parse error there (a ``tree_sizes`` entry
that does not land on a ``Tree=`` line, a missing ``num_leaves``, an array of the wrong length)
is a C++ exception thrown inside the parallel region: the process gets ``std::terminate``
(SIGABRT), no Python exception to catch. So every rule that loop relies on is checked here
first, and a model text that breaks one is refused with a :class:`ModelArtifactError`.

The rules are LightGBM 4's text format (``gbdt_model_text.cpp``, ``tree.cpp``):

- the first line is ``tree``; the header (up to the first ``Tree=`` line) has ``version``,
  ``num_class``, ``num_tree_per_iteration``, ``max_feature_idx``, ``objective`` and as many
  ``feature_names`` and ``feature_infos`` as ``max_feature_idx + 1``;
- the trees are numbered 0, 1, ... in order and end at an ``end of trees`` line; when the header
  has ``tree_sizes``, there is one per tree and each is the byte length from its ``Tree=`` line
  to the next tree (or ``end of trees``), which is where LightGBM jumps to;
- a tree with ``num_leaves = n`` has ``n - 1`` entries in each split array (``split_feature``,
  ``split_gain``, ``threshold``, ``decision_type``, ``left_child``, ``right_child``,
  ``internal_value``, ``internal_weight``, ``internal_count``) and ``n`` in each leaf array
  (``leaf_value``, ``leaf_weight``, ``leaf_count``); children are node indices below ``n - 1``
  or ``~leaf`` with a leaf below ``n``; split features are at most ``max_feature_idx``;
- a tree with ``num_cat = c > 0`` has ``c + 1`` non-decreasing ``cat_boundaries`` starting at 0
  and as many ``cat_threshold`` words as the last boundary; a categorical split's threshold
  is a category-set index below ``c``.

Linear trees are refused: ``seemingly train`` never writes them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from seemingly.errors import ModelArtifactError

__all__ = ["check_model_text"]

_HEADER_KEYS = ("version", "num_class", "num_tree_per_iteration", "max_feature_idx", "objective",
                "feature_names", "feature_infos")
_SPLIT_ARRAYS = ("split_feature", "split_gain", "threshold", "decision_type", "left_child",
                 "right_child", "internal_value", "internal_weight", "internal_count")
_LEAF_ARRAYS = ("leaf_value", "leaf_weight", "leaf_count")
_INT_ARRAYS = frozenset({"split_feature", "decision_type", "left_child", "right_child",
                         "internal_count", "leaf_count", "cat_boundaries", "cat_threshold"})
_TREE_LINE = re.compile(rb"^Tree=(\d+)$", re.M)
_MAX_LEAVES = 1 << 20


def check_model_text(data: bytes, path: Path) -> str:
    """The model text of ``data`` (read from ``path``) once its structure is checked.

    Raises ``ModelArtifactError`` naming the file, the tree or header key and the rule.
    """
    def bad(where: str, rule: str) -> ModelArtifactError:
        return ModelArtifactError(f"{path}: {where}: {rule}; it is not a LightGBM model "
                                  "`seemingly train` wrote (corrupt?); restore it or retrain")

    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise bad(f"byte {exc.start}", "a model text is ASCII") from None
    if "\0" in text:
        raise bad(f"byte {text.index(chr(0))}", "a model text has no NUL bytes")
    if not text.startswith("tree\n"):
        raise bad("line 1", "the first line must be 'tree'")
    trees = list(_TREE_LINE.finditer(data))
    end = data.find(b"\nend of trees")
    if not trees:
        raise bad("header", "no 'Tree=0' line")
    if end < 0 or end < trees[-1].start():
        raise bad("end", "no 'end of trees' line after the last tree")
    header = text_fields(text[: trees[0].start()])
    for key in _HEADER_KEYS:
        if key not in header:
            raise bad("header", f"'{key}=' is missing")
    n_features = _int(header["max_feature_idx"], "max_feature_idx", bad) + 1
    if n_features < 1:
        raise bad("header", "max_feature_idx must be >= 0")
    for key in ("feature_names", "feature_infos"):
        if len(header[key].split()) != n_features:
            raise bad("header", f"'{key}' must list max_feature_idx + 1 = {n_features} values")
    for key in ("num_class", "num_tree_per_iteration"):
        if _int(header[key], key, bad) < 1:
            raise bad("header", f"{key} must be >= 1")

    bounds = [m.start() for m in trees] + [end + 1]
    for i, m in enumerate(trees):
        if int(m.group(1)) != i:
            found = m.group(1).decode()
            raise bad(f"tree {i}", f"trees must be numbered in order; found 'Tree={found}'")
    if "tree_sizes" in header:
        sizes = header["tree_sizes"].split()
        if len(sizes) != len(trees):
            raise bad("header", f"tree_sizes lists {len(sizes)} sizes for {len(trees)} trees")
        for i, s in enumerate(sizes):
            if _int(s, "tree_sizes", bad) != bounds[i + 1] - bounds[i]:
                raise bad(f"tree {i}", f"tree_sizes says {s} bytes, the tree has "
                          f"{bounds[i + 1] - bounds[i]} (LightGBM would read past it)")
    for i in range(len(trees)):
        _check_tree(text_fields(text[bounds[i] : bounds[i + 1]]), n_features,
                    lambda rule, i=i: bad(f"tree {i}", rule))
    return text


def _check_tree(tree: dict[str, str], n_features: int, bad: Callable) -> None:
    for key in ("num_leaves", "num_cat", "leaf_value"):
        if key not in tree:
            raise bad(f"'{key}=' is missing")
    n_leaves = _int(tree["num_leaves"], "num_leaves", lambda w, r: bad(r))
    n_cat = _int(tree["num_cat"], "num_cat", lambda w, r: bad(r))
    if not 1 <= n_leaves <= _MAX_LEAVES:
        raise bad(f"num_leaves must be in 1..{_MAX_LEAVES}")
    if n_cat < 0:
        raise bad("num_cat must be >= 0")
    if tree.get("is_linear", "0") != "0":
        raise bad("linear trees are not supported")
    # A one-leaf tree (a constant model, e.g. trained on one class) is read from its leaf_value
    # alone: LightGBM writes its leaf_weight and leaf_count empty and never parses them.
    expected = {k: n_leaves for k in _LEAF_ARRAYS} if n_leaves > 1 else {"leaf_value": 1}
    if n_leaves > 1:
        expected.update({k: n_leaves - 1 for k in _SPLIT_ARRAYS})
    arrays = {}
    for key, n in expected.items():
        if key not in tree:
            if key == "leaf_value" or n_leaves > 1:
                raise bad(f"'{key}=' is missing")
            continue
        arrays[key] = _numbers(tree[key], key, key in _INT_ARRAYS, bad)
        if len(arrays[key]) != n:
            raise bad(f"'{key}' has {len(arrays[key])} values, num_leaves={n_leaves} needs {n}")
    if n_cat > 0:
        for key in ("cat_boundaries", "cat_threshold"):
            if key not in tree:
                raise bad(f"'{key}=' is missing (num_cat={n_cat})")
        cb = _numbers(tree["cat_boundaries"], "cat_boundaries", True, bad)
        ct = _numbers(tree["cat_threshold"], "cat_threshold", True, bad)
        rising = all(a <= b for a, b in zip(cb, cb[1:], strict=False))
        if len(cb) != n_cat + 1 or cb[0] != 0 or not rising:
            raise bad(f"'cat_boundaries' must be {n_cat + 1} non-decreasing values from 0")
        if len(ct) != cb[-1]:
            raise bad(f"'cat_threshold' has {len(ct)} words, cat_boundaries ends at {cb[-1]}")
    if n_leaves == 1:
        return
    for key in ("left_child", "right_child"):
        for c in arrays[key]:
            if not (0 <= c < n_leaves - 1 or 0 <= ~int(c) < n_leaves):
                raise bad(f"'{key}' value {int(c)} names no node or leaf of this tree")
    for f in arrays["split_feature"]:
        if not 0 <= f < n_features:
            raise bad(f"'split_feature' value {int(f)} is not a feature index "
                      f"(0..{n_features - 1})")
    for d, t in zip(arrays["decision_type"], arrays["threshold"], strict=True):
        if not 0 <= d < 16:
            raise bad(f"'decision_type' value {int(d)} is not a LightGBM decision type")
        if int(d) & 1 and not (math.isfinite(t) and 0 <= t < n_cat and t == int(t)):
            raise bad(f"a categorical split's threshold {t} is not a category set "
                      f"(0..{n_cat - 1})")


def text_fields(text: str) -> dict[str, str]:
    """The ``key=value`` lines of a model text's header or one tree (``trees`` reads them too)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _int(value: str, key: str, bad: Callable) -> int:
    try:
        return int(value)
    except ValueError:
        raise bad("header" if key != "num_leaves" else key,
                  f"'{key}' must be an integer, got {value[:40]!r}") from None


def _numbers(value: str, key: str, integer: bool, bad: Callable) -> list[float]:
    try:
        return [float(int(v)) if integer else float(v) for v in value.split()]
    except ValueError:
        raise bad(f"'{key}' holds a value that is not {'an integer' if integer else 'a number'}"
                  ) from None
