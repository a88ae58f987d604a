"""Position bias: the examination curve (harvesting, EM), corrected levels by hand, the
serp world recovered, and a voice log left exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from seemingly.config import AnalysisSettings
from seemingly.explain.hypotheses.patterns import pattern_frame
from seemingly.explain.measures import overview
from seemingly.explain.position import (
    analyze_positions,
    corrected_overview,
    estimate_examination,
    examination_em,
    position_counts,
    position_design,
)
from seemingly.results import Results
from seemingly.simulate import simulate
from seemingly.store import open_data, store_from_frames

# (query, product, relevant label, position, offers, clicks): both pairs of query q are seen
# 10 times at position 1 and 10 times at position 2, each clicked half as often at 2.
HAND = [
    ("q", "a", "1", 1, 10, 4), ("q", "a", "1", 2, 10, 2),
    ("q", "b", "0", 1, 10, 2), ("q", "b", "0", 2, 10, 1),
]


def _hand_store(tmp: Path, propensity: float | None) -> Any:
    rows: list[dict[str, Any]] = []
    for q, p, _, pos, n, c in HAND:
        for i in range(n):
            rows.append({
                "offer_id": f"{p}{pos}-{i}", "request_id": f"r{len(rows)}",
                "timestamp": pd.Timestamp("2024-01-01") + pd.Timedelta(minutes=len(rows)),
                "user_id": f"u{len(rows)}", "query": q, "product_id": p, "position": pos,
                "engaged": i < c, "purchased": i < c, "propensity": propensity,
            })
    products = pd.DataFrame({"product_id": ["a", "b"], "title": ["a", "b"],
                             "category": "x", "price": [1.0, 2.0]})
    judgments = pd.DataFrame([(q, p, lab, "x") for q, p, lab, pos, *_ in HAND if pos == 1],
                             columns=["query", "product_id", "label", "annotator_id"])
    return store_from_frames(tmp / "s.duckdb", products=products, offers=pd.DataFrame(rows),
                             judgments=judgments)


def test_harvesting_and_corrected_levels_by_hand(tmp_path: Path) -> None:
    store = _hand_store(tmp_path, 0.5)
    assert position_design(store) == (2, True)
    counts = position_counts(store)
    exam = estimate_examination(counts, method="harvesting", n_boot=20)
    # weights m = 10 * 10 / 20 = 5 per pair: (5 * 0.2 + 5 * 0.1) / (5 * 0.4 + 5 * 0.2) = 0.5
    assert exam.value.tolist() == pytest.approx([1.0, 0.5])
    ov = corrected_overview(counts, exam, store, AnalysisSettings())
    # relevant a: (4 + 2 / 0.5) / 20 = 0.4 (naive 6 / 20); irrelevant b: (2 + 1 / 0.5) / 20
    assert ov.purchase_level.relevant.value == pytest.approx(0.4)
    assert ov.purchase_level.irrelevant.value == pytest.approx(0.2)
    assert ov.engagement_level.irrelevant.offers == 20
    assert ov.irrelevant_share.purchases.value == pytest.approx(4 / 12)
    naive = overview(store)
    assert naive.purchase_level.relevant.value == pytest.approx(0.3)
    assert ov.annotator_agreement == naive.annotator_agreement


def test_without_propensities_the_curve_comes_from_em(tmp_path: Path) -> None:
    store = _hand_store(tmp_path, None)
    assert position_design(store) == (2, False)
    exam = estimate_examination(position_counts(store), method="em", n_boot=5)
    # the counts are exactly e = (1, 0.5) times each pair's rate: EM's fixed point
    assert exam.value.tolist() == pytest.approx([1.0, 0.5], abs=1e-3)


def test_em_recovers_a_curve_from_binomial_draws() -> None:
    rng = np.random.default_rng(3)
    e = 1 / np.arange(1, 6)
    r = rng.uniform(0.05, 0.6, 400)
    n = rng.integers(5, 60, (400, 5)).astype(float)
    c = rng.binomial(n.astype(int), r[:, None] * e).astype(float)
    got, _ = examination_em(n, c)
    np.testing.assert_allclose(got, e, atol=0.04)


def _serp(tmp: Path, seed: int, n: int = 60_000) -> tuple[Any, dict[str, Any]]:
    data = tmp / f"serp{seed}"
    simulate(data, "serp", n_offers=n, seed=seed)
    return open_data(data, tmp / f"work{seed}"), json.loads((data / "truth.json").read_text())


@pytest.fixture(scope="module")
def serp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    return _serp(tmp_path_factory.mktemp("serp"), 11)


def test_serp_curve_levels_and_blocks(serp: tuple[Any, dict[str, Any]]) -> None:
    store, truth = serp
    found = analyze_positions(store, AnalysisSettings())
    assert found is not None
    block, corr = found.block, found.overview_corrected
    assert block.method == "harvesting" and block.max_position == 10
    true_curve = [c["value"] for c in truth["position"]["examination"]["curve"]]
    for p, t in zip(block.examination, true_curve, strict=True):
        assert p.ci is not None and p.ci[0] - 0.03 <= t <= p.ci[1] + 0.03
    naive = overview(store)
    for attr, key in (("purchase_level", "purchase"), ("engagement_level", "engagement")):
        for group in ("relevant", "irrelevant"):
            t = truth["position"]["levels"][key][group]
            c, nv = getattr(getattr(corr, attr), group), getattr(getattr(naive, attr), group)
            assert abs(c.value - t) < abs(nv.value - t) / 3  # the naive level misses by far
            assert nv.ci[1] < t  # and its interval excludes the truth
    # popularity looks stronger naive (popular products are ranked higher)
    pop = block.hypotheses["popularity"]["purchase"]
    assert pop.naive.estimate > pop.corrected.estimate > 0
    assert block.hypotheses["price_ratio"]["purchase"].corrected.direction == "-"
    assert block.strategies is not None
    # the typed blocks round-trip through results.json and render
    res = Results(overview=naive, position=block, overview_corrected=corr)
    back = Results.from_json(res.to_json())
    assert back.position == block and back.overview_corrected == corr
    out = back.to_dict()
    assert {"position", "value", "ci"} <= set(out["position"]["examination"][0])
    assert set(out["overview_corrected"]) == set(out["overview"])
    from seemingly.report.render import render_html

    html = render_html(back)
    assert 'id="position"' in html and "inverse examination weights" in html


def test_voice_log_has_no_position_analysis(tmp_path: Path) -> None:
    data = tmp_path / "voice"
    simulate(data, "default", n_offers=20_000, seed=4)
    store = open_data(data, tmp_path / "work")
    assert position_design(store)[0] == 1
    assert analyze_positions(store, AnalysisSettings()) is None
    # the study's builders add nothing for a voice log: no block, no warning, no skip reason
    from seemingly.study import analysis

    ctx = analysis.Context(store, AnalysisSettings())
    assert analysis.BLOCKS["position"](ctx) is None
    assert analysis.BLOCKS["overview_corrected"](ctx) is None
    assert not ctx.warnings and not ctx.skipped
    assert "position" not in analysis.assemble(ctx, {"position": None}).to_dict()
    import ibis

    from seemingly.explain.factors import build_offer_factors
    from seemingly.explain.labels import relevance

    s = AnalysisSettings()
    kw = dict(offers=store.table("offers"), products=store.table("products"),
              relevance=relevance(store, s), orders=store.table("orders"),
              settings=s.hypotheses, cells=True)
    plain = pattern_frame(build_offer_factors(**kw).table, s.hypotheses)
    ones = ibis.memtable({"position": np.array([1], dtype=np.int32), "weight": [1.0]})
    weighted = pattern_frame(build_offer_factors(**kw, position_weights=ones).table,
                             s.hypotheses)
    # weighting leaves the counts alone, and weight 1 reproduces them
    pd.testing.assert_frame_equal(weighted[plain.columns], plain)
    np.testing.assert_array_equal(weighted["purchases_ipw"], plain["purchases"])


def test_recovery_bench_small(tmp_path: Path) -> None:
    """bench/experiments/serp_recovery.py at a small size: corrected intervals hold the
    position-free truth, naive ones never do; the planted signs of the strong effects."""
    from bench.experiments.serp_recovery import run_seed, summarise

    rows = [run_seed(seed, 60_000, tmp_path) for seed in (1, 2, 3)]
    s = summarise(rows)
    # the four levels of a seed share one estimated curve, so their misses come together
    # (at 60k offers seed 1 misses three); the bench's 20 seeds x 200k check 85-99%
    assert s["coverage"]["corrected"] >= 2 / 3
    assert s["coverage"]["naive"] == 0.0
    for term in ("popularity", "price_ratio", "history"):
        for outcome in ("purchase", "engagement"):
            assert s["signs_by_term"][f"{term}/{outcome}"]["corrected"] == 1.0
