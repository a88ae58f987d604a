"""Ranking-time features: one code path for offline training, evaluation and the service.

Every feature uses only what is known when a ranking is made: the query, the candidate set,
catalog text statistics, and product / pair / user statistics from a *snapshot* taken over a
window before the evaluation period (:class:`FeatureSnapshot`). The snapshot is saved into a
model directory as small JSON / Parquet files, so the service computes exactly the same values.

>>> snap = FeatureSnapshot.from_catalog(pd.DataFrame({"product_id": ["a", "b"],
...     "title": ["red toy car", "blue mug"], "category": ["toys", "home"], "price": [5.0, 9.0]}))
>>> rows = pd.DataFrame({"query": ["toy car", "toy car"], "product_id": ["a", "b"]})
>>> f = compute_features(rows, snap)
>>> bool(f.loc[0, "bm25"] > f.loc[1, "bm25"])
True
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

from seemingly.ranking.features.matrix import (
    FEATURE_NAMES,
    Candidates,
    FeatureIndex,
    feature_matrix,
)
from seemingly.text import Tokenizer, normalize

__all__ = ["FEATURE_NAMES", "FeatureSnapshot", "compute_features"]

CATEGORICAL: tuple[str, ...] = ("category",)


@dataclass(frozen=True)
class _IdfSpace:
    """Vocabulary + inverse document frequencies of one analyzer, fitted on the catalog."""

    analyzer: str  # "word" or "char_wb"
    vocabulary: dict[str, int]
    idf: np.ndarray
    avgdl: float
    tokenizer: Tokenizer = Tokenizer()

    def _vectorizer(self) -> CountVectorizer:
        if self.analyzer == "word":
            return CountVectorizer(tokenizer=self.tokenizer.tokens, lowercase=False,
                                   token_pattern=None, vocabulary=self.vocabulary)
        # the tokenizer's normalisation (NFKC, casefold) before the character n-grams
        return CountVectorizer(analyzer="char_wb", ngram_range=(3, 4), preprocessor=normalize,
                               vocabulary=self.vocabulary)

    def term_function(self) -> Callable[[str], list[str]]:
        """The text -> terms function the vectoriser applies (scikit-learn's own)."""
        return self._vectorizer().build_analyzer()

    @classmethod
    def fit(cls, texts: list[str], analyzer: str, tokenizer: Tokenizer) -> _IdfSpace:
        base = _IdfSpace(analyzer, {}, np.zeros(0), 1.0, tokenizer)
        vec = base._vectorizer()
        vec.vocabulary = None
        counts = vec.fit_transform(texts)
        n = counts.shape[0]
        df = np.asarray((counts > 0).sum(axis=0)).ravel()
        # BM25's idf (always positive variant), also used to weight the TF-IDF vectors
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        avgdl = float(counts.sum() / max(n, 1))
        vocab = {str(k): int(v) for k, v in vec.vocabulary_.items()}
        return cls(analyzer, vocab, idf, max(avgdl, 1e-9), tokenizer)

    def to_json(self) -> dict:
        return {"analyzer": self.analyzer, "vocabulary": self.vocabulary,
                "idf": [float(x) for x in self.idf], "avgdl": self.avgdl}

    @classmethod
    def from_json(cls, d: dict, tokenizer: Tokenizer) -> _IdfSpace:
        return cls(d["analyzer"], dict(d["vocabulary"]), np.asarray(d["idf"], float),
                   float(d["avgdl"]), tokenizer)


@dataclass(frozen=True)
class FeatureSnapshot:
    """Everything features need besides the candidates: catalog text statistics and
    statistics from a window strictly before the period a model is evaluated on.

    Attributes
    ----------
    words, chars : IDF spaces (word tokens; character 3-4-grams) fitted on catalog titles.
    products : one row per product_id: purchases, engagements, offers (in offers of the
        window) and popularity (all purchases in the window, offers + orders).
    copurchase : product_a, product_b, lift (both orders of each pair).
    history : user_id, product_id, brand of purchases in the window.
    categories : category names; the feature is the index in this tuple (-1 unknown).
    tokenizer : the words and stems of titles and queries (:class:`seemingly.text.Tokenizer`,
        by the data's language); saved with the snapshot, so the service splits text alike.
    """

    words: _IdfSpace
    chars: _IdfSpace
    products: pd.DataFrame = field(repr=False)
    copurchase: pd.DataFrame = field(repr=False)
    history: pd.DataFrame = field(repr=False)
    categories: tuple[str, ...] = ()
    catalog: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    tokenizer: Tokenizer = Tokenizer()

    @classmethod
    def from_catalog(
        cls,
        catalog: pd.DataFrame,
        *,
        product_stats: pd.DataFrame | None = None,
        copurchase: pd.DataFrame | None = None,
        history: pd.DataFrame | None = None,
        language: str = "english",
    ) -> FeatureSnapshot:
        """Build a snapshot from the products table and (optional) window statistics;
        ``language`` picks the stemmer (:data:`seemingly.text.LANGUAGES`)."""
        tok = Tokenizer(language)
        titles = catalog["title"].fillna("").astype(str).tolist()
        stats = product_stats if product_stats is not None else pd.DataFrame(
            {"product_id": pd.Series(dtype=str), "purchases": pd.Series(dtype=float),
             "engagements": pd.Series(dtype=float), "offers": pd.Series(dtype=float)})
        if "popularity" not in stats:
            stats = stats.assign(popularity=stats["purchases"])
        cp = copurchase if copurchase is not None else pd.DataFrame(
            {"product_a": pd.Series(dtype=str), "product_b": pd.Series(dtype=str),
             "lift": pd.Series(dtype=float)})
        hist = history if history is not None else pd.DataFrame(
            {"user_id": pd.Series(dtype=str), "product_id": pd.Series(dtype=str),
             "brand": pd.Series(dtype=str)})
        cats = tuple(sorted(catalog["category"].fillna("unknown").astype(str).unique()))
        keep = [c for c in ("product_id", "title", "category", "price", "brand",
                            "product_type") if c in catalog]
        return cls(_IdfSpace.fit(titles, "word", tok), _IdfSpace.fit(titles, "char_wb", tok),
                   stats[["product_id", "purchases", "engagements", "offers", "popularity"]].copy(),
                   cp[["product_a", "product_b", "lift"]].copy(),
                   hist[["user_id", "product_id", "brand"]].copy(), cats,
                   catalog[keep].reset_index(drop=True), tok)

    # -- persistence: JSON + Parquet only, never pickle -------------------------------------
    FILES = ("text.json", "product_stats.parquet", "copurchase.parquet", "history.parquet",
             "catalog.parquet")

    def save(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        text = {"words": self.words.to_json(), "chars": self.chars.to_json(),
                "categories": list(self.categories), "tokenizer": self.tokenizer.to_dict()}
        (directory / "text.json").write_text(json.dumps(text))
        self.products.to_parquet(directory / "product_stats.parquet", index=False)
        self.copurchase.to_parquet(directory / "copurchase.parquet", index=False)
        self.history.to_parquet(directory / "history.parquet", index=False)
        self.catalog.to_parquet(directory / "catalog.parquet", index=False)
        return [directory / f for f in self.FILES]

    @classmethod
    def load(cls, directory: Path) -> FeatureSnapshot:
        """Read a snapshot written by :meth:`save`; a :class:`~seemingly.text.TokenizerMismatch`
        (a ValueError) when it was saved with another tokenizer."""
        text = json.loads((directory / "text.json").read_text())
        tok = Tokenizer.from_dict(text.get("tokenizer"), where=str(directory / "text.json"))
        return cls(_IdfSpace.from_json(text["words"], tok),
                   _IdfSpace.from_json(text["chars"], tok),
                   pd.read_parquet(directory / "product_stats.parquet"),
                   pd.read_parquet(directory / "copurchase.parquet"),
                   pd.read_parquet(directory / "history.parquet"),
                   tuple(text["categories"]), pd.read_parquet(directory / "catalog.parquet"),
                   tok)

    @cached_property
    def index(self) -> FeatureIndex:
        """Lookups prepared once for :func:`compute_features` (the snapshot is frozen: its
        tables must not be changed in place after the first call)."""
        return FeatureIndex(self.words, self.chars, self.products, self.copurchase,
                            self.history, self.categories, self.catalog, self.tokenizer)


def compute_features(rows: pd.DataFrame, snapshot: FeatureSnapshot) -> pd.DataFrame:
    """Features of (query, candidate) rows; candidates of one query form one group.

    Parameters
    ----------
    rows : DataFrame with ``query`` and ``product_id``; optional ``group`` (defaults to
        ``query``: the candidate set a row is ranked within), product columns (``title``,
        ``category``, ``price``, ``brand``, ``product_type``; looked up in the snapshot's
        catalog when absent), ``user_id``. Offline code may pass ``user_bought_product`` /
        ``user_bought_brand`` computed strictly before each offer; otherwise they come from
        the snapshot's purchase history (NaN without a user).
    snapshot : statistics known at ranking time.

    Returns
    -------
    DataFrame with columns :data:`FEATURE_NAMES` and a fresh RangeIndex, in the order of
    ``rows``. The service computes the same values from request dicts with
    :func:`seemingly.ranking.features.matrix.feature_matrix` (this function is a thin adapter
    to it).
    """
    if "query" not in rows or "product_id" not in rows:
        raise KeyError(f"rows need columns 'query' and 'product_id'; got {list(rows.columns)}")
    X = feature_matrix(Candidates.from_frame(rows.reset_index(drop=True)), snapshot.index)
    return pd.DataFrame(X, columns=list(FEATURE_NAMES))
