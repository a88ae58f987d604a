"""truth.json's per-pair labels: true relevance, majority label, and which labels are wrong."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from seemingly.simulate import simulate
from seemingly.simulate.judge import label_truth


def test_label_truth_by_hand() -> None:
    # pair 0: votes 1,0 (tie -> not relevant), truly relevant -> a slip
    # pair 1: votes 1,1,0 -> relevant, truly irrelevant -> wrong the other way
    # pair 2: one vote 0, truly irrelevant -> right
    qi = np.array([0, 0, 1, 1, 1, 2])
    pi = np.array([5, 5, 6, 6, 6, 5])
    label = np.array([1, 0, 1, 1, 0, 0])
    true = np.array([1, 1, 0, 0, 0, 0])
    t = label_truth(qi, pi, label, true)
    assert t["n"].tolist() == [2, 3, 1]
    assert t["votes"].tolist() == [1, 2, 0]
    assert t["majority"].tolist() == [0, 1, 0]
    assert t["true"].tolist() == [1, 0, 0]


def test_truth_json_labels_match_judgments(tmp_path) -> None:
    r = simulate(tmp_path / "w", "default", n_offers=3000, seed=3)
    lab = json.loads((tmp_path / "w" / "truth.json").read_text())["labels"]
    pairs = pd.DataFrame(lab["pairs"], columns=lab["columns"])
    j = pd.read_parquet(r.paths["judgments"])
    g = (j.assign(v=j["label"].astype(int)).groupby(["query", "product_id"])["v"]
         .agg(["size", "sum"]).reset_index())
    m = pairs.merge(g, on=["query", "product_id"], validate="one_to_one")
    assert len(m) == len(pairs) == len(g) == lab["n_pairs"]
    assert (m["n_judgments"] == m["size"]).all() and (m["n_relevant_votes"] == m["sum"]).all()
    assert ((2 * m["sum"] > m["size"]).astype(int) == m["majority_relevant"]).all()
    wrong = m["true_relevant"] != m["majority_relevant"]
    assert lab["n_wrong"] == int(wrong.sum()) > 0
    assert lab["slips"] + lab["false_relevant"] == lab["n_wrong"]


def test_perfect_labels_world_has_no_wrong_label(tmp_path) -> None:
    simulate(tmp_path / "p", "perfect_labels", n_offers=3000, seed=3)
    lab = json.loads((tmp_path / "p" / "truth.json").read_text())["labels"]
    assert lab["n_pairs"] > 0 and lab["n_wrong"] == 0
