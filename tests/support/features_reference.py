"""The pandas / scikit-learn feature code that seemingly.ranking.features.matrix replaced, kept
verbatim
(apart from the vectoriser helpers below, which were methods of the IDF space) as the
reference the equivalence tests compare the numpy implementation with."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import Stemmer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from seemingly.ranking.features import FEATURE_NAMES, FeatureSnapshot

# seemingly.text's words, written out for scripts with spaces (the test data have no CJK)
_TOKEN = re.compile(r"\w+")
_STEM = Stemmer.Stemmer("english")
_BM25_K1, _BM25_B = 1.2, 0.75
_TOP_ANCHORS = 3
_RATE_PRIOR = 20.0


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _product_text(df: pd.DataFrame) -> pd.Series:
    parts = [df["title"].fillna("").astype(str)]
    for col in ("product_type", "brand"):
        if col in df:
            parts.append(df[col].fillna("").astype(str))
    out = parts[0]
    for p in parts[1:]:
        out = out + " " + p
    return out


def _vectorizer(space: Any) -> CountVectorizer:
    if space.analyzer == "word":
        return CountVectorizer(tokenizer=_tokens, lowercase=False, token_pattern=None,
                               vocabulary=space.vocabulary)
    return CountVectorizer(analyzer="char_wb", ngram_range=(3, 4), preprocessor=_normalize,
                           vocabulary=space.vocabulary)


def _counts(space: Any, texts: list[str]) -> sp.csr_matrix:
    return sp.csr_matrix(_vectorizer(space).transform(texts), dtype=np.float64)


def _tfidf(space: Any, texts: list[str]) -> sp.csr_matrix:
    c = _counts(space, texts)
    c.data = np.log1p(c.data)
    return normalize(c @ sp.diags(space.idf), norm="l2", copy=False).tocsr()


def _bm25(space: Any, queries: list[str], docs: list[str]) -> np.ndarray:
    """Row-wise BM25 (Lucene variant, as bm25s method="lucene") of queries[i] against
    docs[i] with the catalog's idf and average length."""
    q = _counts(space, queries)
    q.data[:] = 1.0  # a repeated query word counts once
    d = _counts(space, docs)
    dl = np.asarray(d.sum(axis=1)).ravel()
    norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * dl / space.avgdl)
    d = d.tocoo()
    tf = d.data
    sat = tf / (tf + norm[d.row])  # Lucene's form: no (k1 + 1) factor, same ranking
    w = sp.csr_matrix((sat * space.idf[d.col], (d.row, d.col)), shape=d.shape)
    return np.asarray(w.multiply(q).sum(axis=1)).ravel()


def _rowwise_cosine(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def _with_product_columns(rows: pd.DataFrame, snap: FeatureSnapshot) -> pd.DataFrame:
    """Fill title/category/price/brand/product_type from the catalog where rows lack them."""
    out = rows.copy()
    cols = ("title", "category", "price", "brand", "product_type")
    missing = [c for c in cols if c not in out]
    if missing and len(snap.catalog):
        cat = snap.catalog.set_index("product_id")
        for c in missing:
            if c in cat:
                out[c] = out["product_id"].map(cat[c])
    for c in cols:
        if c not in out:
            out[c] = np.nan if c == "price" else None
    out["title"] = out["title"].fillna("").astype(str)
    out["price"] = pd.to_numeric(out["price"], errors="coerce")
    return out


def _pair_features(df: pd.DataFrame, snap: FeatureSnapshot, text: sp.csr_matrix) -> pd.DataFrame:
    """Relation of each candidate to the other candidates of its query: semantic similarity
    to the best text matches (a stand-in for the relevant products, which are unknown at
    ranking time) and co-purchase lift with them / with any other candidate."""
    idx = pd.DataFrame({"g": df["_group"].to_numpy(), "i": np.arange(len(df)),
                        "pid": df["product_id"].astype(str).to_numpy(),
                        "trank": df["_trank"].to_numpy()})
    pairs = idx.merge(idx, on="g", suffixes=("", "_o"))
    pairs = pairs[pairs["i"] != pairs["i_o"]]
    sem = np.zeros(len(df))
    cp_anchor = np.zeros(len(df))
    cp_max = np.zeros(len(df))
    if len(pairs):
        sims = _rowwise_cosine(text[pairs["i"].to_numpy()], text[pairs["i_o"].to_numpy()])
        pairs = pairs.assign(sim=sims)
        if len(snap.copurchase):
            cp = snap.copurchase.rename(columns={"product_a": "pid", "product_b": "pid_o"})
            cp = cp.assign(pid=cp["pid"].astype(str), pid_o=cp["pid_o"].astype(str))
            pairs = pairs.merge(cp, on=["pid", "pid_o"], how="left")
            pairs["lift"] = np.log1p(pairs["lift"].fillna(0.0).clip(lower=0.0))
        else:
            pairs["lift"] = 0.0
        # anchors: the other candidates with the best text match of the query
        pairs["orank"] = pairs.groupby("i")["trank_o"].rank(method="first", ascending=False)
        anchors = pairs[pairs["orank"] <= _TOP_ANCHORS]
        # the mean as pandas 2's groupby mean adds (Kahan, in row order), written out: pandas
        # 3 sums differently in the last bit, and the reference must not move with pandas
        a = anchors.groupby("i").agg(sem=("sim", _kahan_mean), cpa=("lift", "max"))
        sem[a.index.to_numpy()] = a["sem"].to_numpy()
        cp_anchor[a.index.to_numpy()] = a["cpa"].to_numpy()
        m = pairs.groupby("i")["lift"].max()
        cp_max[m.index.to_numpy()] = m.to_numpy()
    return pd.DataFrame({"semantic_relation": sem, "copurchase_relation": cp_anchor,
                         "copurchase_max": cp_max}, index=df.index)


def _kahan_mean(values: pd.Series) -> float:
    total = comp = 0.0
    for v in values.tolist():
        y = v - comp
        t = total + y
        comp = (t - total) - y
        total = t
    return total / len(values)


def _coverage(query: list[set[str]], title: list[set[str]], empty: float) -> list[float]:
    """Share of each query's tokens found in its title (``empty`` for a query without any)."""
    return [len(a & b) / len(a) if a else empty for a, b in zip(query, title, strict=True)]


def reference_features(rows: pd.DataFrame, snapshot: FeatureSnapshot) -> pd.DataFrame:
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
    DataFrame with columns :data:`FEATURE_NAMES`, same index and order as ``rows``.
    """
    if "query" not in rows or "product_id" not in rows:
        raise KeyError(f"rows need columns 'query' and 'product_id'; got {list(rows.columns)}")
    df = _with_product_columns(rows.reset_index(drop=True), snapshot)
    df["_group"] = pd.factorize(df["group"] if "group" in df else df["query"])[0]
    queries = df["query"].astype(str).tolist()
    titles = df["title"].tolist()
    out = pd.DataFrame(index=df.index)
    out["query_length"] = [len(q.split()) for q in queries]
    out["bm25"] = _bm25(snapshot.words, queries, titles)
    qv = _tfidf(snapshot.words, queries)
    tv = _tfidf(snapshot.words, titles)
    out["tfidf_cosine"] = _rowwise_cosine(qv, tv)
    out["char_cosine"] = _rowwise_cosine(_tfidf(snapshot.chars, queries),
                                         _tfidf(snapshot.chars, titles))
    qtok = [set(_tokens(q)) for q in queries]
    ttok = [set(_tokens(t)) for t in titles]
    out["query_coverage"] = _coverage(qtok, ttok, 0.0)
    # Snowball stems catch plurals and endings ("brackets" ~ "bracket")
    qst = [{_STEM.stemWord(t) for t in a} for a in qtok]
    tst = [{_STEM.stemWord(t) for t in b} for b in ttok]
    out["fuzzy_coverage"] = _coverage(qst, tst, 0.0)
    # the last query word is usually the head noun, the kind of product asked for
    heads = [_tokens(q)[-1:] for q in queries]
    out["head_match"] = [float(bool(h) and _STEM.stemWord(h[0]) in t)
                         for h, t in zip(heads, tst, strict=True)]
    # sizes and model numbers must match exactly when the query names one
    qnum = [{t for t in a if any(ch.isdigit() for ch in t)} for a in qtok]
    out["number_match"] = _coverage(qnum, ttok, np.nan)
    out["title_length"] = [float(len(_tokens(t))) for t in titles]
    # within-query position of the text match, 1 = best; ties share the lower rank
    text_score = out["bm25"] + out["char_cosine"]
    df["_trank"] = text_score.to_numpy()
    n_in_group = df.groupby("_group")["_group"].transform("size").to_numpy()
    rank = text_score.groupby(df["_group"]).rank(method="min", ascending=False).to_numpy()
    out["text_rank"] = 1.0 - (rank - 1) / np.maximum(n_in_group - 1, 1)
    # how far behind the best text match of its query a candidate is (0 for the best)
    out["text_gap"] = (text_score - text_score.groupby(df["_group"]).transform("max")).to_numpy()
    out = out.join(_pair_features(df, snapshot,
                                  _tfidf(snapshot.words, _product_text(df).tolist())))
    price = df["price"].where(df["price"] > 0)
    out["price_log"] = np.log(price)
    med = price.groupby(df["_group"]).transform("median")
    out["price_relative"] = np.log2(price / med)
    stats = snapshot.products.set_index(snapshot.products["product_id"].astype(str))
    pid = df["product_id"].astype(str)
    purchases = pid.map(stats["purchases"]).fillna(0.0).astype(float)
    engagements = pid.map(stats["engagements"]).fillna(0.0).astype(float)
    offers = pid.map(stats["offers"]).fillna(0.0).astype(float)
    popular = pid.map(stats["popularity"]).fillna(0.0).astype(float)
    out["popularity"] = np.log1p(popular.to_numpy())
    # percentile among catalog products (products never bought in the window count as 0)
    all_p = np.sort(np.concatenate([stats["popularity"].to_numpy(dtype=float), np.zeros(
        max(len(snapshot.catalog) - len(stats), 0))]))
    out["popularity_pct"] = (np.searchsorted(all_p, popular.to_numpy(), side="right")
                             / max(len(all_p), 1))
    tot_o = max(float(stats["offers"].sum()), 1.0)
    g_pr = float(stats["purchases"].sum()) / tot_o
    g_er = float(stats["engagements"].sum()) / tot_o
    out["purchase_rate"] = ((purchases + _RATE_PRIOR * g_pr) / (offers + _RATE_PRIOR)).to_numpy()
    out["engagement_rate"] = ((engagements + _RATE_PRIOR * g_er)
                              / (offers + _RATE_PRIOR)).to_numpy()
    codes = {c: i for i, c in enumerate(snapshot.categories)}
    out["category"] = df["category"].fillna("unknown").astype(str).map(codes).fillna(-1)
    out["brand_match"] = [
        float(bool(b) and set(_tokens(b)) <= q) if isinstance(b, str) else np.nan
        for b, q in zip(df["brand"], qtok, strict=True)]
    out["type_match"] = [
        len(set(_tokens(t)) & q) / max(len(set(_tokens(t))), 1) if isinstance(t, str)
        else np.nan for t, q in zip(df["product_type"], qtok, strict=True)]
    _history_features(df, snapshot, out)
    return out.loc[:, list(FEATURE_NAMES)].astype(float)


def _history_features(df: pd.DataFrame, snap: FeatureSnapshot, out: pd.DataFrame) -> None:
    if "user_bought_product" in df and "user_bought_brand" in df:
        out["user_bought_product"] = df["user_bought_product"].astype(float).to_numpy()
        out["user_bought_brand"] = df["user_bought_brand"].astype(float).to_numpy()
        return
    if "user_id" not in df or df["user_id"].isna().all():
        out["user_bought_product"] = np.nan
        out["user_bought_brand"] = np.nan
        return
    h = snap.history
    bought = set(zip(h["user_id"].astype(str), h["product_id"].astype(str), strict=True))
    hb = h[h["brand"].notna()]
    brands = set(zip(hb["user_id"].astype(str), hb["brand"].astype(str), strict=True))
    ub = []
    ubb = []
    for u, p, b in zip(df["user_id"], df["product_id"].astype(str), df["brand"], strict=True):
        if u is None or (isinstance(u, float) and np.isnan(u)):
            ub.append(np.nan)
            ubb.append(np.nan)
            continue
        ub.append(float((str(u), p) in bought))
        ubb.append(float(isinstance(b, str) and (str(u), b) in brands))
    out["user_bought_product"] = ub
    out["user_bought_brand"] = ubb
