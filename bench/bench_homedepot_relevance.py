"""Benchmark on real judgments: the relevance model vs BM25 on held-out Home Depot queries.

Data: ../shared/data/homedepot/train.csv.gz (or $SEEMINGLY_SHARED_DATA/homedepot): real
queries and product titles, relevance = mean of >= 3 human grades on 1-3. Queries are split
70/30 (seeded); the model learns from train queries only; both rankers order each test
query's judged products; NDCG@10 uses the grade - 1 as gain. Skips when the folder is absent.

Run: nice .venv/bin/python bench/bench_homedepot_relevance.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seemingly.contract import normalize_query
from seemingly.features import FEATURE_NAMES, FeatureSnapshot, compute_features
from seemingly.models import JointRanker, RelevanceModel
from seemingly.tradeoff.metrics import CandidateMatrix, ranking_metrics


def data_file() -> Path | None:
    env = os.environ.get("SEEMINGLY_SHARED_DATA")
    roots = [Path(env)] if env else []
    roots.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for r in roots:
        f = r / "homedepot" / "train.csv.gz"
        if f.is_file():
            return f
    return None


def bm25s_scores(catalog: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """BM25 (bm25s, Lucene variant) of each test row's title, corpus = the whole catalog."""
    import bm25s

    from seemingly.features import _tokens

    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(w, len(vocab)) for w in _tokens(t)] for t in catalog["title"]]
    retriever = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    pos = pd.Series(np.arange(len(catalog)), index=catalog["product_id"])
    out = np.zeros(len(test))
    for q, idx in test.groupby("query").indices.items():
        tokens = [w for w in _tokens(str(q)) if w in vocab]
        if tokens:
            scores = retriever.get_scores(tokens)
            out[idx] = scores[pos.loc[test["product_id"].iloc[idx]].to_numpy()]
    return out


def ndcg10(frame: pd.DataFrame, scores: np.ndarray) -> np.ndarray:
    cm = CandidateMatrix.from_frame(frame.assign(relevant=frame["gain"], level=0.0))
    s = cm.scatter(frame.assign(_s=scores), "_s")
    return ranking_metrics(s, cm, 10)[2]


def main(seed: int = 7) -> int:
    path = data_file()
    if path is None:
        print("skipped: ../shared/data/homedepot/train.csv.gz is absent (set "
              "SEEMINGLY_SHARED_DATA to the folder holding homedepot/)")
        return 0
    t0 = time.perf_counter()
    raw = pd.read_csv(path, encoding="latin-1")
    raw["query"] = raw["search_term"].astype(str).map(normalize_query)
    raw["product_id"] = raw["product_uid"].astype(str)
    raw = raw.groupby(["query", "product_id"], as_index=False).agg(
        relevance=("relevance", "mean"), title=("product_title", "first"))
    catalog = (raw.drop_duplicates("product_id")[["product_id", "title"]]
               .assign(category="unknown", price=np.nan).reset_index(drop=True))
    queries = np.array(sorted(raw["query"].unique()))
    test_q = set(queries[np.random.default_rng(seed).random(len(queries)) < 0.3])
    raw["split"] = np.where(raw["query"].isin(test_q), "test", "train")
    raw = raw.sort_values(["query", "product_id"]).reset_index(drop=True)
    snap = FeatureSnapshot.from_catalog(catalog)  # catalog text only: no labels inside
    X = compute_features(raw[["query", "product_id"]], snap)
    t1 = time.perf_counter()
    tr, te = raw["split"] == "train", raw["split"] == "test"
    y = (raw["relevance"] - 1.0) / 2.0  # mean grade 1..3 -> [0, 1]
    model = RelevanceModel(n_estimators=300, num_leaves=31, seed=seed).fit(
        X.loc[tr, list(FEATURE_NAMES)], y[tr].to_numpy())
    # the same features with a listwise objective (the joint model's ranker at weight 1)
    ranker = JointRanker(n_estimators=300, num_leaves=31, ndcg_at=10, seed=seed).fit(
        X.loc[tr, list(FEATURE_NAMES)].reset_index(drop=True), y[tr].to_numpy(),
        group=raw.loc[tr, "query"].to_numpy())
    t2 = time.perf_counter()
    test = raw[te].reset_index(drop=True).assign(gain=lambda d: d["relevance"] - 1.0)
    model_s = model.predict(X.loc[te, list(FEATURE_NAMES)].reset_index(drop=True))
    rank_s = ranker.predict(X.loc[te, list(FEATURE_NAMES)].reset_index(drop=True))
    bm25_s = bm25s_scores(catalog, test)
    b_nd = ndcg10(test, bm25_s)
    print(f"Home Depot: {len(raw):,} judged pairs, {len(queries):,} queries "
          f"({len(test_q):,} held out), {len(catalog):,} products")
    print(f"NDCG@10 on held-out queries, BM25 (bm25s): {b_nd.mean():.4f}")
    rng = np.random.default_rng(seed)
    for name, s in (("relevance model (pointwise)", model_s),
                    ("relevance ranker (LambdaRank)", rank_s)):
        nd = ndcg10(test, s)
        diff = nd - b_nd
        boots = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(1000)]
        lo, hi = np.quantile(boots, [0.025, 0.975])
        print(f"  {name}: {nd.mean():.4f}, minus BM25 {diff.mean():+.4f} "
              f"[{lo:+.4f}, {hi:+.4f}] (95% bootstrap over queries)")
    imp = sorted(model.feature_importance().items(), key=lambda kv: -kv[1])[:5]
    print("top features (gain):", ", ".join(f"{k} {v:.0f}" for k, v in imp))
    print(f"time: features {t1 - t0:.1f} s, fit {t2 - t1:.1f} s, "
          f"total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
