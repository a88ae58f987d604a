"""The factor ablation: feature groups, frontier comparison by hand, reuse of fits, and the
block on a small simulated world."""

from __future__ import annotations

import numpy as np
import pytest

from seemingly.ranking.features import FEATURE_NAMES
from seemingly.ranking.tradeoff.ablation import (
    FACTOR_GROUPS,
    TEXT_MATCH,
    VARIANTS,
    _hypervolumes,
    _levels,
    compare_variants,
)
from seemingly.ranking.tradeoff.pareto import frontier_level, hypervolume
from seemingly.ranking.tradeoff.sweep import SweepResult


def test_groups_partition_the_features_and_name_the_hypotheses() -> None:
    from seemingly.explain.hypotheses.core import HYPOTHESES

    grouped = [f for g in FACTOR_GROUPS.values() for f in g]
    assert len(grouped) == len(set(grouped))
    assert sorted(grouped + list(TEXT_MATCH)) == sorted(FEATURE_NAMES)
    # the table "what each factor buys" sits next to the verdict of the same name
    assert set(FACTOR_GROUPS) == set(HYPOTHESES)
    assert list(VARIANTS)[:2] == ["full", "crude"]
    assert set(VARIANTS["without_price"]) == set(FEATURE_NAMES) - {"price_log", "price_relative"}


def test_frontier_level_by_hand() -> None:
    pts = np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.3]])  # (0.3, 0.3) is dominated
    assert frontier_level(pts, 0.1) == 0.8  # left of the front: its highest level
    assert frontier_level(pts, 0.2) == 0.8
    assert frontier_level(pts, 0.5) == pytest.approx(0.5)  # 0.8 - 0.4 * (0.3 / 0.4)
    assert frontier_level(pts, 0.6) == 0.4
    assert np.isnan(frontier_level(pts, 0.7))


def test_batched_frontier_equals_the_scalar_functions() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        w = int(rng.integers(1, 8))
        # coarse values make ties and dominated duplicates common
        x, y = np.round(rng.random((1, w)), 1), np.round(rng.random((1, w)), 1)
        pts = np.column_stack([x[0], y[0]])
        assert _hypervolumes(x, y, (0.0, 0.0))[0] == pytest.approx(hypervolume(pts))
        r = float(np.round(rng.random() * x.max(), 2))
        assert _levels(x, y, np.array([r]))[0] == pytest.approx(frontier_level(pts, r))


def _sweep(rel: list[list[float]], lev: list[list[float]]) -> SweepResult:
    r, lv = np.array(rel), np.array(lev)
    return SweepResult(np.linspace(0, 1, len(r)), r, lv, np.zeros_like(r), 10)


def test_compare_variants_by_hand() -> None:
    # two weights, two queries with equal metrics: every bootstrap draw gives the same numbers
    full = _sweep([[0.5, 0.5], [1.0, 1.0]], [[1.0, 1.0], [0.5, 0.5]])
    worse = _sweep([[0.5, 0.5], [1.0, 1.0]], [[0.5, 0.5], [0.25, 0.25]])
    res = compare_variants({"full": full, "worse": worse}, n_boot=50)
    # full: points (0.5, 1), (1, 0.5): 1 * 0.5 + 0.5 * 0.5 = 0.75; worse: 0.25 + 0.125
    assert res["full"].hypervolume == pytest.approx(0.75)
    assert res["worse"].hypervolume == pytest.approx(0.375)
    assert res["worse"].difference == pytest.approx(0.375)
    assert res["worse"].difference_ci == pytest.approx((0.375, 0.375))
    # both reach relevance@1 = 1, where full has level 0.5 and the variant 0.25
    assert res["worse"].at_relevance == 1.0
    assert res["worse"].level_gain == pytest.approx(0.25)
    assert res["worse"].level_gain_ci == pytest.approx((0.25, 0.25))
    assert res["full"].difference == 0.0 and res["full"].difference_ci == (0.0, 0.0)


def test_compare_variants_interval_brackets_estimate_and_needs_same_queries() -> None:
    rng = np.random.default_rng(0)
    rel, lev = rng.random((5, 200)), rng.random((5, 200))
    a = _sweep(rel.tolist(), lev.tolist())
    b = _sweep(rel.tolist(), (lev * 0.9).tolist())
    res = compare_variants({"full": a, "b": b}, n_boot=200, seed=1)["b"]
    assert res.difference > 0
    assert res.difference_ci[0] <= res.difference <= res.difference_ci[1]
    with pytest.raises(ValueError, match="other queries"):
        compare_variants({"full": a, "c": _sweep(rel[:, :10].tolist(), lev[:, :10].tolist())})


def _ablation_of(tmp_path, world: str, n_offers: int, seed: int):  # type: ignore[no-untyped-def]
    from seemingly.config import AnalysisSettings
    from seemingly.ranking.tradeoff import fit_tradeoff_models, run_tradeoff, tradeoff_data
    from seemingly.simulate import simulate
    from seemingly.store import open_data

    simulate(tmp_path / world, world, n_offers=n_offers, seed=seed)
    settings = AnalysisSettings(seed=seed)
    with open_data(tmp_path / world, tmp_path / f"{world}-work") as store:
        data = tradeoff_data(store, settings)
        result, _ = run_tradeoff(store, settings, data, fit_tradeoff_models(data, settings))
    return result.to_block(), data


@pytest.mark.slow
def test_default_world_factor_aware_beats_crude(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from seemingly.ranking.tradeoff.ablation import fit_variants

    block, data = _ablation_of(tmp_path, "default", 200_000, 7)
    d = block.model_dump(mode="json", exclude_unset=True)
    assert "joint" not in d["purchase"] and d["settings"]["joint"] is False
    for objective in ("purchase", "engagement"):
        ab = d["ablation"][objective]
        assert set(ab) == set(VARIANTS)
        for v in ab.values():
            assert {"hypervolume", "difference", "difference_ci"} <= set(v)
        lo, hi = ab["crude"]["difference_ci"]
        assert 0 < lo <= ab["crude"]["difference"] <= hi, (objective, ab["crude"])
        # the fusion frontier of the block is the full variant's
        assert ab["full"]["frontier"] == d[objective]["fusion"]
        assert ab["full"]["difference"] == 0.0
    # a variant refits only the models whose training rows vary in what it drops: the
    # relevance rows carry no purchase history, so that variant keeps the full relevance model
    fits = fit_variants([data], {v: VARIANTS[v] for v in
                                 ("full", "crude", "without_personal_history")},
                        params={"n_estimators": 5}, n_jobs=2)[0]
    assert fits["without_personal_history"]["relevance"] is fits["full"]["relevance"]
    assert fits["without_personal_history"]["purchase"] is not fits["full"]["purchase"]
    # the variants share one binning of all columns; the crude model splits on text match only
    crude = fits["crude"]["relevance"]
    assert crude.feature_names_ == list(FEATURE_NAMES)
    gain = crude.feature_importance()
    assert all(gain[f] == 0 for f in FEATURE_NAMES if f not in TEXT_MATCH)
    assert sum(gain[f] for f in TEXT_MATCH) > 0


@pytest.mark.parametrize("model", ["relevance", "outcome"])
def test_binned_fit_equals_a_fit_on_the_kept_columns(model: str) -> None:
    import pandas as pd

    from seemingly.ranking.models.estimators import OutcomeModel, RelevanceModel

    rng = np.random.default_rng(3)
    n = 3000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": rng.integers(0, 5, n).astype(float), "d": rng.normal(size=n)})
    # d carries most of the signal: a fit that may not use it must look elsewhere
    p = 1 / (1 + np.exp(-(0.8 * X["a"] - 0.5 * X["c"] + 2.0 * X["d"])))
    y = (rng.random(n) < p).astype(float)
    w = rng.integers(1, 4, n).astype(float) if model == "outcome" else None
    cls = RelevanceModel if model == "relevance" else OutcomeModel
    params = {"n_estimators": 20, "seed": 5}
    data = cls(**params).binned(X, y, sample_weight=w)
    for keep in (["a", "b", "c", "d"], ["a", "c"], ["b"]):
        binned = cls(**params).fit_binned(data, use=keep)
        alone = cls(**params).fit(X[keep], y, sample_weight=w)
        np.testing.assert_array_equal(binned.predict(X), alone.predict(X[keep]))
        assert binned.feature_names_ == list(X.columns)


@pytest.mark.slow
def test_null_world_crude_buys_nothing_detectable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # no factor moves any outcome: the crude interval covers 0 (bench/perf/bench_study.py
    # --null-seeds 10 counts the seeds where it does at 200k offers)
    block, _ = _ablation_of(tmp_path, "null", 100_000, 7)
    assert block.ablation is not None
    for objective in ("purchase", "engagement"):
        lo, hi = getattr(block.ablation, objective)["crude"].difference_ci
        assert lo <= 0 <= hi, (objective, lo, hi)
