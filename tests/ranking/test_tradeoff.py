"""Fusion sweep, metrics (checked against ranx), Pareto, hypervolume, label aggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seemingly.ranking.scoring import CandidateMatrix, normalize_scores, ranking_metrics
from seemingly.ranking.tradeoff.joint import aggregate_labels
from seemingly.ranking.tradeoff.pareto import dominance, hypervolume, pareto_mask
from seemingly.ranking.tradeoff.sweep import sweep


def _random_candidates(n_q: int, seed: int) -> tuple[pd.DataFrame, CandidateMatrix]:
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_q):
        n = int(rng.integers(2, 9))
        rel = rng.random(n) < 0.4
        rel[int(rng.integers(0, n))] = True  # every query has a relevant product (ranx)
        for c in range(n):
            rows.append((f"q{q:03d}", f"d{c}", float(rel[c]), float(rng.random()),
                         float(rng.random()), float(rng.random())))
    df = pd.DataFrame(rows, columns=["query", "product_id", "relevant", "level", "rs", "os"])
    return df, CandidateMatrix.from_frame(df)


def test_normalize_by_hand() -> None:
    s = np.array([[1.0, 3.0, 2.0, 0.0], [5.0, 5.0, 0.0, 0.0]])
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    mm = normalize_scores(s, mask, "min-max")
    np.testing.assert_allclose(mm, [[0.0, 1.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]])
    z = normalize_scores(s, mask, "z-score")
    sd = np.std([1.0, 3.0, 2.0])
    np.testing.assert_allclose(z[0, :3], (np.array([1.0, 3.0, 2.0]) - 2.0) / sd)
    np.testing.assert_allclose(z[1], 0.0)
    rk = normalize_scores(s, mask, "rank")
    np.testing.assert_allclose(rk[0], [0.0, 1.0, 0.5, 0.0])
    np.testing.assert_allclose(rk[1], [0.5, 0.5, 0.0, 0.0])  # tie -> average rank
    with pytest.raises(ValueError, match="min-max"):
        normalize_scores(s, mask, "softmax")  # type: ignore[arg-type]


def test_min_max_of_full_rows_equals_the_masked_computation() -> None:
    rng = np.random.default_rng(3)
    s = rng.normal(size=(50, 7)) * 10.0 ** rng.integers(-5, 5, size=(50, 1))
    s[3] = 2.0  # a constant row
    full = np.ones(s.shape, bool)
    # the same rows with a padding column, which takes the general path
    padded = normalize_scores(np.c_[s, np.zeros(50)], np.c_[full, np.zeros(50, bool)])
    np.testing.assert_array_equal(normalize_scores(s, full), padded[:, :7])
    np.testing.assert_array_equal(normalize_scores(np.array([[1.0, 3.0, 2.0]]),
                                                   np.ones((1, 3), bool)), [[0.0, 1.0, 0.5]])


def test_metrics_by_hand() -> None:
    df = pd.DataFrame({"query": ["a", "a", "a", "b", "b"], "product_id": list("xyzxy"),
                       "relevant": [0.0, 1.0, 1.0, 1.0, 0.0],
                       "level": [0.4, 0.2, 0.1, 0.0, 0.5]})
    cm = CandidateMatrix.from_frame(df)
    scores = cm.scatter(df.assign(s=[3.0, 2.0, 1.0, 1.0, 2.0]), "s")
    rel1, lvl1, ndcg = ranking_metrics(scores, cm, k=2)
    np.testing.assert_allclose(rel1, [0.0, 0.0])
    np.testing.assert_allclose(lvl1, [1.0, 1.0])
    # a: ranking x, y -> dcg 1/log2(3); ideal y, z -> 1 + 1/log2(3)
    np.testing.assert_allclose(ndcg[0], (1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    np.testing.assert_allclose(ndcg[1], (1 / np.log2(3)) / 1.0)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_relevance_at_1_and_ndcg_agree_with_ranx(k: int) -> None:
    ranx = pytest.importorskip("ranx")
    df, cm = _random_candidates(80, seed=k)
    res = sweep(cm.scatter(df, "rs"), cm.scatter(df, "os"), cm,
                weights=np.array([0.0, 0.3, 1.0]), normalization="min-max", k=k)
    r = normalize_scores(cm.scatter(df, "rs"), cm.mask)
    o = normalize_scores(cm.scatter(df, "os"), cm.mask)
    qrels = ranx.Qrels.from_dict({
        q: {p: int(v) for p, v in zip(g.product_id, g.relevant, strict=True) if v > 0}
        for q, g in df.groupby("query")})
    for i, w in enumerate(res.weights):
        fused = w * r + (1 - w) * o
        run = ranx.Run.from_dict({
            str(q): {str(cm.product_ids[qi, c]): float(fused[qi, c])
                     for c in np.flatnonzero(cm.mask[qi])} for qi, q in enumerate(cm.queries)})
        ref = ranx.evaluate(qrels, run, ["precision@1", f"ndcg@{k}"])
        assert res.relevance_at_1[i].mean() == pytest.approx(ref["precision@1"], abs=1e-9)
        assert res.ndcg[i].mean() == pytest.approx(ref[f"ndcg@{k}"], abs=1e-9)


def test_vectorised_sweep_equals_naive_loop() -> None:
    df, cm = _random_candidates(40, seed=9)
    res = sweep(cm.scatter(df, "rs"), cm.scatter(df, "os"), cm, normalization="min-max", k=3)
    assert len(res.weights) == 21 and res.weights[-1] == pytest.approx(1.0)
    for i, w in enumerate(res.weights):
        for qi, (_q, g) in enumerate(df.groupby("query", sort=True)):
            rs = (g.rs - g.rs.min()) / (g.rs.max() - g.rs.min())
            os_ = (g.os - g.os.min()) / (g.os.max() - g.os.min())
            fused = (w * rs + (1 - w) * os_).to_numpy()
            top = int(np.argmax(fused))
            assert res.relevance_at_1[i, qi] == g.relevant.iloc[top]
            assert res.level_at_1[i, qi] == pytest.approx(g.level.iloc[top] / g.level.max())


def test_order_preserving_transform_does_not_change_rank_fusion() -> None:
    df, cm = _random_candidates(30, seed=2)
    a = sweep(cm.scatter(df, "rs"), cm.scatter(df, "os"), cm, normalization="rank")
    b = sweep(np.exp(3 * cm.scatter(df, "rs")), cm.scatter(df, "os") ** 3, cm,
              normalization="rank")
    np.testing.assert_array_equal(a.relevance_at_1, b.relevance_at_1)
    np.testing.assert_array_equal(a.level_at_1, b.level_at_1)


def test_pareto_and_hypervolume_by_hand() -> None:
    pts = np.array([[0.9, 0.2], [0.5, 0.5], [0.4, 0.4], [0.2, 0.9], [0.5, 0.5]])
    np.testing.assert_array_equal(pareto_mask(pts), [True, True, False, True, True])
    # staircase: 0.9*0.2 + 0.5*(0.5-0.2) + 0.2*(0.9-0.5)
    assert hypervolume(pts) == pytest.approx(0.18 + 0.15 + 0.08)
    assert hypervolume(pts, reference=(0.5, 0.0)) == pytest.approx(0.4 * 0.2)
    assert hypervolume(np.array([[0.1, 0.1]]), reference=(0.2, 0.2)) == 0.0


def test_dominance() -> None:
    rng = np.random.default_rng(0)
    fr = rng.random((5, 50)) < 0.5
    fl = rng.random((5, 50))
    same = dominance((fr, fl), (fr, fl), n_boot=50)
    assert same["difference"] == 0.0 and same["difference_ci"] == [0.0, 0.0]
    means = np.column_stack([fr.mean(1), fl.mean(1)])
    # identical sets: exactly the points off their own frontier are dominated
    assert same["share_fusion_points_dominated"] == 1 - pareto_mask(means).mean()
    better: dict = dominance((fr * 0.5, fl * 0.5), (fr, fl), n_boot=200)
    assert better["share_fusion_points_dominated"] == 1.0
    assert better["difference"] > 0 and better["difference_ci"][0] > 0
    with pytest.raises(ValueError, match="same queries"):
        dominance((fr, fl), (fr[:, :10], fl[:, :10]))


def test_aggregate_labels() -> None:
    f = pd.DataFrame({"query": np.repeat([f"q{i}" for i in range(400)], 2),
                      "relevant": np.tile([1.0, 0.0], 400),
                      "outcome_label": np.tile([0.25, 1.0], 400)})
    lin = aggregate_labels(f, 0.6)
    np.testing.assert_allclose(lin["label"].to_numpy()[:2], [0.6 + 0.4 * 0.25, 0.4])
    assert aggregate_labels(f, 0.0, method="stochastic")["label"].tolist() == \
        f["outcome_label"].tolist() * 4
    assert aggregate_labels(f, 1.0, method="stochastic", replicates=1)["label"].tolist() == \
        f["relevant"].tolist()
    st = aggregate_labels(f, 0.3, method="stochastic", replicates=5, seed=1)
    assert len(st) == 5 * len(f) and st["group"].nunique() == 5 * 400
    # one draw per query copy: both rows of a copy come from the same objective
    from_rel = st.groupby("group")["label"].apply(lambda x: set(x) == {0.0, 1.0})
    assert abs(from_rel.mean() - 0.3) < 0.05
    with pytest.raises(ValueError, match="weight"):
        aggregate_labels(f, 1.5)
    with pytest.raises(ValueError, match="aggregation"):
        aggregate_labels(f, 0.5, method="max")  # type: ignore[arg-type]


def test_tradeoff_block_end_to_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from seemingly.config import AnalysisSettings, ModelSettings
    from seemingly.ranking.tradeoff import run_tradeoff
    from seemingly.simulate import simulate
    from seemingly.store import open_data

    simulate(tmp_path / "sim", "default", n_offers=15000, seed=5)
    settings = AnalysisSettings(models=ModelSettings(
        eval_folds=1, n_boot=50, n_estimators=30, joint_n_estimators=20, weight_step=0.25,
        joint=True, ablation=False))
    with open_data(tmp_path / "sim", tmp_path / "work") as store:
        result, trained = run_tradeoff(store, settings)
    d = result.to_block().model_dump(exclude_unset=True)
    for objective in ("purchase", "engagement"):
        block = d[objective]
        for kind in ("fusion", "joint"):
            pts = block[kind]
            assert [p["weight"] for p in pts] == [0.0, 0.25, 0.5, 0.75, 1.0]
            for p in pts:
                assert set(p) >= {"weight", "relevance_at_1", f"{objective}_level_at_1",
                                  "ndcg_at_k"}
                assert 0.0 <= p["relevance_at_1"] <= 1.0
                assert 0.0 <= p[f"{objective}_level_at_1"] <= 1.0
        dom = block["dominance"]
        lo, hi = dom["difference_ci"]
        assert lo <= hi
        assert dom["difference"] == pytest.approx(dom["joint_hypervolume"]
                                                  - dom["fusion_hypervolume"])
    models = trained.to_block().model_dump(exclude_unset=True)
    assert set(models) == {"relevance", "purchase", "engagement"}
    assert models["relevance"]["metrics"]["auc"] > 0.6
