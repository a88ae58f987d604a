"""Per-product parts of the ranking-time features, cached across calls.

Most of a candidate's work does not depend on the query: analysing its title (word and
character rows, token sets), its descriptive text, category code, statistics row and whether
it has co-purchase partners. A service sees the same products over and over, so these are
kept per distinct (product_id, title, category, brand, product_type), and a request does one
dictionary look-up per candidate instead of a dozen passes over its candidates.

The cached rows point into the two :class:`~seemingly.ranking.features.text.TextSpace` stores; when
either store starts afresh (its bounded cache is full) the entries are dropped with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seemingly.ranking.features.text import TextSpace, TextStore, text_of

__all__ = ["ProductEntries", "ProductBatch", "TokenInfo", "TokenInfoValue"]

# a text's token set, stem set, number of tokens and last token's stem (None without tokens)
TokenInfoValue = tuple[frozenset[str], frozenset[str], float, str | None]
TokenInfo = Callable[[str], TokenInfoValue]

# Positions in an entry tuple (tuples: the cheapest record to build, hash and unpack).
WORD_ROW, CHAR_ROW, TEXT_ROW, TOKEN_IDS, CATEGORY, STATS_ROW, HAS_LIFT, PRODUCT_ID = range(8)


def product_text(title: str, product_type: Any, brand: Any) -> str:
    """Descriptive text of a product: title, type and brand (as the semantic relation uses)."""
    return f"{title} {text_of(product_type)} {text_of(brand)}"


@dataclass(frozen=True)
class ProductBatch:
    """The cached parts of a batch of candidate rows, in row order, and the queries' parts.

    ``entries`` are the per-row tuples (fields named by this module's position constants);
    ``title_rows`` / ``text_rows`` the word-store rows of each title and descriptive text,
    ``title_char_rows`` the character-store rows of each title, ``query_rows`` /
    ``query_char_rows`` the two stores' rows of each query; all index ``words`` / ``chars``,
    the stores' arrays as they were when the rows were handed out. ``tokens`` /
    ``token_offsets`` hold each row's packed token ids and ``query_tokens`` the queries'
    (the arguments :func:`~seemingly.ranking.features.kernels.token_overlaps` takes after the rows'
    query numbers).
    """

    entries: list[tuple[Any, ...]]
    title_rows: np.ndarray
    title_char_rows: np.ndarray
    text_rows: np.ndarray
    query_rows: np.ndarray
    query_char_rows: np.ndarray
    words: TextStore
    chars: TextStore
    tokens: np.ndarray
    token_offsets: np.ndarray
    query_tokens: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

    def column(self, field: int) -> list[Any]:
        return [e[field] for e in self.entries]


class ProductEntries:
    """The cache; :meth:`batch` is the only way in."""

    def __init__(self, words: TextSpace, chars: TextSpace, token_info: TokenInfo,
                 category_codes: dict[str, float], stats_row: dict[str, int],
                 lift: dict[str, dict[str, float]]) -> None:
        self.words, self.chars, self._tok = words, chars, token_info
        self._code, self._stats_row, self._lift = category_codes, stats_row, lift
        self._entries: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        # token -> id for the token-overlap kernel; ids live in the entries, so the two are
        # emptied together (which bounds it: only product tokens are added)
        self._token_id: dict[str, int] = {}
        self._generation = (words.generation, chars.generation)
        self.max_bytes: int | None = None  # None: bounded through the text stores only
        self._bytes = 0  # the entries' and token ids' estimated size

    def batch(self, product_id: Sequence[Any], title: Sequence[Any], category: Sequence[Any],
              brand: Sequence[Any], product_type: Sequence[Any],
              queries: Sequence[str] = ()) -> ProductBatch:
        """Entries and text rows of the candidate rows given column by column, and the rows
        of ``queries`` (analysed now if new) from the same stores."""
        words, chars = self.words, self.chars
        keys = list(zip(product_id, title, category, brand, product_type, strict=True))
        # both stores at once, always in this order: a row number is only good while its
        # store is not reset by a concurrent caller
        with words.lock, chars.lock:
            if self.max_bytes is not None and self._bytes > self.max_bytes:
                words.clear()  # the entries point into the stores: all start afresh
                chars.clear()
            if (words.generation, chars.generation) != self._generation:
                self._forget()
            get = self._entries.get
            got = [get(k) for k in keys]
            before = (words.generation, chars.generation)
            new = list(dict.fromkeys(k for k, e in zip(keys, got, strict=True) if e is None))
            words.make_room(2 * len(new) + len(queries))  # a title and a descriptive text each
            chars.make_room(len(new) + len(queries))
            if (words.generation, chars.generation) != before:
                # a store started afresh: every entry's rows are void, this batch's too
                words.clear()
                chars.clear()
                self._forget()
                new = list(dict.fromkeys(keys))
            self._generation = (words.generation, chars.generation)
            if new:
                self._entries.update(zip(new, self._build(new), strict=True))
                got = [self._entries[k] for k in keys]
            rows = list(zip(*got, strict=True)) or [()] * (PRODUCT_ID + 1)
            ids = rows[TOKEN_IDS]
            offsets = np.zeros(len(ids), np.int64)
            if len(ids) > 1:
                np.cumsum([len(a) for a in ids[:-1]], out=offsets[1:])
            batch = ProductBatch(got, np.array(rows[WORD_ROW], np.int64),  # type: ignore[arg-type]
                                 np.array(rows[CHAR_ROW], np.int64),
                                 np.array(rows[TEXT_ROW], np.int64),
                                 np.array(words.rows(queries), np.int64),
                                 np.array(chars.rows(queries), np.int64),
                                 words.view(), chars.view(),
                                 np.concatenate(ids) if ids else np.zeros(0, np.int64), offsets,
                                 self._query_tokens(queries))
            if self._over_budget():
                # A batch larger than the budget was stored whole (its rows must exist); keep
                # none of it past this call. The batch's views keep their own arrays alive.
                words.clear()
                chars.clear()
                self._forget()
            return batch

    def _over_budget(self) -> bool:
        return any(m is not None and n > m for n, m in (
            (self.words.nbytes, self.words.max_bytes), (self.chars.nbytes, self.chars.max_bytes),
            (self._bytes, self.max_bytes)))

    def _forget(self) -> None:
        self._entries.clear()
        self._token_id.clear()
        self._bytes = 0

    def _ids(self, words: frozenset[str]) -> list[int]:
        add = self._token_id.setdefault
        return sorted({add(w, len(self._token_id)) for w in words})

    def _query_tokens(self, queries: Sequence[str]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each query's known token, stem and number ids (runs of one flat array), its
        counts of tokens, stems and numbers (known or not) and its head stem's id."""
        get = self._token_id.get
        runs: list[list[int]] = []
        counts, heads = [], []
        for q in queries:
            qt, qs, _, head = self._tok(q)  # the last query word is usually the head noun
            numbers = [t for t in qt if any(ch.isdigit() for ch in t)]
            for group in (qt, qs, numbers):
                runs.append(sorted(i for i in map(get, group) if i is not None))
            counts.append((len(qt), len(qs), len(numbers)))
            h = get(head) if head is not None else None
            heads.append(-1 if h is None else h)
        ptr = np.zeros(len(runs) + 1, np.int64)
        np.cumsum([len(r) for r in runs], out=ptr[1:])
        flat = np.array([i for r in runs for i in r], np.int64)
        return (ptr, flat, np.array(counts, np.int64).reshape(-1, 3),
                np.array(heads, np.int64))

    def _build(self, keys: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        titles = [text_of(k[1]) for k in keys]
        wrow = self.words.rows(titles)
        crow = self.chars.rows(titles)
        trow = self.words.rows([product_text(t, k[4], k[3])
                                for t, k in zip(titles, keys, strict=True)])
        tok, code, srow, lift = self._tok, self._code.get, self._stats_row.get, self._lift
        out = []
        ids = self._ids
        n_ids = len(self._token_id)
        for (pid, _, cat, brand, ptype), title, w, c, t in zip(keys, titles, wrow, crow, trow,
                                                                strict=True):
            tt, ts, tl, _ = tok(title)
            bt = ids(tok(brand)[0]) if isinstance(brand, str) else None
            pt = ids(tok(ptype)[0]) if isinstance(ptype, str) else None
            title_ids, stem_ids = ids(tt), ids(ts)
            # the layout feature_kernels.token_overlaps reads: a header, then the id runs
            packed = np.array([len(title_ids), len(stem_ids), -1 if bt is None else len(bt),
                               -1 if pt is None else len(pt), int(bool(brand) and bt is not None),
                               int(tl), *title_ids, *stem_ids, *(bt or ()), *(pt or ())],
                              np.int64)
            p = str(pid)
            # the key's texts (UCS-4 at worst), the packed ids, the tuples and new token ids
            self._bytes += (4 * (len(title) + len(p) + len(text_of(brand)) + len(text_of(ptype))
                                 + len(text_of(cat))) + packed.nbytes + 600
                            + 100 * (len(self._token_id) - n_ids))
            n_ids = len(self._token_id)
            out.append((w, c, t, packed,
                        code(cat if type(cat) is str else text_of(cat, "unknown"), -1.0),
                        srow(p, -1), p in lift, p))
        return out
