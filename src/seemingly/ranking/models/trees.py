"""A LightGBM model's trees as flat arrays, evaluated by a compiled loop (numba).

``Booster.predict`` costs about 0.3 ms for a hundred rows of a hundred trees, most of it
per-call set-up and per-row conversions rather than tree walking, and the service calls it
twice per request. :func:`compile_booster` reads the model text (what LightGBM itself loads,
so thresholds and leaf values are the same doubles) into node arrays, and
:meth:`CompiledTrees.predict` walks them with LightGBM's decision rules:

- an input with ``|x| <= kZeroThreshold`` (1e-35 as a float32) is 0, as LightGBM's dense-row
  reader drops it;
- numerical split: NaN counts as 0 unless the split's missing type is NaN; a missing value
  (zero for type Zero, NaN for type NaN) goes the default direction; else ``x <= threshold``
  goes left;
- categorical split: NaN, negative and out-of-int-range values go right; otherwise the
  truncated integer goes left when its bit is set in the split's category bitset;
- the raw score is the trees' leaf values added in order from 0.0, then the objective's
  transform (sigmoid for binary / cross_entropy, identity for regression and ranking).

Models using anything else (linear trees, multiclass, random-forest averaging, other
objectives) are not compiled and keep using ``Booster.predict``; a test checks exact equality
with it on random inputs with NaNs, zeros, tiny and negative values and every category.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from numba import njit

from seemingly.ranking.models.model_text import text_fields as _fields

__all__ = ["CompiledTrees", "compile_booster"]

_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold
_INT_LIMIT = 2147483648.0  # static_cast<int> of a double this large or larger is not an int
_IDENTITY = ("regression", "regression_l2", "l2", "mean_squared_error", "mse",
             "lambdarank", "rank_xendcg")


@dataclass(frozen=True)
class CompiledTrees:
    """Every tree's nodes in flat arrays (children: node index, or ``~leaf``)."""

    feature: np.ndarray
    threshold: np.ndarray
    decision: np.ndarray
    left: np.ndarray
    right: np.ndarray
    node_offset: np.ndarray
    leaf_value: np.ndarray
    leaf_offset: np.ndarray
    num_leaves: np.ndarray
    cat_boundaries: np.ndarray
    cat_boundary_offset: np.ndarray
    cat_bits: np.ndarray
    num_features: int
    sigmoid: float  # 0: no transform

    def predict(self, X: np.ndarray) -> np.ndarray:
        """What ``Booster.predict(X)`` returns for a float64 matrix of the model's features."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.num_features:
            raise ValueError(f"expected a matrix of {self.num_features} feature columns; "
                             f"got shape {X.shape}")
        return _predict(X, self.feature, self.threshold, self.decision, self.left, self.right,
                        self.node_offset, self.leaf_value, self.leaf_offset, self.num_leaves,
                        self.cat_boundaries, self.cat_boundary_offset, self.cat_bits,
                        self.sigmoid)


def compile_booster(model_text: str) -> CompiledTrees | None:
    """Flat arrays of a model given as LightGBM's model text (``Booster.model_to_string()``),
    or None when the model uses something :class:`CompiledTrees` does not replicate."""
    head, _, body = model_text.partition("\nTree=")
    header = _fields(head)
    objective = header.get("objective", "").split()
    if not objective or header.get("num_class", "1") != "1" or "average_output" in head \
            or header.get("num_tree_per_iteration", "1") != "1":
        return None
    sigmoid = 0.0
    if objective[0] in ("binary", "cross_entropy", "xentropy"):
        sigmoid = 1.0
        for option in objective[1:]:
            if option.startswith("sigmoid:"):
                sigmoid = float(option.split(":", 1)[1])
    elif objective[0] not in _IDENTITY:
        return None
    blocks = re.split(r"\nTree=\d+\n", "\nTree=" + body.split("\nend of trees")[0])[1:]
    if not blocks:
        return None
    parts: dict[str, list[np.ndarray]] = {k: [] for k in (
        "feature", "threshold", "decision", "left", "right", "leaf_value", "cat_boundaries",
        "cat_bits")}
    node_offset, leaf_offset, num_leaves, cat_offset = [], [], [], []
    nodes = leaves = cats = bits = 0
    for block in blocks:
        tree = _fields(block)
        if tree.get("is_linear", "0") != "0":
            return None
        n_leaves = int(tree["num_leaves"])
        node_offset.append(nodes)
        leaf_offset.append(leaves)
        num_leaves.append(n_leaves)
        cat_offset.append(cats)
        parts["leaf_value"].append(_array(tree["leaf_value"], np.float64))
        leaves += n_leaves
        if n_leaves > 1:
            for key, name, dtype in (("split_feature", "feature", np.int64),
                                     ("threshold", "threshold", np.float64),
                                     ("decision_type", "decision", np.int64),
                                     ("left_child", "left", np.int64),
                                     ("right_child", "right", np.int64)):
                parts[name].append(_array(tree[key], dtype))
            nodes += n_leaves - 1
        if int(tree.get("num_cat", "0")) > 0:
            # boundaries index this tree's bitset words; shift them to the shared array
            bounds = _array(tree["cat_boundaries"], np.int64)
            parts["cat_boundaries"].append(bounds + bits)
            parts["cat_bits"].append(_array(tree["cat_threshold"], np.int64))
            cats += len(bounds)
            bits += int(bounds[-1])
    return CompiledTrees(
        feature=_concat(parts["feature"], np.int64),
        threshold=_concat(parts["threshold"], np.float64),
        decision=_concat(parts["decision"], np.int64),
        left=_concat(parts["left"], np.int64),
        right=_concat(parts["right"], np.int64),
        node_offset=np.array(node_offset, np.int64),
        leaf_value=_concat(parts["leaf_value"], np.float64),
        leaf_offset=np.array(leaf_offset, np.int64),
        num_leaves=np.array(num_leaves, np.int64),
        cat_boundaries=_concat(parts["cat_boundaries"], np.int64),
        cat_boundary_offset=np.array(cat_offset, np.int64),
        cat_bits=_concat(parts["cat_bits"], np.int64),
        num_features=int(header["max_feature_idx"]) + 1,
        sigmoid=sigmoid)


def _array(text: str, dtype: type) -> np.ndarray:
    # float() rounds a decimal string correctly, as LightGBM's own parser does
    return np.array([float(v) if dtype is np.float64 else int(v) for v in text.split()], dtype)


def _concat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)


@njit(cache=True, nogil=True)
def _predict(X: np.ndarray, feature: np.ndarray, threshold: np.ndarray, decision: np.ndarray,
             left: np.ndarray, right: np.ndarray, node_offset: np.ndarray,
             leaf_value: np.ndarray, leaf_offset: np.ndarray, num_leaves: np.ndarray,
             cat_boundaries: np.ndarray, cat_boundary_offset: np.ndarray,
             cat_bits: np.ndarray, sigmoid: float) -> np.ndarray:  # pragma: no cover
    n = X.shape[0]
    out = np.empty(n)
    for i in range(n):
        raw = 0.0
        for t in range(len(node_offset)):
            if num_leaves[t] == 1:
                raw += leaf_value[leaf_offset[t]]
                continue
            base = node_offset[t]
            node = 0
            while node >= 0:
                k = base + node
                x = X[i, feature[k]]
                if -_ZERO <= x <= _ZERO:
                    x = 0.0
                kind = decision[k]
                if kind & 1:  # categorical
                    go_left = False
                    if x == x and -_INT_LIMIT < x < _INT_LIMIT:
                        value = int(x)
                        if value >= 0:
                            c = cat_boundary_offset[t] + int(threshold[k])
                            first, last = cat_boundaries[c], cat_boundaries[c + 1]
                            word = value // 32
                            if word < last - first:
                                go_left = (cat_bits[first + word] >> (value % 32)) & 1 == 1
                    node = left[k] if go_left else right[k]
                else:
                    missing = (kind >> 2) & 3
                    if x != x and missing != 2:
                        x = 0.0
                    if (missing == 1 and -_ZERO <= x <= _ZERO) or (missing == 2 and x != x):
                        node = left[k] if kind & 2 else right[k]
                    elif x <= threshold[k]:
                        node = left[k]
                    else:
                        node = right[k]
            raw += leaf_value[leaf_offset[t] + ~node]
        out[i] = 1.0 / (1.0 + math.exp(-sigmoid * raw)) if sigmoid != 0.0 else raw
    return out
