"""labels: scale detection, thresholds, majority with ties, and Krippendorff's alpha."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
import pytest

from seemingly.config import AnalysisSettings, LabelSettings
from seemingly.errors import ContractError
from seemingly.explain.labels import agreement, detect_scale, relevance
from seemingly.store import Store, store_from_frames

PRODUCTS = pd.DataFrame(
    {"product_id": [f"p{i}" for i in range(12)], "title": "t", "category": "c", "price": 1.0}
)


def _store(tmp_path: Path, rows: Sequence[tuple[Any, ...]]) -> Store:
    j = pd.DataFrame(rows, columns=["query", "product_id", "label", "annotator_id"])
    return store_from_frames(tmp_path / "s.duckdb", products=PRODUCTS, judgments=j)


def _rel(store, settings=None) -> dict[tuple[str, str], tuple[bool, int, float]]:  # noqa: ANN001
    df = relevance(store, settings).to_pandas()
    return {
        (r.query, r.product_id): (bool(r.relevant), int(r.n_judgments), float(r.relevant_share))
        for r in df.itertuples()
    }


@pytest.mark.parametrize(
    ("labels", "scale"),
    [
        (["E", "S", "C", "I"], "esci"),
        (["e", "I"], "esci"),
        (["true", "false"], "boolean"),
        (["True", "0"], "boolean"),
        (["0", "1"], "numeric"),
        (["0", "1.5", "3"], "numeric"),
    ],
)
def test_detect_scale(labels: list[str], scale: str) -> None:
    assert detect_scale(labels) == scale


def test_mixed_scales_are_a_contract_error() -> None:
    with pytest.raises(ContractError, match="mixes scales.*'maybe'"):
        detect_scale(["1", "E", "maybe"])


def test_boolean_labels(tmp_path: Path) -> None:
    s = _store(tmp_path, [("milk", "p1", True, "a"), ("milk", "p2", False, "a")])
    assert _rel(s) == {("milk", "p1"): (True, 1, 1.0), ("milk", "p2"): (False, 1, 0.0)}


def test_numeric_grades_threshold(tmp_path: Path) -> None:
    rows = [("q", f"p{g}", str(g), "a") for g in range(4)]  # grades 0..3
    s = _store(tmp_path, rows)
    default = _rel(s)  # relevant_at 1 on a 0/1 scale: 1, 2, 3 are relevant
    assert [default[("q", f"p{g}")][0] for g in range(4)] == [False, True, True, True]
    at2 = _rel(s, LabelSettings(relevant_at=2))
    assert [at2[("q", f"p{g}")][0] for g in range(4)] == [False, False, True, True]
    # AnalysisSettings works too (its .labels are used).
    via = _rel(s, AnalysisSettings(labels=LabelSettings(relevant_at=3)))
    assert [via[("q", f"p{g}")][0] for g in range(4)] == [False, False, False, True]


def test_esci_letters_configurable(tmp_path: Path) -> None:
    rows = [("q", f"p{i}", letter, None) for i, letter in enumerate("ESCI")]
    s = _store(tmp_path, rows)
    assert [v[0] for _, v in sorted(_rel(s).items())] == [True, False, False, False]
    es = _rel(s, LabelSettings(esci_relevant=("E", "S")))
    assert [v[0] for _, v in sorted(es.items())] == [True, True, False, False]


def test_majority_and_tie_rule(tmp_path: Path) -> None:
    rows = [
        ("q", "p1", "1", "a"), ("q", "p1", "1", "b"), ("q", "p1", "0", "c"),  # 2 of 3
        ("q", "p2", "1", "a"), ("q", "p2", "0", "b"),  # tie
        ("q", "p3", "0", "a"), ("q", "p3", "0", "b"), ("q", "p3", "1", "c"),  # 1 of 3
    ]  # fmt: skip
    s = _store(tmp_path, rows)
    r = _rel(s)
    assert r[("q", "p1")] == (True, 3, pytest.approx(2 / 3))
    assert r[("q", "p2")] == (False, 2, 0.5)
    assert r[("q", "p3")] == (False, 3, pytest.approx(1 / 3))
    assert _rel(s, LabelSettings(tie="relevant"))[("q", "p2")][0] is True


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", binary data, two
# observers, ten units: alpha = 0.095. By hand: coincidences o00=10, o01=o10=4, o11=2, n=20,
# n0=14, n1=6, alpha = 1 - (n - 1) * o01 / (n0 * n1) = 1 - 19 * 4 / 84 = 0.0952.
CODER_A = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
CODER_B = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]


def test_agreement_textbook_example(tmp_path: Path) -> None:
    rows = [("q", f"p{i}", str(a), "A") for i, a in enumerate(CODER_A)]
    rows += [("q", f"p{i}", str(b), "B") for i, b in enumerate(CODER_B)]
    rows.append(("q", "p11", "1", "A"))  # judged once: not pairable, not an item
    a = agreement(_store(tmp_path, rows))
    assert a.alpha == pytest.approx(1 - 19 * 4 / 84, abs=1e-9)
    assert a.alpha is not None and round(a.alpha, 3) == 0.095
    assert (a.n_items, a.n_annotators, a.n_judgments) == (10, 2, 20)
    reference = krippendorff.alpha(
        reliability_data=np.array([CODER_A, CODER_B], dtype=float),
        level_of_measurement="nominal",
    )
    assert a.alpha == pytest.approx(reference)
    assert a.model_dump()["alpha"] == a.alpha and a.reason is None


def test_agreement_with_missing_values_matches_package(tmp_path: Path) -> None:
    # Three coders, some items judged by two only: the package on the reliability matrix with
    # NaN for missing must agree with ours on per-item counts.
    rng = np.random.default_rng(3)
    m = rng.integers(0, 2, size=(3, 12)).astype(float)
    m[0, [1, 4]] = np.nan
    m[2, [7]] = np.nan
    rows = [
        ("q", f"p{i}", str(int(m[c, i])), f"c{c}")
        for c in range(3)
        for i in range(12)
        if not np.isnan(m[c, i])
    ]
    a = agreement(_store(tmp_path, rows))
    ref = krippendorff.alpha(reliability_data=m, level_of_measurement="nominal")
    assert a.alpha == pytest.approx(ref)


def test_agreement_not_computable(tmp_path: Path) -> None:
    single = agreement(_store(tmp_path, [("q", "p1", "1", "a"), ("q", "p2", "0", "a")]))
    assert single.alpha is None and "two or more" in (single.reason or "")
    same = agreement(
        store_from_frames(
            tmp_path / "t.duckdb",
            products=PRODUCTS,
            judgments=pd.DataFrame({"query": "q", "product_id": ["p1", "p1"], "label": ["1", "1"]}),
        )
    )
    assert same.alpha is None and "same value" in (same.reason or "")
    assert same.n_items == 1 and same.n_annotators == 0
    no_judgments = store_from_frames(tmp_path / "u.duckdb", products=PRODUCTS)
    assert agreement(no_judgments).reason == "no judgments table"
