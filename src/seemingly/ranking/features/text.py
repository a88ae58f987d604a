"""Analysed texts for the ranking-time features: term ids, counts and TF-IDF rows kept in a
growing CSR-like store that :mod:`seemingly.ranking.features.kernels` reads in place (the
words themselves come from :mod:`seemingly.text`).

The TF-IDF norm is summed in scikit-learn's order, so the values are bit for bit those of the
scikit-learn code the features were first written with (see
:mod:`seemingly.ranking.features.matrix`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TextStore", "TextSpace", "text_of"]

TEXT_CACHE = 1 << 16  # analysed texts kept per space (~2 KB each)
# Python's cost of keeping one text as a dict key beyond its characters: the str header
# (~50 bytes) and the dict slot and its int value (~70 bytes). An estimate, for the budget.
KEY_OVERHEAD = 120


def is_na(v: Any) -> bool:
    """pandas' notion of a missing scalar (None, NaN, NA, NaT), cheaply for the usual types."""
    if v is None:
        return True
    if isinstance(v, str):
        return False
    if isinstance(v, float):
        return v != v
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # list-likes are values, not missing
        return False


def text_of(v: Any, default: str = "") -> str:
    """``str(v)``, or ``default`` when v is missing (as ``fillna(default).astype(str)``)."""
    return default if is_na(v) else str(v)


_EMPTY_I = np.zeros(0, np.int64)
_EMPTY_F = np.zeros(0, np.float64)


class TextSpace:
    """An IDF space at ranking time: texts -> sparse rows of sorted term ids, counts and
    L2-normalised TF-IDF values.

    Analysed texts are kept as one growing CSR-like store (a text -> row dict plus flat
    arrays, see :meth:`view`), so a known text costs one dictionary look-up. At
    :data:`TEXT_CACHE` texts the store starts afresh (it only caches pure functions of the
    text, so this changes no value).
    """

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, avgdl: float,
                 analyzer: Callable[[str], list[str]], max_bytes: int | None = None) -> None:
        self.vocabulary, self.idf, self.avgdl = vocabulary, idf, avgdl
        # None: bounded by TEXT_CACHE texts only. A service sets a byte budget, since one long
        # title's character n-grams alone can take tens of kilobytes (see nbytes).
        self.max_bytes = max_bytes
        self.size = max(len(idf), 1)
        self._analyze = analyzer
        self._lock = threading.Lock()  # the store grows in place: one writer at a time
        self._reset()

    def __getstate__(self) -> dict[str, Any]:  # copy / pickle: a lock is neither
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _reset(self) -> None:
        self._generation = getattr(self, "_generation", -1) + 1
        self._row: dict[str, int] = {}
        self._key_bytes = 0
        self._indptr = np.zeros(1024, np.int64)
        self._idx = np.zeros(1 << 14, np.int64)
        self._cnt = np.zeros(1 << 14, np.float64)
        self._val = np.zeros(1 << 14, np.float64)

    def _compute(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        get = self.vocabulary.get
        ids = [i for i in map(get, self._analyze(text)) if i is not None]
        if not ids:
            return _EMPTY_I, _EMPTY_F, _EMPTY_F
        tally: dict[int, int] = {}
        for i in ids:  # a dict beats np.unique on a title's few dozen terms
            tally[i] = tally.get(i, 0) + 1
        terms = sorted(tally)
        idx = np.array(terms, np.int64)
        counts = np.array([tally[i] for i in terms], np.float64)
        # sublinear tf (repeated title words matter less) times idf, then unit length; the
        # squares are summed one by one from the last term down, as scikit-learn's
        # normalize does on the rows scipy's product with diag(idf) leaves reversed, so the
        # values are the same to the last bit
        w = np.log1p(counts) * self.idf[idx]
        sq = 0.0
        for x in w[::-1].tolist():
            sq += x * x
        return idx, counts, w / math.sqrt(sq)

    def _add(self, texts: list[str]) -> None:
        new = list(dict.fromkeys(t for t in texts if t not in self._row))
        vecs = [self._compute(t) for t in new]
        n0, e0 = len(self._row), int(self._indptr[len(self._row)])
        lens = np.fromiter((len(v[0]) for v in vecs), np.int64, len(vecs))
        n1, e1 = n0 + len(vecs), e0 + int(lens.sum())
        if n1 + 1 > len(self._indptr):
            self._indptr = np.resize(self._indptr, 2 * (n1 + 1))
        if e1 > len(self._idx):
            cap = 2 * e1
            self._idx = np.resize(self._idx, cap)
            self._cnt = np.resize(self._cnt, cap)
            self._val = np.resize(self._val, cap)
        self._indptr[n0 + 1 : n1 + 1] = e0 + np.cumsum(lens)
        if e1 > e0:
            self._idx[e0:e1] = np.concatenate([v[0] for v in vecs])
            self._cnt[e0:e1] = np.concatenate([v[1] for v in vecs])
            self._val[e0:e1] = np.concatenate([v[2] for v in vecs])
        self._row.update(zip(new, range(n0, n1), strict=True))
        # characters as UCS-4 at worst: an estimate that never under-counts
        self._key_bytes += sum(4 * len(t) for t in new) + KEY_OVERHEAD * len(new)

    @property
    def lock(self) -> threading.Lock:
        """Held while the store changes; hold it to keep row numbers valid across calls."""
        return self._lock

    @property
    def generation(self) -> int:
        """Bumped whenever the store starts afresh: row numbers from before are void."""
        return self._generation

    def clear(self) -> None:
        """Start afresh (drops every analysed text; a new generation)."""
        self._reset()

    @property
    def nbytes(self) -> int:
        """Memory the store holds: its arrays' capacity and its texts (estimated)."""
        return (self._indptr.nbytes + self._idx.nbytes + self._cnt.nbytes + self._val.nbytes
                + self._key_bytes)

    def make_room(self, n_texts: int) -> None:
        """Start afresh now unless ``n_texts`` more texts fit in the cache, so the row
        numbers :meth:`rows` hands out in the next call stay valid (a batch larger than the
        cache is still stored whole).

        With a byte budget, the store also starts afresh once it holds half of it: the next
        call may double its arrays (they grow by doubling), which then stay within it.
        """
        if len(self._row) + n_texts > TEXT_CACHE or (
                self.max_bytes is not None and self.nbytes > self.max_bytes // 2):
            self._reset()

    def rows(self, texts: Sequence[str]) -> list[int]:
        """Row numbers of ``texts`` in the store, analysing new ones; never starts afresh
        (call :meth:`make_room` first)."""
        get = self._row.get
        rows = [get(t) for t in texts]
        if None in rows:
            self._add([t for t, r in zip(texts, rows, strict=True) if r is None])
            rows = [self._row[t] for t in texts]
        return rows  # type: ignore[return-value]

    def view(self) -> TextStore:
        """The store's arrays as they are now. Rows handed out so far stay valid in them
        whatever happens to the store later: it only appends past its end, and growing or
        starting afresh allocates new arrays."""
        return TextStore(self._indptr, self._idx, self._cnt, self._val)


@dataclass(frozen=True)
class TextStore:
    """A TextSpace's CSR arrays: row r's sorted term ids are ``idx[indptr[r]:indptr[r + 1]]``
    with their counts ``cnt`` and unit-length TF-IDF values ``val``."""

    indptr: np.ndarray
    idx: np.ndarray
    cnt: np.ndarray
    val: np.ndarray
