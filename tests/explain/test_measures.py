"""measures: PL/EL per (query, product), the overview and data blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from seemingly.config import AnalysisSettings
from seemingly.explain.measures import data_summary, levels, overview
from seemingly.store import store_from_frames
from seemingly.study.analysis import analyze

# --- tiny hand-made store -------------------------------------------------------------------

# (query, product, offers, purchases, engagements); judged: milk/p1 and toy/p3 relevant,
# milk/p2 and toy/p4 irrelevant; milk/p3 unjudged.
PAIRS = [
    ("milk", "p1", 10, 4, 6),
    ("milk", "p2", 5, 1, 2),
    ("toy", "p3", 4, 2, 2),
    ("toy", "p4", 6, 0, 3),
    ("milk", "p3", 5, 5, 5),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    rows: list[dict[str, Any]] = []
    for q, p, n, buys, engs in PAIRS:
        for i in range(n):
            rows.append(
                {
                    "offer_id": f"{q}-{p}-{i}",
                    "timestamp": pd.Timestamp("2024-01-01") + pd.Timedelta(minutes=len(rows)),
                    "user_id": f"u{len(rows) % 4}",
                    "query": q.upper(),
                    "product_id": p,
                    "engaged": i < engs,
                    "purchased": i < buys,
                }
            )
    products = pd.DataFrame(
        {"product_id": ["p1", "p2", "p3", "p4"], "title": list("abcd"), "category": "x",
         "price": [1.0, 2.0, 3.0, 4.0]}
    )  # fmt: skip
    judgments = pd.DataFrame(
        [("milk", "p1", "1", "a"), ("milk", "p2", "0", "a"), ("toy", "p3", "1", "a"),
         ("toy", "p4", "0", "a"), ("toy", "p4", "0", "b")],
        columns=["query", "product_id", "label", "annotator_id"],
    )  # fmt: skip
    return store_from_frames(
        tmp_path_factory.mktemp("tiny") / "s.duckdb",
        products=products, offers=pd.DataFrame(rows), judgments=judgments,
    )  # fmt: skip


def test_levels_by_hand(tiny) -> None:  # noqa: ANN001
    df = levels(tiny, AnalysisSettings(min_offers=5)).to_pandas()
    got = {(r.query, r.product_id): r for r in df.itertuples()}
    assert set(got) == {("milk", "p1"), ("milk", "p2"), ("toy", "p4"), ("milk", "p3")}  # toy/p3: 4
    r = got[("milk", "p1")]
    assert (r.offers, r.purchases, r.engagements) == (10, 4, 6)
    assert r.purchase_level == pytest.approx(0.4) and r.engagement_level == pytest.approx(0.6)
    assert (r.purchase_level_low, r.purchase_level_high) == pytest.approx(
        proportion_confint(4, 10, method="wilson")
    )
    assert bool(r.relevant) is True
    assert bool(got[("toy", "p4")].relevant) is False
    assert pd.isna(got[("milk", "p3")].relevant)  # unjudged: null, not False
    assert len(levels(tiny, AnalysisSettings(min_offers=1)).to_pandas()) == 5


def test_overview_by_hand(tiny) -> None:  # noqa: ANN001
    ov = overview(tiny).model_dump()
    # relevant offers: milk/p1 (10) + toy/p3 (4) = 14, purchases 4 + 2 = 6, engagements 8;
    # irrelevant: milk/p2 (5) + toy/p4 (6) = 11, purchases 1, engagements 5. milk/p3 unjudged.
    pl, el = ov["purchase_level"], ov["engagement_level"]
    assert pl["relevant"]["value"] == pytest.approx(6 / 14) and pl["relevant"]["offers"] == 14
    assert pl["relevant"]["ci"] == pytest.approx([0.2138079890, 0.6740935542])
    assert pl["irrelevant"]["value"] == pytest.approx(1 / 11) and pl["irrelevant"]["offers"] == 11
    assert el["relevant"]["value"] == pytest.approx(8 / 14)
    assert el["irrelevant"]["value"] == pytest.approx(5 / 11)
    share = ov["irrelevant_share"]
    assert share["purchases"]["value"] == pytest.approx(1 / 7) and share["purchases"]["n"] == 7
    assert share["engagements"]["value"] == pytest.approx(5 / 13)
    assert share["purchases"]["ci"] == pytest.approx(
        list(proportion_confint(1, 7, method="wilson"))
    )
    assert set(ov) == {"purchase_level", "engagement_level", "irrelevant_share",
                       "annotator_agreement"}  # fmt: skip
    assert set(ov["annotator_agreement"]) >= {"alpha", "n_items", "n_annotators"}


def test_data_block(tiny) -> None:  # noqa: ANN001
    d = data_summary(tiny).model_dump()
    assert d == {
        "offers": 30, "offers_judged": 25, "queries": 2, "products": 4, "users": 4,
        "quarantined": {"products": 0, "offers": 0, "judgments": 0}, "warnings": [],
    }  # fmt: skip


def test_analyze_and_write_results(tiny, tmp_path: Path) -> None:  # noqa: ANN001
    res = analyze(tiny)
    assert res.overview is not None and res.overview.purchase_level is not None
    assert res.overview.purchase_level.irrelevant.offers == 11
    path = res.write(tmp_path / "out")
    import json

    loaded = json.loads(path.read_text())
    assert list(loaded)[:3] == ["contract_version", "data", "overview"]
    assert loaded["overview"]["purchase_level"]["irrelevant"]["offers"] == 11
    # NaN and numpy numbers becoming JSON: tests/results/test_results.py


def test_analyze_without_offers_skips_and_says_why(tmp_path: Path) -> None:
    products = pd.DataFrame({"product_id": ["p1"], "title": ["a"], "category": ["x"],
                             "price": [1.0]})  # fmt: skip
    judgments = pd.DataFrame({"query": ["q", "q"], "product_id": ["p1", "p1"],
                              "label": ["1", "0"], "annotator_id": ["a", "b"]})  # fmt: skip
    store = store_from_frames(tmp_path / "s.duckdb", products=products, judgments=judgments)
    res = analyze(store).to_dict()
    assert res["overview"]["purchase_level"] is None
    assert res["overview"]["annotator_agreement"]["n_items"] == 1
    assert res["data"]["offers"] == 0 and res["data"]["queries"] == 1
    assert any("no offers table" in w for w in res["data"]["warnings"])
    assert res["data"]["products"] == 1
