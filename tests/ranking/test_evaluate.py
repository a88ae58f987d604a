"""Evaluating any ranker: metrics worked out by hand, the study's evaluator reproduced, the
pool rule, bad run files, and a judgments-made run on a simulated world."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seemingly.config import AnalysisSettings
from seemingly.ranking.evaluate import (
    Judgments,
    Run,
    RunFileError,
    evaluate_runs,
    evaluate_store,
    judgments_from_candidates,
    judgments_from_store,
    read_query_table,
    read_run,
    score_run,
)
from seemingly.ranking.evaluate.measure import bootstrap_ci, paired_t_p
from seemingly.ranking.scoring import CandidateMatrix, ranking_metrics

L2 = 1 / math.log2(3)  # the discount of rank 2

POOL = pd.DataFrame({
    "query": ["a", "a", "a", "b", "b", "c", "c"],
    "product_id": ["p1", "p2", "p3", "p4", "p5", "q1", "q2"],
    "relevant": [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
    "level": [0.2, 0.5, 0.1, 0.3, 0.0, 0.4, 0.2],
})
# a: an unjudged product first, p3 left unranked; b: a tie (broken by product_id, ascending:
# p4 first);
# c: not ranked at all; z: a query outside the pool
RUN = pd.DataFrame({
    "query": ["a", "a", "a", "b", "b", "z"],
    "product_id": ["x", "p2", "p1", "p4", "p5", "p9"],
    "score": [3.0, 2.0, 1.0, 1.0, 1.0, 5.0],
})


def test_metrics_by_hand() -> None:
    pq = score_run(RUN, POOL, k=2)
    assert pq.queries.tolist() == ["a", "b", "c"]
    # a: x (unjudged) on top earns nothing; b: p4 (level 0.3 = the best, irrelevant); c: 0
    assert pq.relevance_at_1.tolist() == [0.0, 0.0, 0.0]
    assert pq.level_at_1 == pytest.approx([0.0, 1.0, 0.0])
    # b: relevant p5 at rank 2, one relevant candidate -> ideal DCG 1
    assert pq.ndcg == pytest.approx([0.0, L2, 0.0])
    assert pq.ranked.tolist() == [True, True, False]
    assert pq.judged_at_1[:2].tolist() == [0.0, 1.0]
    assert pq.judged_at_k[:2].tolist() == [0.5, 1.0]


def test_ranx_agrees_with_unjudged_products_and_unranked_queries() -> None:
    """trec_eval's conventions, as ranx implements them: unjudged = not relevant, a query
    the run misses scores 0, a run's query without judgments is ignored."""
    ranx = pytest.importorskip("ranx")
    pq = score_run(RUN, POOL, k=2)
    run = ranx.Run.from_df(RUN.rename(columns={"query": "q_id", "product_id": "doc_id"}),
                           q_id_col="q_id", doc_id_col="doc_id", score_col="score")

    def qrels(grade: pd.Series) -> object:
        return ranx.Qrels.from_df(POOL.assign(g=grade.astype(int)).rename(
            columns={"query": "q_id", "product_id": "doc_id"}), q_id_col="q_id",
            doc_id_col="doc_id", score_col="g")

    rel = ranx.evaluate(qrels(POOL["relevant"]), run, ["precision@1", "ndcg@2"],
                        make_comparable=True)
    assert rel["precision@1"] == pytest.approx(pq.relevance_at_1.mean())
    # ranx keeps tied rows in input order: RUN lists b's tie in our order (p4, p5)
    assert rel["ndcg@2"] == pytest.approx(pq.ndcg.mean())
    best = POOL.groupby("query")["level"].transform("max")
    level = ranx.evaluate(qrels((POOL["level"] / best * 1e6).round()), run, "ndcg@1",
                          make_comparable=True)
    assert level == pytest.approx(pq.level_at_1.mean(), abs=1e-6)


def test_order_preserving_transforms_and_row_order_change_nothing() -> None:
    base = score_run(RUN, POOL, k=2)
    rng = np.random.default_rng(2)
    other = RUN.assign(score=np.exp(RUN["score"]) * 3 - 7).sample(frac=1.0, random_state=4)
    got = score_run(other.reset_index(drop=True), POOL.sample(frac=1.0, random_state=rng),
                    k=2)
    for a, b in ((base.relevance_at_1, got.relevance_at_1), (base.level_at_1, got.level_at_1),
                 (base.ndcg, got.ndcg)):
        np.testing.assert_array_equal(a, b)


def test_judged_only_drops_unjudged_products() -> None:
    pq = score_run(RUN, POOL, k=2, judged_only=True)
    # a becomes p2, p1: level 0.5 of best 0.5; DCG 1/log2(3) of ideal 1 + 1/log2(3)
    assert pq.level_at_1 == pytest.approx([1.0, 1.0, 0.0])
    assert pq.ndcg == pytest.approx([L2 / (1 + L2), L2, 0.0])
    # coverage is measured before the unjudged products are dropped
    assert pq.judged_at_1[:2].tolist() == [0.0, 1.0]


def test_unranked_candidates_earn_nothing_but_count_in_the_ideal() -> None:
    run = pd.DataFrame({"query": ["a"], "product_id": ["p1"], "score": [1.0]})
    pq = score_run(run, POOL[POOL["query"] == "a"], k=3)
    # p1 relevant at rank 1; p3 (relevant) unranked: DCG 1 of ideal 1 + 1/log2(3)
    assert pq.relevance_at_1.tolist() == [1.0]
    assert pq.level_at_1 == pytest.approx([0.2 / 0.5])
    assert pq.ndcg == pytest.approx([1 / (1 + L2)])


def test_a_run_of_the_pool_gets_the_study_evaluators_numbers() -> None:
    rng = np.random.default_rng(0)
    n = 400
    pool = pd.DataFrame({"query": np.repeat([f"q{i:03d}" for i in range(80)], 5),
                         "product_id": np.tile([f"p{j}" for j in range(5)], 80),
                         "relevant": rng.integers(0, 2, n).astype(float),
                         "level": rng.random(n)})
    scores = rng.random(n)
    cm = CandidateMatrix.from_frame(pool)
    expected = ranking_metrics(cm.scatter(pool.assign(s=scores), "s"), cm, 3)
    pq = score_run(pool.assign(score=scores)[["query", "product_id", "score"]], pool, k=3)
    for got, want in zip((pq.relevance_at_1, pq.level_at_1, pq.ndcg), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_pool_rule_matches_the_tradeoff() -> None:
    cands = pd.DataFrame({
        "query": ["a", "a", "a", "b", "b", "c", "c"],
        "product_id": ["p1", "p2", "p3", "p4", "p5", "p6", "p7"],
        "relevant": [1.0, 0.0, np.nan, 1.0, 0.0, 1.0, 0.0],
        "offers": [10, 6, 20, 10, 4, 8, 8],
        "purchases": [1, 0, 5, 2, 1, 0, 0],
        "engagements": [3, 1, 9, 2, 1, 1, 0],
    })
    j = judgments_from_candidates(cands, min_offers=5)
    # a: p3 unjudged, out; b: p5 under 5 offers leaves one candidate, out;
    # c: no purchase at all (best level 0) is out for purchase, in for engagement
    assert j.pools["purchase"]["product_id"].tolist() == ["p1", "p2"]
    assert j.pools["engagement"]["product_id"].tolist() == ["p1", "p2", "p6", "p7"]
    assert j.pools["purchase"]["level"].tolist() == [0.1, 0.0]
    assert j.queries().tolist() == ["a", "c"]


def test_bootstrap_and_paired_test() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random(50), rng.random(50) + 0.1
    np.testing.assert_allclose(paired_t_p(b - a)[0], stats.ttest_rel(b, a).pvalue)
    assert paired_t_p(np.zeros(5))[0] == 1.0
    ci = bootstrap_ci(np.stack([a, b]), n_boot=500, seed=3, confidence=0.9)
    assert (ci[:, 0] < [a.mean(), b.mean()]).all() and (ci[:, 1] > [a.mean(), b.mean()]).all()
    np.testing.assert_array_equal(ci, bootstrap_ci(np.stack([a, b]), n_boot=500, seed=3,
                                                   confidence=0.9))


def test_holm_over_every_pair_and_metric() -> None:
    j = Judgments({"purchase": POOL, "engagement": POOL})
    runs = [Run("one", "x", RUN), Run("two", "y", RUN.assign(score=-RUN["score"])),
            Run("three", "z", RUN.assign(score=1.0))]
    ev = evaluate_runs(runs, j, k=2, n_boot=200, seed=1)
    assert set(ev.runs) == {"one", "two", "three"}
    assert len(ev.comparisons) == 3 * 4
    p = np.array([t.p_value for t in ev.comparisons])
    from seemingly.explain.hypotheses.stats import holm

    np.testing.assert_allclose([t.p_adjusted for t in ev.comparisons], holm(p))
    one = ev.runs["one"]
    assert one.relevance_at_1.value == 0.0
    assert one.purchase_level_at_1.value == pytest.approx(1 / 3)
    assert one.coverage.rows_outside == 1 and one.coverage.queries_ranked == 2
    assert one.coverage.judged_at_k == pytest.approx(0.75)
    with pytest.raises(ValueError, match="distinct tags"):
        evaluate_runs([runs[0], runs[0]], j, k=2, n_boot=10)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BAD_TREC = [
    ("1 Q0 p1 1 0.5\n", "row 1: a TREC run line has 6 fields"),
    ("1 Q0 p1 1 0.5 t\n\n7 Q0 p2 2 0.4 t\n", "row 3: qid '7' is not in the query-id table"),
    ("1 Q0 p1 one 0.5 t\n", "row 1: rank must be an integer"),
    ("1 Q0 p1 1 high t\n", "row 1: score must be a number"),
    ("1 Q0 p1 1 nan t\n", "row 1: score must be finite"),
    ("1 Q0 p1 1 0.5 t\n1 Q0 p1 2 0.4 t\n", "row 2: product 'p1' is ranked twice"),
    ("1 Q0 p1 1 0.5 t\n1 Q0 p2 2 0.4 u\n", "row 2: one run per file"),
    ("\n", "the run has no rows"),
]


@pytest.mark.parametrize(("text", "message"), BAD_TREC)
def test_bad_trec_runs_name_file_row_and_rule(tmp_path: Path, text: str, message: str) -> None:
    qids = {"1": "red shoes"}
    path = _write(tmp_path / "bad.txt", text)
    with pytest.raises(RunFileError, match=message) as err:
        read_run(path, queries=qids)
    assert str(err.value).startswith(f"{path}") and "\n" not in str(err.value)


BAD_CSV = [
    ("query,product_id\nred,p1\n", "missing column"),
    ("query,product_id,score\nred,p1,0.5\nred,p2,abc\n", "row 3: score must be a finite"),
    ("query,product_id,score\nred,p1,0.5\n,p2,0.3\n", "row 3: query is empty"),
    ("query,product_id,score\nred,p1,0.5\nRed ,p1,0.3\n", "row 3: product 'p1' is ranked twice"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CSV)
def test_bad_csv_runs_name_file_row_and_rule(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(RunFileError, match=message):
        read_run(path)


def test_trec_needs_the_query_table_and_a_good_one(tmp_path: Path) -> None:
    run = _write(tmp_path / "r.txt", "1 Q0 p1 1 0.5 t\n")
    with pytest.raises(RunFileError, match="pass the query-id table"):
        read_run(run)
    with pytest.raises(RunFileError, match=r"q.tsv, row 2: qid '1' appears twice"):
        read_query_table(_write(tmp_path / "q.tsv", "1\tred shoes\n1\tblue\n"))
    # queries are normalised as the data contract says; the TREC tag names the run
    r = read_run(run, queries=read_query_table(_write(tmp_path / "q2.tsv", "1\t Red  SHOES\n")))
    assert r.tag == "t" and r.frame["query"].tolist() == ["red shoes"]


def test_parquet_run(tmp_path: Path) -> None:
    path = tmp_path / "bm25.parquet"
    RUN.to_parquet(path)
    r = read_run(path)
    assert r.tag == "bm25" and len(r.frame) == len(RUN)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from seemingly.simulate import simulate
    from seemingly.store import open_data

    root = tmp_path_factory.mktemp("evaluate")
    simulate(root / "data", "default", n_offers=20_000, seed=3)
    s = open_data(root / "data", root)
    yield s
    s.close()


def test_a_run_from_the_judgments_gets_the_share_of_queries_with_a_relevant_candidate(
        store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from seemingly.explain.labels import relevance

    settings = AnalysisSettings(seed=3)
    # every judged product of every judged query: relevant ones first, in a seeded random
    # order within each group
    judged = relevance(store, settings).to_pandas()
    rng = np.random.default_rng(5)
    run = judged.assign(score=judged["relevant"].astype(float) + rng.random(len(judged)))
    run[["query", "product_id", "score"]].to_csv(tmp_path / "judged.csv", index=False)
    ev = evaluate_store(store, [tmp_path / "judged.csv"], settings, judged_only=True)
    pool = judgments_from_store(store, settings).relevance_pool()
    share = pool.groupby("query")["relevant"].max().mean()
    assert 0.5 < share < 1.0  # both kinds of query exist, so the test can fail
    assert ev.runs["judged"].relevance_at_1.value == pytest.approx(share, abs=1e-12)
    # NDCG@k is 1 wherever a relevant candidate exists (all relevant ones come first)
    assert ev.runs["judged"].ndcg_at_k.value == pytest.approx(share, abs=1e-12)
    assert ev.queries["relevance"] == len(pool["query"].unique())


def test_write_run_lines_by_hand(tmp_path: Path) -> None:
    from seemingly.ranking.evaluate.trec import write_run

    frame = pd.DataFrame({"query": ["b", "a", "a", "a", "b"],
                          "product_id": ["p2", "p9", "p1", "p3", "p1"],
                          "score": np.array([0.5, 0.25, 0.25, 0.75, 0.5], np.float32)})
    path = write_run(frame, {"a": "1", "b": "2"}, "t", tmp_path / "run.txt")
    # per query: score descending, ties by product id ascending; qid order follows the query
    assert path.read_text().splitlines() == [
        "1 Q0 p3 1 0.75 t", "1 Q0 p1 2 0.25 t", "1 Q0 p9 3 0.25 t",
        "2 Q0 p1 1 0.5 t", "2 Q0 p2 2 0.5 t"]
