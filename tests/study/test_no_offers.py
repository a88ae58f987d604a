"""Real-data shapes without offers (issue 9): judgments (+ orders) only, through run_study.

The hand-made folder is built so every relation is worked out by hand: titles are single words,
so two products' TF-IDF cosine is 1 (same word) or 0 (different words), and the co-purchase
lifts follow from five small baskets.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from seemingly.cli import app
from seemingly.config import AnalysisSettings, ModelSettings
from seemingly.explain.relations_summary import compare_groups
from seemingly.ranking.features import FEATURE_NAMES, FeatureSnapshot, compute_features
from seemingly.ranking.models import RelevanceModel
from seemingly.ranking.models.data import split_queries
from seemingly.store import store_from_frames
from seemingly.study.analysis import analyze
from seemingly.study.run import run_study

FAST = AnalysisSettings(models=ModelSettings(n_estimators=5, n_boot=50))

# query -> [(product, title, relevant)]; q4 has one relevant product only, so no comparison.
QUERIES = {
    "alpha": [("a1", "alpha", 1), ("a2", "alpha", 1), ("a3", "beta", 0), ("a4", "alpha", 0)],
    "gamma": [("b1", "gamma", 1), ("b2", "gamma", 1), ("b3", "epsilon", 0)],
    "eta": [("c1", "eta", 1), ("c2", "eta", 1), ("c3", "theta", 1), ("c4", "iota", 0)],
    "zeta": [("d1", "zeta", 1), ("d2", "kappa", 0)],
}
# Items judged twice (second annotator "y"): votes (1, 1), (0, 1) and (0, 0). The tie on b3
# resolves to not relevant (the default), so relevance stays as in QUERIES.
SECOND = [("alpha", "a1", "1"), ("gamma", "b3", "1"), ("eta", "c4", "0")]
ORDERS = {"o1": ["a1", "a2"], "o2": ["a1", "a2", "a3"], "o3": ["b1", "b3"], "o4": ["a4"],
          "o5": ["c1", "c3"]}


def frames(with_orders: bool = True) -> dict[str, pd.DataFrame]:
    rows = [(q, p, t, r) for q, items in QUERIES.items() for p, t, r in items]
    products = pd.DataFrame({"product_id": [r[1] for r in rows], "title": [r[2] for r in rows],
                             "category": "toys", "price": 1.0})
    judgments = pd.DataFrame({"query": [r[0] for r in rows], "product_id": [r[1] for r in rows],
                              "label": [str(r[3]) for r in rows], "annotator_id": "x"})
    second = pd.DataFrame(SECOND, columns=["query", "product_id", "label"]).assign(
        annotator_id="y")
    out = {"products": products, "judgments": pd.concat([judgments, second], ignore_index=True)}
    if with_orders:
        out["orders"] = pd.DataFrame(
            [(o, "u1", p, pd.Timestamp("2024-01-01") + pd.Timedelta(days=i))
             for i, (o, ps) in enumerate(ORDERS.items()) for p in ps],
            columns=["order_id", "user_id", "product_id", "timestamp"])
    return out


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("no_offers")
    data = folder / "data"
    data.mkdir()
    for name, frame in frames().items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    result = run_study(data, folder / "out", settings=FAST)
    return folder / "out", json.loads(result.results_path.read_text())


def normal_ci(x: list[float]) -> list[float]:
    a = np.asarray(x)
    half = stats.norm.ppf(0.975) * a.std(ddof=1) / math.sqrt(len(a))
    return [a.mean() - half, a.mean() + half]


def check_comparison(block: dict, rel_q: list[float], irr_q: list[float],
                     rel_rows: list[float], irr_rows: list[float], within: list[float]) -> None:
    diff = [r - i for r, i in zip(rel_q, irr_q, strict=True)]
    assert block["n_queries"] == len(rel_q)
    assert block["relevant"]["mean"] == pytest.approx(np.mean(rel_q))
    assert block["irrelevant"]["mean"] == pytest.approx(np.mean(irr_q))
    assert block["difference"]["estimate"] == pytest.approx(np.mean(diff))
    assert block["difference"]["ci"] == pytest.approx(normal_ci(diff))
    assert block["auc_within_query"]["estimate"] == pytest.approx(np.mean(within))
    y = [1] * len(rel_rows) + [0] * len(irr_rows)
    assert block["auc"]["estimate"] == pytest.approx(roc_auc_score(y, rel_rows + irr_rows))
    lo, hi = block["auc"]["ci"]
    assert 0 <= lo <= hi <= 1


def test_semantic_relation_matches_hand_computation(study: tuple[Path, dict]) -> None:
    sem = study[1]["relations"]["semantic"]
    # alpha: a1, a2 -> each other (1); a3 "beta" -> 0; a4 "alpha" -> 1
    # gamma: b1, b2 -> 1; b3 -> 0.  eta: c1, c2 -> 1 (each other), c3 "theta" -> 0; c4 -> 0
    # within-query AUC: alpha (2 wins + 2 ties) / 4; gamma 1; eta (2 wins + 1 tie) / 3
    check_comparison(sem, rel_q=[1.0, 1.0, 2 / 3], irr_q=[0.5, 0.0, 0.0],
                     rel_rows=[1, 1, 1, 1, 1, 1, 0], irr_rows=[0, 1, 0, 0],
                     within=[0.75, 1.0, 2.5 / 3])
    assert sem["n_queries_without_comparison"] == 1  # zeta: its one relevant product has none
    assert sem["auc"]["estimate"] == pytest.approx(22.5 / 28)
    # by mean similarity only eta changes: c1, c2 -> mean(1, 0) = 0.5 each
    check_comparison(sem["by_mean"], rel_q=[1.0, 1.0, 1 / 3], irr_q=[0.5, 0.0, 0.0],
                     rel_rows=[1, 1, 1, 1, 0.5, 0.5, 0], irr_rows=[0, 1, 0, 0],
                     within=[0.75, 1.0, 2.5 / 3])


def test_copurchase_relation_matches_hand_computation(study: tuple[Path, dict]) -> None:
    cp = study[1]["relations"]["copurchase"]
    n = 5  # baskets; counts a1 2, a2 2, every other product 1
    lift = {("a1", "a2"): 2 / (2 * 2 / n + 1), ("a1", "a3"): 1 / (2 / n + 1),
            ("a2", "a3"): 1 / (2 / n + 1), ("b1", "b3"): 1 / (1 / n + 1),
            ("c1", "c3"): 1 / (1 / n + 1)}
    assert cp["baskets"] == 5 and cp["baskets_with_two_or_more"] == 4
    assert cp["mean_basket_size"] == pytest.approx(2.0)
    assert cp["products"] == 8 and cp["pairs"] == 5
    assert cp["share_pairs_bought_together_twice_or_more"] == pytest.approx(1 / 5)
    assert cp["share_pairs_plain_lift_above_1"] == pytest.approx(1.0)
    assert cp["lift"]["mean"] == pytest.approx(np.mean(list(lift.values())))
    assert cp["lift"]["quantiles"]["0.5"] == pytest.approx(np.median(list(lift.values())))

    def v(x: float) -> float:
        return math.log2(1 + x)

    a12, a3, b3, c13 = v(lift["a1", "a2"]), v(lift["a1", "a3"]), v(lift["b1", "b3"]), v(
        lift["c1", "c3"])
    check_comparison(
        cp["relevant_vs_irrelevant"],
        rel_q=[a12, 0.0, 2 * c13 / 3], irr_q=[(a3 + 0.0) / 2, b3, 0.0],
        rel_rows=[a12, a12, 0, 0, c13, 0, c13], irr_rows=[a3, 0, b3, 0],
        # alpha: a12 beats a3 and 0 (4 wins); gamma: 0 < b3 (0); eta: c13, c13 beat 0, 0 ties
        within=[1.0, 0.0, 2.5 / 3])


def test_overview_agreement_and_skipped_reasons(study: tuple[Path, dict]) -> None:
    results = study[1]
    agree = results["overview"]["annotator_agreement"]
    # nominal alpha from the coincidence matrix of items (1,1), (0,1), (0,0):
    # o00 = 2, o11 = 2, o01 = o10 = 1; n0 = n1 = 3, n = 6 -> 1 - (n-1) * 2 / (2 * n0 * n1)
    assert agree["alpha"] == pytest.approx(1 - 5 * 2 / (2 * 3 * 3))
    assert agree["n_items"] == 3
    for block in ("hypotheses", "strategies", "tradeoff", "examples"):
        assert block not in results
        assert "no offers table" in results["skipped"][block]
        assert "purchases and engagements" in results["skipped"][block]
    assert "relations" not in results["skipped"] and "models" not in results["skipped"]


def test_relevance_model_trained_without_offers(study: tuple[Path, dict]) -> None:
    out, results = study
    m = results["models"]["relevance"]["metrics"]
    assert set(results["models"]) == {"relevance"}
    test_q = split_queries(np.array(list(QUERIES)), 0.3, FAST.seed)
    assert len(test_q) == 1  # round(0.3 * 4)
    n_test = sum(len(QUERIES[q]) for q in test_q)
    assert (m["n_train"], m["n_test"]) == (13 - n_test, n_test)
    manifest = json.loads((out / "models" / "manifest.json").read_text())
    assert set(manifest["models"]) == {"relevance"}
    # Recompute the held-out NDCG@10 from the saved model with the textbook formula; ties in
    # the score leave the order open, so the reported value must lie between worst and best.
    model = RelevanceModel.load(out / "models" / "relevance.txt", list(FEATURE_NAMES))
    catalog = frames()["products"]
    (q,) = test_q
    rows = pd.DataFrame({"query": q, "product_id": [p for p, _, _ in QUERIES[q]]})
    s = model.predict(compute_features(rows, FeatureSnapshot.from_catalog(catalog)))
    rel = np.array([r for _, _, r in QUERIES[q]], float)
    disc = 1 / np.log2(np.arange(2, len(rel) + 2))
    ideal = (np.sort(rel)[::-1] * disc).sum()
    best = (rel[np.lexsort((-rel, -s))] * disc).sum() / ideal
    worst = (rel[np.lexsort((rel, -s))] * disc).sum() / ideal
    assert worst - 1e-9 <= m["ndcg_at_10"] <= best + 1e-9
    assert 0 <= m["ndcg_at_10_bm25"] <= 1


def test_report_shows_why_blocks_are_skipped(study: tuple[Path, dict]) -> None:
    html = (study[0] / "report.html").read_text()
    assert study[1]["skipped"]["hypotheses"] in html


def test_split_queries_holds_out_at_least_one_but_not_all() -> None:
    assert split_queries(np.array(["a"]), 0.3, 7) == set()
    assert len(split_queries(np.array(["a", "b"]), 0.01, 7)) == 1
    assert len(split_queries(np.array(list("abcdefghij")), 0.3, 7)) == 3
    assert split_queries(np.array(list("abcdef")), 0.5, 1) == split_queries(
        np.array(list("fedcba")), 0.5, 1)


def test_compare_groups_needs_both_relevant_and_irrelevant() -> None:
    f = pd.DataFrame({"query": ["q", "q"], "relevant": [True, True], "v": [0.5, 0.2]})
    out = compare_groups(f, "v", measure="v", confidence=0.95, n_boot=10, seed=1)
    assert out.n_queries == 0 and out.auc is None


def test_orders_only_relations_and_skips(tmp_path: Path) -> None:
    f = frames()
    store = store_from_frames(tmp_path / "s.duckdb", products=f["products"], orders=f["orders"])
    try:
        results = analyze(store, FAST).to_dict()
    finally:
        store.close()
    rel = results["relations"]
    assert rel["semantic"] is None and "judgments" in rel["skipped"]["semantic"]
    assert rel["copurchase"]["pairs"] == 5 and rel["copurchase"]["relevant_vs_irrelevant"] is None
    assert "hypotheses" in results["skipped"]


def test_crowdflower_converted_then_studied(tmp_path: Path) -> None:
    src = tmp_path / "cf"
    src.mkdir()
    queries = {"led lights": ["LED string lights", "LED bulb lights", "LED lamp", "Wine rack"],
               "wine rack": ["Oak wine rack", "Metal wine rack", "Wine glass", "Pillow"],
               "dog bed": ["Soft dog bed", "Large dog bed", "Dog bowl", "LED lamp"]}
    grades = [4, 4, 3, 1]
    rows = [(q, t, g, 0.0 if g == 4 else 0.5) for q, ts in queries.items()
            for t, g in zip(ts, grades, strict=True)]
    pd.DataFrame({"id": range(len(rows)), "query": [r[0] for r in rows],
                  "product_title": [r[1] for r in rows], "product_description": "",
                  "median_relevance": [r[2] for r in rows],
                  "relevance_variance": [r[3] for r in rows]}).to_csv(src / "train.csv",
                                                                      index=False)
    out = tmp_path / "converted"
    cli = CliRunner().invoke(app, ["convert", "crowdflower", str(src), str(out)])
    assert cli.exit_code == 0, cli.output
    results = json.loads(run_study(out, tmp_path / "study", settings=FAST)
                         .results_path.read_text())
    assert results["run"]["settings"]["labels"]["relevant_at"] == 3  # from dataset.json
    sem = results["relations"]["semantic"]
    assert sem["n_queries"] == 3  # grades 3-4 relevant, 1 irrelevant in every query
    assert results["models"]["relevance"]["metrics"]["n_test"] == 4  # one query of three
    assert "copurchase" in results["relations"]["skipped"]
    assert {"hypotheses", "strategies", "tradeoff"} <= set(results["skipped"])
    assert (tmp_path / "study" / "report.html").is_file()


def test_relevance_only_models_block_names_the_saved_file(study: tuple[Path, dict]) -> None:
    out, results = study
    manifest = json.loads((out / "models" / "manifest.json").read_text())
    entry = results["models"]["relevance"]
    assert entry["file"] == "relevance.txt"
    assert entry["sha256"] == manifest["files"]["relevance.txt"]
    assert entry["metrics"] == manifest["models"]["relevance"]["metrics"]
