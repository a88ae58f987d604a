"""The Home Depot benchmark's pieces: prototype features worked out by hand, query folds,
NDCG@10 with graded gains, the BM25 baseline against the formula, and a tiny end-to-end run."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bench.experiments.bench_homedepot_relevance as bench
from bench.experiments.homedepot_features import GROUPS, norm_tokens, prototype_features


def test_norm_tokens_units_numbers_plurals() -> None:
    assert norm_tokens('3/4 in. Copper Pipes 2x4') == ["3/4", "in", "copper", "pipe", "2",
                                                       "x", "4"]
    assert norm_tokens('3/4" inches Batteries') == ["3/4", "in", "in", "battery"]
    assert norm_tokens("5 Gallons") == ["5", "gal"]


def _features(query: str, titles: dict[str, str]) -> pd.DataFrame:
    catalog = pd.DataFrame({"product_id": list(titles), "title": list(titles.values())})
    rows = pd.DataFrame({"query": query, "product_id": list(titles)})
    return prototype_features(rows, catalog).set_index(rows["product_id"])


def test_prototype_features_by_hand() -> None:
    f = _features("shower head", {"a": "Delta Shower Head in Chrome",
                                  "b": "Filter for Shower Head", "c": "Delta Faucet"})
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # "shower" and "head": 2 of 3 titles
    a, b, c = f.loc["a"], f.loc["b"], f.loc["c"]
    # a: the type word (last word before " in ") is the query's last word
    assert (a["norm_coverage"], a["head_coverage"], a["type_in_query"], a["type_is_last"]) == (
        1.0, 1.0, 1.0, 1.0)
    assert a["first_match_position"] == pytest.approx(1 / 5)
    assert a["brand_in_query"] == 0.0 and a["bigram_coverage"] == 1.0
    # b: both words match, but only after "for" (an accessory of shower heads)
    assert (b["norm_coverage"], b["head_coverage"], b["type_in_query"]) == (1.0, 0.0, 0.0)
    assert b["head_coverage_gap"] == -1.0 and b["first_match_position"] == 0.5
    assert (c["norm_coverage"], c["idf_coverage"], c["first_match_position"]) == (0.0, 0.0, 1.0)
    assert c["missing_idf"] == pytest.approx(idf) and c["query_idf"] == pytest.approx(2 * idf)
    assert c["idf_coverage_gap"] == -1.0 and np.isnan(c["unit_match"])
    assert set(sum(GROUPS.values(), [])) <= set(f.columns)


def test_edit_compound_and_unit_matches() -> None:
    f = _features("showr heads", {"a": "Shower Head"})
    # "heads" -> "head" exactly; "showr" is one deletion from "shower"
    assert (f.loc["a", "norm_coverage"], f.loc["a", "edit_coverage"]) == (0.5, 1.0)
    f = _features("deck over", {"a": "DeckOver Coating"})
    assert (f.loc["a", "norm_coverage"], f.loc["a", "edit_coverage"]) == (0.0, 1.0)
    f = _features('3/4" pipe', {"a": "3/4 in. Pipe", "b": "1/2 in. Pipe"})
    assert (f.loc["a", "unit_match"], f.loc["b", "unit_match"]) == (1.0, 0.0)


def test_query_folds_keep_queries_together_and_balanced() -> None:
    q = pd.Series([f"q{i % 23}" for i in range(100)])
    fold = bench.query_folds(q, 5, seed=3)
    per_query = pd.Series(fold).groupby(q).nunique()
    assert (per_query == 1).all()
    sizes = np.bincount(pd.Series(fold).groupby(q).first(), minlength=5)
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == 23


def test_ndcg_graded_gains_and_paired_interval() -> None:
    rows = pd.DataFrame({"query": ["q1", "q1", "q2", "q2"], "product_id": list("abcd"),
                         "relevance": [3.0, 1.0, 2.0, 2.0]})
    ev = bench.Evaluator(rows, np.zeros(4, int), seed=0)
    right, wrong = ev.ndcg(np.array([1.0, 0, 0, 0])), ev.ndcg(np.array([0, 1.0, 0, 0]))
    # gains 2 and 0: reversed order has DCG 2 / log2(3) against the ideal 2
    assert right.tolist() == [1.0, 1.0]
    assert wrong == pytest.approx([1 / math.log2(3), 1.0])
    d = (1 - 1 / math.log2(3)) / 2
    assert ev.compare(right, wrong).startswith(f"{d:+.4f} [")


def test_bm25s_baseline_matches_the_lucene_formula() -> None:
    catalog = pd.DataFrame({"product_id": ["a", "b", "c"],
                            "title": ["red car", "blue car", "red red mug"]})
    rows = pd.DataFrame({"query": ["red", "red"], "product_id": ["a", "c"]})
    got = bench.bm25s_scores(rows, catalog)
    idf, avgdl = math.log(1 + 1.5 / 2.5), 7 / 3
    want = [idf * tf / (tf + 1.2 * (0.25 + 0.75 * dl / avgdl)) for tf, dl in ((1, 2), (2, 3))]
    assert got == pytest.approx(want, rel=1e-5)


def test_tiny_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    words = ["drill", "saw", "paint", "lamp", "hose", "tile", "door", "fan", "sink", "bolt"]
    recs = []
    for i in range(40):
        w = words[i % len(words)]  # with i % 3 in the query: 30 distinct queries
        for j, other in enumerate(rng.choice(words, 4)):
            hit = j < 2
            title = f"Brand{i} {w if hit else other} {'kit' if j % 2 else 'pro'}"
            recs.append((i * 10 + j, f"{i}{j}", title, f"{w} {i % 3}",
                         3.0 if hit else rng.choice([1.0, 1.33, 2.0])))
    frame = pd.DataFrame(recs, columns=["id", "product_uid", "product_title", "search_term",
                                        "relevance"])
    (tmp_path / "homedepot").mkdir()
    with gzip.open(tmp_path / "homedepot" / "train.csv.gz", "wt") as fh:
        frame.to_csv(fh, index=False)
    monkeypatch.setenv("SEEMINGLY_SHARED_DATA", str(tmp_path))
    monkeypatch.setattr(bench, "TREES", 20)
    monkeypatch.setattr(bench, "N_BOOT", 50)
    assert bench.main(seed=1, ablation=False) == 0
    out = capsys.readouterr().out
    assert "30 queries" in out and "[headline]" in out and "with prototype features" in out
