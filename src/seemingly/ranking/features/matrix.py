"""The computation behind :func:`seemingly.ranking.features.compute_features`.

Offline training / evaluation and the service go through :func:`feature_matrix`; only the way
candidates arrive differs (a DataFrame, or the request's dicts), and both adapters produce the
same :class:`Candidates`. Everything that does not depend on the candidate set is prepared
once in a :class:`FeatureIndex` (built from a snapshot): product statistics as arrays behind a
product_id -> row dict, co-purchase lift as a dict of dicts, purchase histories as sets per
user, and a bounded cache of analysed texts (sparse TF-IDF rows as sorted index / value
arrays). Sparse dot products between candidates and their query, or between a candidate and
its anchors, are compiled merge-joins over those arrays (:mod:`seemingly.ranking.features.kernels`);
the rest is numpy.

Values are bit for bit those of the pandas / scikit-learn implementation this replaced
(tests/ranking/test_features_equivalence.py checks exact equality on many random candidate sets,
and models retrained on the demo world are byte-identical): sums run in the order scipy's
sparse products use, the TF-IDF norm in scikit-learn's order, the anchor mean with pandas'
Kahan summation.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from seemingly.ranking.features.candidate_sets import (
    group_median,
    groups,
    rank_and_best,
    relations,
)
from seemingly.ranking.features.kernels import query_match, token_overlaps
from seemingly.ranking.features.products import (
    CATEGORY,
    HAS_LIFT,
    PRODUCT_ID,
    STATS_ROW,
    ProductBatch,
    ProductEntries,
    TokenInfoValue,
)
from seemingly.ranking.features.text import TEXT_CACHE, TextSpace, is_na
from seemingly.text import Tokenizer

__all__ = ["Candidates", "FeatureIndex", "feature_matrix"]

FEATURE_NAMES: tuple[str, ...] = (
    "query_length", "bm25", "tfidf_cosine", "char_cosine", "query_coverage",
    "fuzzy_coverage", "head_match", "number_match", "title_length", "text_rank", "text_gap",
    "semantic_relation", "copurchase_relation", "copurchase_max", "price_log",
    "price_relative", "popularity", "popularity_pct", "purchase_rate", "engagement_rate",
    "category", "brand_match", "type_match", "user_bought_product", "user_bought_brand",
)
_COL = {n: i for i, n in enumerate(FEATURE_NAMES)}
_TOKEN_COLS = [_COL[f] for f in ("query_coverage", "fuzzy_coverage", "head_match",
                                 "number_match", "title_length", "brand_match", "type_match")]
PRODUCT_COLUMNS = ("title", "category", "price", "brand", "product_type")

BM25_K1, BM25_B = 1.2, 0.75  # the usual Robertson/Lucene defaults
RATE_PRIOR = 20.0  # pseudo-offers that shrink a product's historical rate to the global one


class FeatureIndex:
    """Candidate-independent lookups of one snapshot, built once (see the module doc)."""

    def __init__(self, words: Any, chars: Any, products: pd.DataFrame,
                 copurchase: pd.DataFrame, history: pd.DataFrame, categories: Sequence[str],
                 catalog: pd.DataFrame, tokenizer: Tokenizer | None = None) -> None:
        self.tokenizer = tokenizer or Tokenizer()
        self.words = TextSpace(words.vocabulary, words.idf, words.avgdl, words.term_function())
        self.chars = TextSpace(chars.vocabulary, chars.idf, chars.avgdl, chars.term_function())
        self._tok: dict[str, TokenInfoValue] = {}
        self.tok_max_bytes: int | None = None  # None: bounded by TEXT_CACHE entries only
        self._tok_bytes = 0
        self._stats(products, len(catalog))
        self._copurchase(copurchase)
        self._history(history)
        self.category_codes = {c: float(i) for i, c in enumerate(categories)}
        self.products = ProductEntries(self.words, self.chars, self.token_info,
                                       self.category_codes, self.stats_row, self.lift)
        self.catalog_row: dict[Hashable, int] = {}
        self.catalog_cols: dict[str, list[Any]] = {}
        self.catalog_unique = not catalog["product_id"].duplicated().any() if len(catalog) else True
        if len(catalog):
            self.catalog_row = {p: i for i, p in enumerate(catalog["product_id"].tolist())}
            self.catalog_cols = {c: catalog[c].tolist() for c in PRODUCT_COLUMNS if c in catalog}

    def _stats(self, products: pd.DataFrame, n_catalog: int) -> None:
        pid = products["product_id"].astype(str)
        if pid.duplicated().any():
            raise ValueError("the snapshot's product statistics repeat product ids; aggregate "
                             "them to one row per product")
        self.stats_row = {p: i for i, p in enumerate(pid.tolist())}
        # a product absent from the window has 0 of everything (NaN counts as absent too)
        self.stats = {c: np.append(products[c].fillna(0.0).to_numpy(np.float64), 0.0)
                      for c in ("purchases", "engagements", "offers", "popularity")}
        pop = products["popularity"].to_numpy(np.float64)
        self.all_popularity = np.sort(np.concatenate(
            [pop, np.zeros(max(n_catalog - len(products), 0))]))
        tot_o = max(float(products["offers"].sum()), 1.0)
        self.global_purchase_rate = float(products["purchases"].sum()) / tot_o
        self.global_engagement_rate = float(products["engagements"].sum()) / tot_o

    def _copurchase(self, cp: pd.DataFrame) -> None:
        self.lift: dict[str, dict[str, float]] = {}
        if not len(cp):
            return
        val = np.log1p(cp["lift"].fillna(0.0).clip(lower=0.0)).to_numpy(np.float64)
        for a, b, v in zip(cp["product_a"].astype(str), cp["product_b"].astype(str), val,
                           strict=True):
            d = self.lift.setdefault(a, {})
            d[b] = max(d.get(b, 0.0), float(v))

    def _history(self, h: pd.DataFrame) -> None:
        # Built on first use: offline features come with the history columns computed in
        # the engine (strictly before each offer), so the study never needs these sets, and
        # at 10M offers they are millions of Python objects and most of the index's build.
        self._history_frame = h

    @cached_property
    def bought(self) -> dict[str, set[str]]:
        """user id -> the product ids they bought (the snapshot's purchase history)."""
        h = self._history_frame
        out: dict[str, set[str]] = {}
        for u, p in zip(h["user_id"].astype(str), h["product_id"].astype(str), strict=True):
            out.setdefault(u, set()).add(p)
        return out

    @cached_property
    def bought_brands(self) -> dict[str, set[str]]:
        """user id -> the brands they bought."""
        hb = self._history_frame[self._history_frame["brand"].notna()]
        out: dict[str, set[str]] = {}
        for u, b in zip(hb["user_id"].astype(str), hb["brand"].astype(str), strict=True):
            out.setdefault(u, set()).add(b)
        return out

    def token_info(self, text: str) -> TokenInfoValue:
        """Token set, stem set, number of tokens and the last token's stem (the head noun of
        a query, usually; None without tokens) of a text (cached)."""
        hit = self._tok.get(text)
        if hit is None:
            t = self.tokenizer.tokens(text)
            s = frozenset(t)
            stem = dict(zip(s, self.tokenizer.stems(list(s)), strict=True))
            hit = (s, frozenset(stem.values()), float(len(t)), stem[t[-1]] if t else None)
            # a text, its token and stem sets: ~4 bytes a character, ~90 a set member
            size = 4 * len(text) + 90 * (len(s) + len(hit[1])) + 400
            if len(self._tok) >= TEXT_CACHE or (
                    self.tok_max_bytes is not None and self._tok_bytes + size > self.tok_max_bytes):
                self._tok.clear()
                self._tok_bytes = 0
            self._tok[text] = hit
            self._tok_bytes += size
        return hit

    def bound_caches(self, max_bytes: int) -> None:
        """Keep the caches of analysed texts within about ``max_bytes`` together: the word
        store 30%, the character store (n-grams: the largest rows) 40%, the per-product
        entries 20%, the token sets 10%. Each starts afresh when it reaches its share; that
        changes no value, only how often a text is analysed again."""
        self.words.max_bytes = int(max_bytes * 0.3)
        self.chars.max_bytes = int(max_bytes * 0.4)
        self.products.max_bytes = int(max_bytes * 0.2)
        self.tok_max_bytes = int(max_bytes * 0.1)

    def warm(self) -> None:
        """Analyse the catalog's products (as many as the cache holds) now, not in the first
        requests; a request that sends a product as the catalog has it then finds it ready."""
        cols = self.catalog_cols
        # a title and a descriptive text per product must fit in the word store
        n = min(len(self.catalog_row), TEXT_CACHE // 2 - 1)
        none = [None] * n
        pids = list(self.catalog_row)[:n]
        self.products.batch(pids, *(cols.get(c, none)[:n] for c in
                                    ("title", "category", "brand", "product_type")))
        # the purchase histories, which the first request naming a user would build
        _ = self.bought, self.bought_brands
        # and load (or, first time after an install, compile) the feature kernels
        title = cols.get("title", ["warm up"])[0] if n else "warm up"
        feature_matrix(Candidates.from_records(str(title), [
            {"product_id": "warm-up a", "title": title}, {"product_id": "warm-up b"}]), self)


@dataclass
class Candidates:
    """(query, candidate) rows as plain columns; product columns may be ``None`` (absent).

    ``group`` holds integer codes of the candidate sets; ``bought`` optional precomputed
    (user_bought_product, user_bought_brand) arrays from offline code.
    """

    query: list[str]
    product_id: list[Any]
    group: np.ndarray
    columns: dict[str, list[Any] | None]
    price: np.ndarray | None
    user_id: list[Any] | None = None
    bought: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> Candidates:
        group = pd.factorize(df["group"] if "group" in df else df["query"])[0]
        cols: dict[str, list[Any] | None] = {
            c: (df[c].tolist() if c in df else None) for c in PRODUCT_COLUMNS if c != "price"}
        price = (pd.to_numeric(df["price"], errors="coerce").to_numpy(np.float64)
                 if "price" in df else None)
        bought = None
        if "user_bought_product" in df and "user_bought_brand" in df:
            bought = (df["user_bought_product"].to_numpy(np.float64),
                      df["user_bought_brand"].to_numpy(np.float64))
        return cls(df["query"].astype(str).tolist(), df["product_id"].tolist(),
                   np.asarray(group, np.int64), cols,
                   price, df["user_id"].tolist() if "user_id" in df else None, bought)

    @classmethod
    def from_records(cls, query: str, records: Sequence[Mapping[str, Any]],
                     user_id: Any = None) -> Candidates:
        """One candidate set from request dicts: a key absent from every dict is a column
        the rows lack (as ``pd.DataFrame(records)`` would have it)."""
        n = len(records)
        names = ("product_id", *PRODUCT_COLUMNS)
        try:  # the service's records carry every key: one C-level pass per record
            table: list[Sequence[Any]] = (
                list(zip(*map(itemgetter(*names), records), strict=True)) if n
                else [() for _ in names])
            have = set(names)
        except KeyError:
            have = set().union(*records) if n else set()
            if "product_id" not in have:
                raise KeyError("every candidate needs a product_id") from None
            table = [[r.get(c) for r in records] for c in names]
        if n and any(p is None for p in table[0]):
            raise KeyError("every candidate needs a product_id")
        col = dict(zip(names, table, strict=True))
        cols: dict[str, list[Any] | None] = {
            c: (list(col[c]) if c in have else None) for c in PRODUCT_COLUMNS if c != "price"}
        price = None
        if "price" in have:
            raw = list(col["price"])
            try:
                price = np.array(raw, dtype=np.float64)
            except (TypeError, ValueError):  # text prices: coerce as pandas does
                price = pd.to_numeric(pd.Series(raw, dtype=object),
                                      errors="coerce").to_numpy(np.float64)
        return cls([str(query)] * n, [str(p) for p in col["product_id"]] if n else [],
                   np.zeros(n, np.int64), cols, price, [user_id] * n)

    def fill_from_catalog(self, index: FeatureIndex) -> None:
        """Take product columns the rows lack from the snapshot's catalog."""
        if self.price is not None and all(v is not None for v in self.columns.values()):
            return
        rows = [index.catalog_row.get(p) for p in self.product_id] if index.catalog_row else []
        for c in PRODUCT_COLUMNS:
            have = self.price is not None if c == "price" else self.columns[c] is not None
            src = index.catalog_cols.get(c)
            if have or src is None:
                continue
            if not index.catalog_unique:
                raise ValueError("the snapshot's catalog repeats product ids, so the candidates' "
                                 f"missing {c!r} cannot be looked up; send it with each candidate")
            vals = [None if r is None else src[r] for r in rows]
            if c == "price":
                self.price = pd.to_numeric(pd.Series(vals, dtype=object),
                                           errors="coerce").to_numpy(np.float64)
            else:
                self.columns[c] = vals


def _history(X: np.ndarray, c: Candidates, index: FeatureIndex, pids: list[str],
             brands: list[Any]) -> None:
    up, ub = _COL["user_bought_product"], _COL["user_bought_brand"]
    if c.bought is not None:
        X[:, up], X[:, ub] = c.bought
        return
    users = c.user_id
    if users is None or all(map(is_na, users)):
        return  # NaN: no user, no history
    if users.count(users[0]) == len(users) and not is_na(users[0]):
        # one known user (as in the service): that user's sets once, then a membership test
        mine, my_brands = index.bought.get(str(users[0]), ()), index.bought_brands.get(
            str(users[0]), ())
        product = [float(p in mine) for p in pids]
        brand = [float(isinstance(b, str) and b in my_brands) for b in brands]
    else:
        product, brand = [], []
        for u, p, b in zip(users, pids, brands, strict=True):
            if u is None or (isinstance(u, float) and np.isnan(u)):
                product.append(np.nan)
                brand.append(np.nan)
                continue
            key = str(u)
            product.append(float(p in index.bought.get(key, ())))
            brand.append(float(isinstance(b, str) and b in index.bought_brands.get(key, ())))
    X[:, up] = product
    X[:, ub] = brand


def feature_matrix(c: Candidates, index: FeatureIndex) -> np.ndarray:
    """Features of the candidate rows, shaped (rows, len(FEATURE_NAMES)), float64."""
    n = len(c.product_id)
    X = np.full((n, len(FEATURE_NAMES)), np.nan)
    if not n:
        return X
    c.fill_from_catalog(index)
    col = c.columns
    none = [None] * n
    brands = col["brand"] if col["brand"] is not None else none
    if c.query.count(c.query[0]) == n:  # one query (the service): no look-ups
        row_q, queries = np.zeros(n, np.int64), [c.query[0]]
    else:
        qid: dict[str, int] = {}
        row_q = np.fromiter((qid.setdefault(q, len(qid)) for q in c.query), np.int64, n)
        queries = list(qid)
    prod: ProductBatch = index.products.batch(
        c.product_id, col["title"] or none, col["category"] or none, brands,
        col["product_type"] or none, queries)
    words = index.words
    X[:, _COL["query_length"]] = np.array([len(q.split()) for q in queries], float)[row_q]

    # --- text match: BM25 (Lucene variant, as bm25s method="lucene": no (k1 + 1) factor,
    # same ranking; a repeated query word counts once), cosines of the TF-IDF rows
    w, ch = prod.words, prod.chars
    bm25, X[:, _COL["tfidf_cosine"]] = query_match(
        w.indptr, w.idx, w.cnt, w.val, prod.title_rows, prod.query_rows[row_q], words.idf,
        words.avgdl, BM25_K1, BM25_B, True)
    X[:, _COL["bm25"]] = bm25
    _, char_cos = query_match(ch.indptr, ch.idx, ch.cnt, ch.val, prod.title_char_rows,
                              prod.query_char_rows[row_q], index.chars.idf, 1.0, 0.0, 0.0,
                              False)
    X[:, _COL["char_cosine"]] = char_cos

    # --- token overlap, category, brand and type
    X[:, _TOKEN_COLS] = token_overlaps(prod.tokens, prod.token_offsets, row_q,
                                       *prod.query_tokens)
    X[:, _COL["category"]] = prod.column(CATEGORY)

    # --- position of the text match within the candidate set
    score = bm25 + char_cos
    g, sizes, starts = groups(c.group)
    rank, best = rank_and_best(g, sizes, starts, score)
    X[:, _COL["text_rank"]] = 1.0 - (rank - 1) / np.maximum(sizes[g] - 1, 1)
    # how far behind the best text match of its set a candidate is (0 for the best)
    X[:, _COL["text_gap"]] = score - best
    pids = prod.column(PRODUCT_ID)
    semantic, anchor_lift, best_lift = relations(prod, score, g, sizes, starts, index.lift,
                                                 pids, np.array(prod.column(HAS_LIFT), bool))
    X[:, _COL["semantic_relation"]] = semantic
    X[:, _COL["copurchase_relation"]] = anchor_lift
    X[:, _COL["copurchase_max"]] = best_lift

    # --- price and product statistics
    price = np.full(n, np.nan) if c.price is None else c.price
    # extreme prices (1e308, 5e-324) give inf / -inf, as they did in pandas: no warnings
    with np.errstate(all="ignore"):
        price = np.where(price > 0, price, np.nan)
        X[:, _COL["price_log"]] = np.log(price)
        X[:, _COL["price_relative"]] = np.log2(price / group_median(g, sizes, starts, price))
    rows = np.array(prod.column(STATS_ROW), np.int64)
    st = index.stats
    popular = st["popularity"][rows]
    X[:, _COL["popularity"]] = np.log1p(popular)
    X[:, _COL["popularity_pct"]] = (np.searchsorted(index.all_popularity, popular, side="right")
                                    / max(len(index.all_popularity), 1))
    X[:, _COL["purchase_rate"]] = ((st["purchases"][rows] + RATE_PRIOR
                                    * index.global_purchase_rate)
                                   / (st["offers"][rows] + RATE_PRIOR))
    X[:, _COL["engagement_rate"]] = ((st["engagements"][rows] + RATE_PRIOR
                                      * index.global_engagement_rate)
                                     / (st["offers"][rows] + RATE_PRIOR))
    _history(X, c, index, pids, brands)
    return X
