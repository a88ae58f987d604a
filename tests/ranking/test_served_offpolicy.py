"""Off-policy value of a served model's other weight from collected logs, by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

from seemingly.errors import ContractError
from seemingly.ranking.tradeoff.served import logged_rounds, served_weight_value


@dataclass
class _Ranked:
    product_ids: tuple[str, ...]
    fused_scores: tuple[float, ...]


class FakeRanker:
    """Puts 'b' first at weight 1 and 'a' otherwise (whatever the served order); records its
    calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def rank(self, query: str, candidates: list[dict[str, str]], *, weight: float,
             objective: str, user_id: str | None) -> _Ranked:
        ids = [c["product_id"] for c in candidates]
        self.calls.append((query, tuple(ids), weight, objective, user_id))
        if weight == 0.5:  # a tie at the top: a and b alike
            return _Ranked(tuple(ids), (1.0,) * len(ids))
        first = "b" if weight == 1.0 else "a"
        rest = [p for p in ids if p != first]
        return _Ranked((first, *rest), (1.0,) + (0.0,) * len(rest))


def _offers() -> pd.DataFrame:
    # r1, r2: query x, served a first (p 0.5), then b; r3: query y, served b first (p 0.25);
    # r4: query y, served a first (p 0.8)
    rows = [("r1", "u1", "x", "a", 1, 0.5, True), ("r1", "u1", "x", "b", 2, 1.0, False),
            ("r2", "u2", "x", "b", 1, 0.5, False), ("r2", "u2", "x", "a", 2, 1.0, False),
            ("r3", "u1", "y", "b", 1, 0.25, True), ("r3", "u1", "y", "a", 2, 1.0, False),
            ("r4", "u3", "y", "a", 1, 0.8, False), ("r4", "u3", "y", "b", 2, 1.0, False)]
    df = pd.DataFrame(rows, columns=["request_id", "user_id", "query", "product_id", "position",
                                     "propensity", "purchased"])
    return df.assign(engaged=df["purchased"])


def test_logged_rounds_one_per_request() -> None:
    r = logged_rounds(_offers().sample(frac=1.0, random_state=3))  # order does not matter
    r = r.set_index("request_id").sort_index()
    assert r["first"].tolist() == ["a", "b", "b", "a"]
    assert r["propensity"].tolist() == [0.5, 0.5, 0.25, 0.8]
    assert r.loc["r1", "candidates"] == ["a", "b"] and r.loc["r2", "candidates"] == ["b", "a"]


def test_ips_and_snips_by_hand() -> None:
    ranker = FakeRanker()
    rounds = logged_rounds(_offers())
    # weight 1 puts b first: matches r2 (b, p .5, reward 0) and r3 (b, p .25, reward 1)
    # IPS = (0/.5 + 1/.25) / 4 = 1.0; SNIPS = 4 / (1/.5 + 1/.25) = 4 / 6
    v = served_weight_value(rounds, ranker, 1.0, n_boot=200, seed=1)  # type: ignore[arg-type]
    assert v.estimates["ips"].value == pytest.approx(1.0)
    assert v.estimates["snips"].value == pytest.approx(4 / 6)
    lo, hi = v.estimates["snips"].ci
    assert 0 <= lo <= hi <= 1
    # the ranker saw each request's own query, user and candidates, top 1, purchase model
    assert ranker.calls[0] == ("x", ("a", "b"), 1.0, "purchase", "u1")
    assert len(ranker.calls) == 4  # r1 and r2 share query x but not the user
    # weight 0 puts a first: matches r1 (p .5, reward 1) and r4 (p .8, reward 0)
    # IPS = (1/.5 + 0/.8) / 4 = 0.5; SNIPS = 2 / (2 + 1.25)
    v0 = served_weight_value(rounds, FakeRanker(), 0.0, n_boot=0)  # type: ignore[arg-type]
    assert v0.estimates["ips"].value == pytest.approx(0.5)
    assert v0.estimates["snips"].value == pytest.approx(2 / 3.25)
    # a tie at the top: the target breaks it evenly, pi = 1/2 for every logged first
    # IPS = .5 * (1/.5 + 0 + 1/.25 + 0) / 4 = .75; SNIPS = 6 / (2 + 2 + 4 + 1.25)
    vt = served_weight_value(rounds, FakeRanker(), 0.5, n_boot=0)  # type: ignore[arg-type]
    assert vt.estimates["ips"].value == pytest.approx(0.75)
    assert vt.estimates["snips"].value == pytest.approx(6 / 9.25)


def test_missing_propensity_is_refused() -> None:
    o = _offers()
    o.loc[4, "propensity"] = None
    with pytest.raises(ContractError, match=r"request 'r3' has position-1 propensity .*--explore"):
        logged_rounds(o)
    with pytest.raises(ContractError, match="lack column"):
        logged_rounds(o.drop(columns=["position"]))
