"""What another fusion weight of the *served* model would have done, from the service's logs.

A service run with ``--explore`` logs every served ranking with each row's true propensity
(``seemingly logs collect`` turns the logs into offers). Each request is one round: the
product served first, the probability the logging policy had of serving it first (at
position 1 the logged propensity is the marginal one), and its outcome. A target weight
``w1`` of the same model is deterministic: re-ranking the request's own candidates for its
query and user gives its first product, so ``pi(a | x)`` is 1 for that product and 0 for
every other (``1/m`` each for ``m`` products whose fused scores tie at the top). IPS and
SNIPS (:mod:`seemingly.explain.offpolicy`) then estimate the purchase (engagement) level@1
serving ``w1`` would reach, with a query-bootstrap interval.

Unlike the trade-off's frontier, which re-fits models on the study's data, this replays the
model that served: it is the number to compare with serving ``w1`` to the same customers.

>>> rounds = logged_rounds(offers)  # doctest: +SKIP
>>> value = served_weight_value(rounds, Ranker.load("model"), 0.2)  # doctest: +SKIP
>>> value.estimates["snips"].value  # doctest: +SKIP
0.071
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from seemingly.errors import ContractError
from seemingly.explain.offpolicy import LoggedCells, OffPolicyValue, off_policy_value

if TYPE_CHECKING:
    from seemingly.ranking.models.ranker import Ranker

__all__ = ["logged_rounds", "served_weight_value", "target_picks"]

_COLUMNS = ("request_id", "user_id", "query", "product_id", "position", "propensity",
            "engaged", "purchased")


def logged_rounds(offers: pd.DataFrame) -> pd.DataFrame:
    """One row per logged request: request_id, user_id, query, candidates (the request's
    products, as served), first (the product at position 1), propensity (of ``first``),
    purchased and engaged (of ``first``).

    ``offers``: contract offers columns (a collected folder's offers, or the store's).
    """
    missing = [c for c in _COLUMNS if c not in offers]
    if missing:
        raise ContractError(f"offers lack column(s) {', '.join(missing)}; give the offers "
                            "`seemingly logs collect` wrote")
    o = offers.sort_values(["request_id", "position"], kind="stable")
    first = o[o["position"] == 1]
    if first["request_id"].duplicated().any():
        rid = first.loc[first["request_id"].duplicated(), "request_id"].iloc[0]
        raise ContractError(f"offers: request {rid!r} has two offers at position 1")
    bad = first["propensity"].isna() | ~first["propensity"].between(0, 1, inclusive="right")
    if bad.any():
        rid = first.loc[bad, "request_id"].iloc[0]
        raise ContractError(f"offers: request {rid!r} has position-1 propensity "
                            f"{first.loc[bad, 'propensity'].iloc[0]!r}; off-policy estimates "
                            "need the logging policy's propensity in (0, 1] (serve with "
                            "--explore)")
    cands = o.groupby("request_id", sort=False)["product_id"].agg(list).rename("candidates")
    out = first.set_index("request_id")[["user_id", "query", "product_id", "propensity",
                                         "purchased", "engaged"]].rename(
        columns={"product_id": "first"}).join(cands)
    return out.reset_index()


def target_picks(rounds: pd.DataFrame, ranker: Ranker, weight: float,
                 objective: Literal["purchase", "engagement"] = "purchase"
                 ) -> list[tuple[str, ...]]:
    """The products ``ranker`` puts first at ``weight`` for each round's query, user and
    candidates (the same call the service makes): one, or several when their fused scores
    tie (relevance alone ties often: equal relevance scores normalise alike).

    The service breaks a tie by the order the client sent the candidates in, which the log
    does not keep; the target is therefore the policy that breaks ties uniformly (what the
    service does for a client whose order says nothing about the products).
    """
    picks: list[tuple[str, ...]] = []
    # a customer asks the same query again and again (home queries): rank each (query,
    # user, candidate set) once
    seen: dict[tuple[str, str, tuple[str, ...]], tuple[str, ...]] = {}
    for q, u, c in zip(rounds["query"], rounds["user_id"], rounds["candidates"], strict=True):
        key = (q, u, tuple(sorted(c)))
        if key not in seen:
            ranked = ranker.rank(q, [{"product_id": p} for p in sorted(c)], weight=weight,
                                 objective=objective, user_id=u)
            f = np.asarray(ranked.fused_scores, dtype=float)
            seen[key] = tuple(p for p, x in zip(ranked.product_ids, f, strict=True)
                              if len(f) and x == f.max())
        picks.append(seen[key])
    return picks


def served_weight_value(rounds: pd.DataFrame, ranker: Ranker, weight: float, *,
                        objective: Literal["purchase", "engagement"] = "purchase",
                        outcome: Literal["purchase", "engagement"] = "purchase",
                        n_boot: int = 1000, seed: int = 7, confidence: float = 0.95
                        ) -> OffPolicyValue:
    """IPS and SNIPS of serving ``ranker`` at ``weight`` (its top pick; ties split evenly), from
    ``rounds`` (:func:`logged_rounds`) logged under another, stochastic policy."""
    if rounds.empty:
        raise ContractError("no logged requests to estimate from")
    picks = target_picks(rounds, ranker, weight, objective)
    codes, _ = pd.factorize(rounds["query"], sort=True)
    reward = rounds["purchased" if outcome == "purchase" else "engaged"].to_numpy(float)
    cells = LoggedCells.from_rounds(codes, reward, rounds["propensity"].to_numpy(float))
    target = np.array([1.0 / len(top) if first in top else 0.0
                       for top, first in zip(picks, rounds["first"], strict=True)])
    return off_policy_value(cells, target, n_boot=n_boot, seed=seed, confidence=confidence,
                            estimators=("ips", "snips"))
