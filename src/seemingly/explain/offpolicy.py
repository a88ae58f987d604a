"""Off-policy values: what a target ranker's purchase (engagement) level@1 would have been,
estimated from logs of another, stochastic ranker whose propensities were logged.

The unit is a request's position-1 offer (a "round"): the logged product ``a_i`` was put first
with probability ``p_i`` by the logging policy (its logged ``propensity``: at position 1 the
Plackett-Luce conditional probability is the marginal one), and ``r_i`` is its outcome. A
target ranker puts product ``a`` first for query ``x`` with probability ``pi(a | x)`` (1 for
its top pick when it is deterministic). With ``w_i = pi(a_i | x_i) / p_i``:

- IPS (inverse propensity scoring): ``sum_i w_i r_i / n``;
- SNIPS (self-normalised IPS): ``sum_i w_i r_i / sum_i w_i``;
- DR (doubly robust): ``sum_i [dm(x_i) + w_i (r_i - q(x_i, a_i))] / n``, where ``q`` is the
  outcome model's predicted level and ``dm(x) = sum_a pi(a | x) q(x, a)`` the direct method.

These are the estimators of Open Bandit Pipeline's ``InverseProbabilityWeighting``,
``SelfNormalizedInverseProbabilityWeighting`` and ``DoublyRobust`` with one slot
(``len_list=1``); ``tests/explain/test_offpolicy.py`` checks them against obp's numbers. The
effective sample size is Kish's ``(sum w)^2 / sum w^2``: how many on-policy rounds the
weighted rounds are worth. Intervals are percentile bootstraps over queries (a query's
requests share its candidates and the target's pick, so they are resampled together).

Every sum is additive over rounds, so the estimators work on *cells*: rounds summed per
(query, logged product) in the engine (:func:`position_one_cells`), never offer by offer.
A cell of one round is a round, which is how the per-round arrays of a test or of obp
enter (:meth:`LoggedCells.from_rounds`).

>>> cells = LoggedCells.from_rounds(query=np.array([0, 0, 1]), reward=np.array([1., 0., 1.]),
...                                 propensity=np.array([0.5, 0.25, 0.5]))
>>> est = off_policy_value(cells, target=np.array([1.0, 0.0, 1.0]), n_boot=0,
...                        estimators=("ips", "snips"))
>>> round(est.estimates["ips"].value, 4), round(est.estimates["snips"].value, 4)
(1.3333, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from seemingly.results.offpolicy import OffPolicyEstimate

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["ESTIMATORS", "Estimate", "LoggedCells", "OffPolicyValue", "off_policy_value",
           "off_policy_values", "position_one_cells", "has_ranked_logs", "cells_for"]

Estimator = Literal["ips", "snips", "dr"]
#: estimator name -> what the report calls it
ESTIMATORS: dict[str, str] = {"ips": "inverse propensity scoring (IPS)",
                              "snips": "self-normalised IPS (SNIPS)",
                              "dr": "doubly robust (DR)"}
_BOOT_CHUNK = 200  # bootstrap draws per (draws x queries) count matrix


@dataclass(frozen=True)
class LoggedCells:
    """Position-1 rounds summed per cell (a cell: rounds of one query that share a logged
    product; cells may repeat, sums are additive).

    query : int code in [0, n_queries) of each cell's query.
    rounds : rounds in the cell.
    reward_ip : sum of reward / propensity.
    inv_p : sum of 1 / propensity.
    inv_p2 : sum of 1 / propensity^2.
    """

    query: np.ndarray
    rounds: np.ndarray
    reward_ip: np.ndarray
    inv_p: np.ndarray
    inv_p2: np.ndarray
    n_queries: int

    def __post_init__(self) -> None:
        n = len(self.query)
        for name in ("rounds", "reward_ip", "inv_p", "inv_p2"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"LoggedCells.{name} has {len(getattr(self, name))} cells; "
                                 f"query has {n}: one value per cell")
        if n and (self.query.min() < 0 or self.query.max() >= self.n_queries):
            raise ValueError(f"LoggedCells.query codes must be in [0, {self.n_queries})")

    @classmethod
    def from_rounds(cls, query: np.ndarray, reward: np.ndarray, propensity: np.ndarray,
                    n_queries: int | None = None) -> LoggedCells:
        """One cell per round: ``query`` int codes, ``reward`` (0/1 or a level) and the
        logging policy's ``propensity`` of the logged product."""
        q = np.asarray(query, dtype=np.int64)
        r = np.asarray(reward, dtype=float)
        p = np.asarray(propensity, dtype=float)
        if not (len(q) == len(r) == len(p)):
            raise ValueError(f"query, reward and propensity differ in length: {len(q)}, "
                             f"{len(r)}, {len(p)}")
        _check_propensity(p, "propensity")
        return cls(q, np.ones(len(q)), r / p, 1.0 / p, 1.0 / p**2,
                   int(q.max()) + 1 if n_queries is None and len(q) else int(n_queries or 0))

    @property
    def requests_per_query(self) -> np.ndarray:
        return np.bincount(self.query, weights=self.rounds, minlength=self.n_queries)


def _check_propensity(p: np.ndarray, where: str) -> None:
    bad = ~((p > 0) & (p <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{where}: row {i} has propensity {float(p[i])!r}; a logged "
                         "propensity must be in (0, 1] (off-policy estimates need every logged "
                         "product's probability under the logging policy)")


@dataclass(frozen=True)
class Estimate:
    """One estimator's value of one target ranker, its query-bootstrap interval and the
    effective sample size of the importance weights."""

    estimator: str
    value: float
    ci: tuple[float, float]
    ess: float
    n_rounds: int
    n_queries: int

    def to_block(self) -> OffPolicyEstimate:
        """The typed ``{value, ci, ess}`` of results.json."""
        return OffPolicyEstimate(value=self.value, ci=self.ci, ess=self.ess)

    def covers(self, truth: float) -> bool:
        lo, hi = self.ci
        return bool(lo <= truth <= hi)


@dataclass(frozen=True)
class OffPolicyValue:
    """Every requested estimator's :class:`Estimate` of one target ranker."""

    estimates: dict[str, Estimate]

    def to_block(self) -> dict[str, OffPolicyEstimate]:
        return {k: e.to_block() for k, e in self.estimates.items()}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"estimator": e.estimator, "value": e.value, "ci_low": e.ci[0],
                              "ci_high": e.ci[1], "ess": e.ess, "n_rounds": e.n_rounds}
                             for e in self.estimates.values()])


def _per_query(cells: LoggedCells, target: np.ndarray, reward_hat: np.ndarray | None,
               dm: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per-query sums every estimator and its bootstrap need, shaped (Q, R) for R targets
    (``n``: (Q, 1), the same for every target)."""
    q, nq = cells.query, cells.n_queries

    def by_query(x: np.ndarray) -> np.ndarray:
        return np.column_stack([np.bincount(q, weights=x[:, r], minlength=nq)
                                for r in range(x.shape[1])])

    n = cells.requests_per_query[:, None]
    out = {"n": n, "wr": by_query(target * cells.reward_ip[:, None]),
           "w": by_query(target * cells.inv_p[:, None]),
           "w2": by_query(target**2 * cells.inv_p2[:, None])}
    if reward_hat is not None and dm is not None:
        # dm(x) for every round of x, plus the weighted residual of the logged product
        resid = target * (cells.reward_ip - reward_hat * cells.inv_p)[:, None]
        out["dr"] = n * dm + by_query(resid)
    return out


def _values(s: dict[str, np.ndarray], counts: np.ndarray) -> dict[str, np.ndarray]:
    """Each estimator's value, (B, R), for every row of ``counts`` (query multiplicities,
    (B, Q))."""
    tot = {k: counts @ v for k, v in s.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"ips": tot["wr"] / tot["n"], "snips": tot["wr"] / tot["w"]}
        if "dr" in tot:
            out["dr"] = tot["dr"] / tot["n"]
    return out


def _query_draws(rng: np.random.Generator, nq: int, b: int) -> np.ndarray:
    """(b, nq) multiplicities of ``b`` bootstrap resamples of ``nq`` queries."""
    rows = np.repeat(np.arange(b) * nq, nq)
    flat = np.bincount(rows + rng.integers(0, nq, b * nq), minlength=b * nq)
    return flat.reshape(b, nq).astype(float)


def off_policy_values(cells: LoggedCells, targets: np.ndarray, names: list[str], *,
                      reward_hat: np.ndarray | None = None, dm: np.ndarray | None = None,
                      estimators: tuple[str, ...] = ("ips", "snips", "dr"),
                      n_boot: int = 1000, seed: int = 7, confidence: float = 0.95
                      ) -> dict[str, OffPolicyValue]:
    """IPS, SNIPS and DR values of several target rankers on the same logs, with one shared
    (paired) query bootstrap: ``targets`` (cells, R) and ``dm`` (queries, R) hold one column
    per ranker of ``names``; see :func:`off_policy_value` for the rest."""
    unknown = sorted(set(estimators) - set(ESTIMATORS))
    if unknown:
        raise ValueError(f"unknown off-policy estimators {unknown}; use {sorted(ESTIMATORS)}")
    t = np.asarray(targets, dtype=float).reshape(len(cells.query), -1)
    if t.shape[1] != len(names):
        raise ValueError(f"targets has {t.shape[1]} columns for {len(names)} rankers")
    if ((t < 0) | (t > 1) | ~np.isfinite(t)).any():
        raise ValueError("target probabilities must be in [0, 1]")
    hat = d = None
    if "dr" in estimators:
        if reward_hat is None or dm is None:
            raise ValueError("the doubly robust estimator needs reward_hat (per cell) and dm "
                             "(per query) from the outcome model")
        hat = np.asarray(reward_hat, dtype=float)
        d = np.asarray(dm, dtype=float).reshape(cells.n_queries, -1) if np.size(dm) == (
            cells.n_queries * len(names)) else None
        if d is None or len(hat) != len(cells.query):
            raise ValueError(f"reward_hat needs one value per cell ({len(cells.query)}) and dm "
                             f"one per query and ranker ({cells.n_queries} x {len(names)})")
    s = _per_query(cells, t, hat, d)
    point = _values(s, np.ones((1, cells.n_queries)))
    w, w2 = s["w"].sum(axis=0), s["w2"].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ess = np.where(w2 > 0, w * w / w2, 0.0)
    boots: dict[str, list[np.ndarray]] = {k: [] for k in estimators}
    rng = np.random.default_rng(seed)
    nq = cells.n_queries
    for start in range(0, n_boot if nq else 0, _BOOT_CHUNK):
        vals = _values(s, _query_draws(rng, nq, min(_BOOT_CHUNK, n_boot - start)))
        for k in estimators:
            boots[k].append(vals[k])
    a = (1 - confidence) / 2
    n_rounds = int(cells.rounds.sum())
    active = int((s["n"] > 0).sum())
    draws = {k: np.concatenate(boots[k]) if boots[k] else np.zeros((0, len(names)))
             for k in estimators}
    out = {}
    for r, name in enumerate(names):
        est = {}
        for k in estimators:
            col = draws[k][:, r]
            col = col[np.isfinite(col)]
            ci = ((float(np.quantile(col, a)), float(np.quantile(col, 1 - a))) if len(col)
                  else (float("nan"), float("nan")))
            est[k] = Estimate(k, float(point[k][0, r]), ci, float(ess[r]), n_rounds, active)
        out[name] = OffPolicyValue(est)
    return out


def off_policy_value(cells: LoggedCells, target: np.ndarray, *,
                     reward_hat: np.ndarray | None = None, dm: np.ndarray | None = None,
                     estimators: tuple[str, ...] = ("ips", "snips", "dr"),
                     n_boot: int = 1000, seed: int = 7, confidence: float = 0.95
                     ) -> OffPolicyValue:
    """IPS, SNIPS and DR values of a target ranker from position-1 cells.

    Parameters
    ----------
    cells : the logged rounds, summed per cell.
    target : per cell, the target's probability ``pi(a | x)`` of putting the cell's logged
        product first (0 when it never would).
    reward_hat : per cell, the outcome model's level ``q(x, a)`` of the logged product
        (DR only; only cells with ``target > 0`` enter).
    dm : per query (shape (n_queries,)), the direct method ``sum_a pi(a | x) q(x, a)`` over the
        target's products (DR only).
    n_boot : query-bootstrap draws (0: no interval, ci is NaN).

    Returns
    -------
    OffPolicyValue, one :class:`Estimate` per estimator, in the order asked.
    """
    t = np.asarray(target, dtype=float)
    if t.ndim != 1 or len(t) != len(cells.query):
        raise ValueError(f"target has shape {t.shape}; one value per cell "
                         f"({len(cells.query)}) is needed")
    return off_policy_values(cells, t[:, None], ["target"], reward_hat=reward_hat, dm=dm,
                             estimators=estimators, n_boot=n_boot, seed=seed,
                             confidence=confidence)["target"]


# --- from a store ----------------------------------------------------------------------------

def has_ranked_logs(store: StoreLike) -> bool:
    """True when the offers are ranked lists with logged propensities: some offer sits below
    position 1 and every position-1 offer has a propensity in (0, 1]. Voice logs (every offer
    at position 1) answer False, so their results stay as they were."""
    if not store.has("offers"):
        return False
    o = store.table("offers")
    row = o.aggregate(
        max_pos=o.position.max(),
        bad=((o.position == 1) & (o.propensity.isnull() | (o.propensity <= 0)
                                  | (o.propensity > 1))).cast("int64").sum(),
        first=(o.position == 1).cast("int64").sum()).to_pandas().iloc[0]
    return bool(pd.notna(row["max_pos"]) and row["max_pos"] > 1 and row["first"] > 0
                and row["bad"] == 0)


def position_one_cells(store: StoreLike, *, since: object = None) -> pd.DataFrame:
    """Position-1 offers summed per (query, product_id) in the engine: rounds, and per outcome
    ``<outcome>_ip`` = sum(outcome / propensity); ``inv_p``, ``inv_p2``. ``since``: only offers
    at or after this timestamp (the models' label window)."""
    o = store.table("offers")
    o = o.filter(o.position == 1)
    if since is not None:
        o = o.filter(o.timestamp >= since)
    inv = 1.0 / o.propensity
    agg = o.group_by(["query", "product_id"]).aggregate(
        rounds=o.count(),
        purchase_ip=(o.purchased.cast("float64") * inv).sum(),
        engagement_ip=(o.engaged.cast("float64") * inv).sum(),
        inv_p=inv.sum(), inv_p2=(inv * inv).sum())
    # sorted, so the float sums below run in the same order every time
    return agg.to_pandas().sort_values(["query", "product_id"]).reset_index(drop=True)


def cells_for(frame: pd.DataFrame, queries: pd.Index, outcome: str) -> LoggedCells:
    """The :class:`LoggedCells` of ``frame`` (from :func:`position_one_cells`) restricted to
    ``queries``, coded in their order; ``outcome`` is "purchase" or "engagement"."""
    f = frame[frame["query"].isin(queries)]
    return LoggedCells(queries.get_indexer(pd.Index(f["query"])).astype(np.int64),
                       f["rounds"].to_numpy(float), f[f"{outcome}_ip"].to_numpy(float),
                       f["inv_p"].to_numpy(float), f["inv_p2"].to_numpy(float), len(queries))
