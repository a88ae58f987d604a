"""Relations between two products: how alike their texts are, how often they are bought together.

Both functions are generic: they take the product pairs you ask about plus the products' text or
the purchase baskets, and return one row per pair. The hypothesis tests ask about (offered
product, a product judged relevant for the same query); ranking features ask the same about a
training window only, so nothing here knows about queries, offers or time splits.

>>> import pandas as pd
>>> products = pd.DataFrame({"product_id": ["a", "b", "c"],
...                          "title": ["red lego car", "blue lego car", "shampoo"]})
>>> pairs = pd.DataFrame({"product_a": ["a", "a"], "product_b": ["b", "c"]})
>>> sim = semantic_similarity(pairs, products)
>>> bool(sim.similarity.iloc[0] > sim.similarity.iloc[1])
True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

import ibis
import numpy as np
import pandas as pd
from ibis import _

from seemingly.text import Tokenizer

__all__ = ["semantic_similarity", "copurchase_lift", "purchase_baskets"]

Backend = Literal["tfidf", "embeddings"]

_SLUG = re.compile(r"\W+")
_CHUNK = 200_000  # pairs per sparse row-product; bounds memory at a few hundred MB


def _require_columns(frame: pd.DataFrame | ibis.Table, needed: tuple[str, ...], what: str) -> None:
    have = tuple(frame.columns)
    missing = [c for c in needed if c not in have]
    if missing:
        raise KeyError(
            f"{what} needs columns {list(needed)}; missing {missing} (it has {list(have)})"
        )


def _product_text(products: pd.DataFrame) -> pd.Series:
    """Title words plus one marker token per type and brand.

    The marker (``__type_kitchen_knife``) makes "same product type" and "same brand" a shared
    token of its own, so two products of one brand are related even when their titles share no
    word: the paper's "indirectly related" products.
    """
    text = products["title"].fillna("").astype(str)
    for col in ("product_type", "brand"):
        if col in products.columns:
            slug = products[col].fillna("").astype(str).str.lower().map(lambda s: _SLUG.sub("_", s))
            marker = ("__" + col.split("_")[-1] + "_" + slug).where(slug.str.len() > 0, "")
            text = text + " " + marker
    return text.str.split().str.join(" ")


def _tfidf_vectors(texts: pd.Series) -> object:
    from sklearn.feature_extraction.text import TfidfVectorizer

    # The ranking features' words (seemingly.text: NFKC, casefold, \w+, CJK bigrams), unstemmed:
    # the type and brand markers must stay whole. Single-character tokens count (sizes like
    # "4 l"); sublinear tf keeps a repeated word from dominating a long title. Rows come out
    # L2-normalised, so a dot product is the cosine.
    vec = TfidfVectorizer(tokenizer=Tokenizer().tokens, token_pattern=None, sublinear_tf=True,
                          lowercase=False)
    return vec.fit_transform(texts.tolist())


def _embedding_vectors(texts: pd.Series) -> np.ndarray:
    from seemingly.explain.embedding_model import load_embedding_model

    model = load_embedding_model()  # pinned by the sha256 of every file, checked first
    vectors = model.encode(texts.tolist(), batch_size=64, normalize_embeddings=True)
    return np.asarray(vectors, dtype=np.float64)


_BACKENDS: dict[str, Callable[[pd.Series], object]] = {
    "tfidf": _tfidf_vectors,
    "embeddings": _embedding_vectors,
}


def semantic_similarity(
    pairs: pd.DataFrame, products: pd.DataFrame, *, backend: Backend = "tfidf"
) -> pd.DataFrame:
    """Cosine similarity of the descriptive text (title, type, brand) of each product pair.

    Parameters
    ----------
    pairs : DataFrame with columns ``product_a``, ``product_b`` (small: distinct pairs only).
    products : DataFrame with ``product_id``, ``title`` and optionally ``product_type``, ``brand``;
        every product named in ``pairs`` must be present.
    backend : ``"tfidf"`` (default; TF-IDF fitted on the products of ``pairs``) or
        ``"embeddings"`` (all-MiniLM-L6-v2 shipped in the ``embeddings`` extra).

    Returns
    -------
    DataFrame: ``product_a``, ``product_b``, ``similarity`` (in [0, 1] for TF-IDF; a pair of a
    product with itself is 1).
    """
    _require_columns(pairs, ("product_a", "product_b"), "pairs")
    _require_columns(products, ("product_id", "title"), "products")
    if backend not in _BACKENDS:
        raise ValueError(f"backend={backend!r} is not known; use one of {sorted(_BACKENDS)}")
    out = pairs[["product_a", "product_b"]].reset_index(drop=True)
    if out.empty:
        return out.assign(similarity=pd.Series(dtype="float64"))
    ids = pd.unique(pd.concat([out.product_a, out.product_b], ignore_index=True))
    catalog = products.drop_duplicates("product_id").set_index("product_id")
    unknown = sorted(set(ids) - set(catalog.index))
    if unknown:
        raise KeyError(
            f"products lacks {len(unknown)} product_id(s) named in pairs, e.g. "
            f"{list(unknown[:3])}; pass the text of every product in pairs"
        )
    texts = _product_text(catalog.reindex(ids).reset_index())
    vectors = _BACKENDS[backend](texts)
    index = pd.Series(np.arange(len(ids)), index=ids)
    ia = index.loc[out.product_a].to_numpy()
    ib = index.loc[out.product_b].to_numpy()
    sims = np.empty(len(out), dtype=np.float64)
    for start in range(0, len(out), _CHUNK):
        sl = slice(start, start + _CHUNK)
        a, b = vectors[ia[sl]], vectors[ib[sl]]  # type: ignore[index]
        prod = a.multiply(b) if hasattr(a, "multiply") else a * b
        sims[sl] = np.asarray(prod.sum(axis=1)).ravel()
    return out.assign(similarity=np.clip(sims, -1.0, 1.0))


def purchase_baskets(
    purchases: ibis.Table,
    *,
    basket: Literal["order", "user_window"] = "order",
    window_days: float = 30.0,
) -> ibis.Table:
    """Group purchases into baskets: one order, or one user's purchases in a tumbling window.

    Parameters
    ----------
    purchases : Ibis table with ``product_id`` and, for ``basket="order"``, ``order_id``; for
        ``basket="user_window"``, ``user_id`` and ``timestamp``.
    basket : what "bought together" means.
    window_days : window length for ``"user_window"``. Windows are fixed calendar slots of this
        length (cheap, one pass) rather than sliding per purchase; two purchases a day apart
        across a slot boundary do not count together.

    Returns
    -------
    Ibis table ``basket_id``, ``product_id`` with each product at most once per basket.
    """
    if basket == "order":
        _require_columns(purchases, ("order_id", "product_id"), "purchases (basket='order')")
        rows = purchases.select(basket_id=_.order_id.cast("string"), product_id=_.product_id)
    elif basket == "user_window":
        _require_columns(
            purchases, ("user_id", "timestamp", "product_id"), "purchases (basket='user_window')"
        )
        slot = (_.timestamp.epoch_seconds() / (window_days * 86_400.0)).floor().cast("int64")
        rows = purchases.select(
            basket_id=_.user_id.cast("string") + "#" + slot.cast("string"), product_id=_.product_id
        )
    else:
        raise ValueError(f"basket={basket!r} is not known; use 'order' or 'user_window'")
    return rows.distinct()


def copurchase_lift(
    pairs: ibis.Table, baskets: ibis.Table, *, prior: float = 1.0
) -> ibis.Table:
    """How much more often each pair is bought together than independence predicts.

    ``lift = n_ab / (n_a * n_b / N + prior)``, with ``N`` baskets, ``n_a`` baskets holding
    product a and ``n_ab`` baskets holding both. Plain lift (``prior=0``) explodes for rare
    products (one shared basket of two one-off products gives lift N); the ``prior`` pseudo
    co-purchases in the denominator shrink such pairs towards 0 while a pair with many shared
    baskets keeps nearly its plain lift. A pair never bought together has lift 0.

    Parameters
    ----------
    pairs : Ibis table ``product_a``, ``product_b``.
    baskets : Ibis table ``basket_id``, ``product_id`` (see :func:`purchase_baskets`).
    prior : pseudo expected co-purchases, >= 0.

    Returns
    -------
    Ibis table ``product_a``, ``product_b``, ``n_a``, ``n_b``, ``n_ab``, ``lift`` (one row per
    distinct pair).
    """
    _require_columns(pairs, ("product_a", "product_b"), "pairs")
    _require_columns(baskets, ("basket_id", "product_id"), "baskets")
    if prior < 0:
        raise ValueError(f"prior must be >= 0, got {prior}")
    pairs = pairs.select("product_a", "product_b").distinct()
    items = baskets.select("basket_id", "product_id").distinct()
    # N stays an expression (a one-row table crossed in below) rather than an eager count, so
    # the baskets are derived once, inside the one query that uses them
    n_baskets = items.aggregate(n_baskets=_.basket_id.nunique())
    counts = items.group_by("product_id").agg(n=_.count())
    # Products bought together, counted from the baskets themselves: the self-join costs the
    # sum of squared basket sizes (orders hold a few products). Expanding each basket by its
    # products' candidate pairs instead costs baskets x pairs per product, and a product has
    # hundreds of pairs: at 100M offers that was billions of rows and 50 GB of spill.
    # Only products of some pair take part.
    a = items.rename(product_a="product_id").semi_join(
        pairs.select("product_a").distinct(), "product_a")
    b = items.rename(product_b="product_id", basket_b="basket_id").semi_join(
        pairs.select("product_b").distinct(), "product_b")
    n_ab = (a.join(b, a.basket_id == b.basket_b).filter(_.product_a != _.product_b)
            .group_by(["product_a", "product_b"]).agg(n_ab=_.count()))
    ca = counts.rename(product_a="product_id", n_a="n")
    cb = counts.rename(product_b="product_id", n_b="n")
    out = (
        pairs.left_join(n_ab, ["product_a", "product_b"])
        .select("product_a", "product_b", "n_ab")
        .left_join(ca, "product_a")
        .select("product_a", "product_b", "n_ab", "n_a")
        .left_join(cb, "product_b")
        .select(
            "product_a",
            "product_b",
            n_a=_.n_a.fill_null(0),
            n_b=_.n_b.fill_null(0),
            n_ab=_.n_ab.fill_null(0),
        )
        .cross_join(n_baskets)
    )
    n_total = ibis.greatest(_.n_baskets.cast("float64"), 1.0)
    expected = _.n_a.cast("float64") * _.n_b.cast("float64") / n_total
    denom = expected + prior
    lift = ibis.cases(
        (_.n_ab == 0, 0.0), (denom > 0, _.n_ab.cast("float64") / denom), else_=0.0
    )
    return out.mutate(lift=lift).drop("n_baskets")
