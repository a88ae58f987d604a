"""Simulated customers for a running service: ``seemingly traffic``.

The world's users (the same catalogue, query pools and planted effects a simulated data set
was drawn from) send their queries to ``POST /v1/rank`` with the query's candidate pool
(in a random order), read the answer as the world's customers read a list, and answer through
``POST /v1/feedback`` with the world's true behaviour:

- which offers they examine: a voice world's customer hears the first result only; a ranked
  list world's customer examines position j with the world's position curve, or reads down
  the list until the first engagement (cascade);
- whether an examined offer is purchased or engaged: the simulator's own probability of the
  (query, product) cell for the user's history state (bought the product / the brand before,
  in this session), as :func:`seemingly.simulate.oracle.true_probabilities` gives them.

Traffic goes to loopback addresses only: the customers are simulated, and their feedback
would corrupt a real service's logs. It is bounded by a request count and a time limit.

>>> c = Customers.from_world("default", n_offers=20_000, world_seed=7)  # doctest: +SKIP
>>> report = send_traffic(c, "http://127.0.0.1:8000", requests=500, rate=100, seed=1,
...                       weight=0.5)  # doctest: +SKIP
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from seemingly.errors import ContractError
from seemingly.simulate.behaviour import _cell_probabilities, make_population
from seemingly.simulate.catalog import Catalog
from seemingly.simulate.config import WorldConfig, load_world
from seemingly.simulate.core import build_world
from seemingly.simulate.sampling import Sampler

__all__ = ["Customers", "TrafficReport", "check_loopback", "send_traffic"]


def check_loopback(url: str) -> tuple[str, int]:
    """(host, port) of an ``http://`` URL on a loopback address; a ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"--service {url!r}: give an http:// URL of a local service "
                         "(e.g. http://127.0.0.1:8000)")
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"--service {url!r}: simulated customers talk to loopback only "
                         "(127.0.0.1, ::1 or localhost); their feedback would pollute a real "
                         "service's logs")
    return host, parts.port or 80


@dataclass(frozen=True)
class Customers:
    """A world's customers: who asks what, what they are shown as candidates, and the true
    probabilities they buy and engage with."""

    world: WorldConfig
    product_ids: np.ndarray  # (N,) str
    brand: np.ndarray  # (N,) brand index, -1 unknown
    query_text: list[str]
    pool: list[np.ndarray]  # per query: product indices of its candidate pool
    slot: list[dict[int, int]]  # per query: product index -> slot in the pool
    p_buy: np.ndarray  # (Q, P, 4) by state 2 * bought product before + bought brand before
    p_eng: np.ndarray  # (Q, P, 4) engaged (purchase or an engagement draw)
    user_ids: np.ndarray
    activity: np.ndarray
    home: np.ndarray  # (U, H) the queries each user keeps asking
    query_weight: np.ndarray

    @classmethod
    def from_world(cls, world: WorldConfig | str = "default", *, n_offers: int,
                   world_seed: int, catalog_path: str | Path | None = None) -> Customers:
        """The customers of the world ``simulate(world, n_offers=..., seed=world_seed)`` drew
        its data from (the size and seed fix the query pools and the user count)."""
        cfg = load_world(world) if isinstance(world, str) else world
        if catalog_path is not None:
            cfg = cfg.model_copy(update={"catalog_path": str(catalog_path)})
        rng = np.random.default_rng([world_seed, 0])  # the simulator's stream: same world
        cat, real_orders, pools = build_world(cfg, n_offers, rng)
        if real_orders is not None:
            user_ids: np.ndarray | None = real_orders[0]
            n_users = len(real_orders[0])
        else:
            user_ids = None
            n_users = int(min(max(n_offers / cfg.users.offers_per_user, 20), cfg.users.max_users))
        # who is active and which queries they favour: a fresh draw of the same population
        # (ids as in the data, so the served model's history features know them)
        pop = make_population(cfg, pools, n_users, np.random.default_rng([world_seed, 17]),
                              user_ids=user_ids)
        q, width = pools.product.shape
        buy = _cell_probabilities(cfg.purchase, cfg.null_effects, cat, pools)
        draw = _cell_probabilities(cfg.engagement, cfg.null_effects, cat, pools)
        pool = [pools.product[i][pools.kind[i] >= 0] for i in range(q)]
        slot = [{int(p): s for s, p in enumerate(pools.product[i]) if pools.kind[i, s] >= 0}
                for i in range(q)]
        return cls(cfg, np.asarray(cat.product_ids, dtype=object), _brands(cat),
                   list(pools.text), pool, slot, buy.reshape(q, width, 4),
                   (buy + (1 - buy) * draw).reshape(q, width, 4), pop.user_ids,
                   pop.activity, pop.home, pools.weight)

    @classmethod
    def from_data(cls, data: str | Path) -> Customers:
        """The customers of a simulated data folder (its truth.json names world, size, seed)."""
        path = Path(data) / "truth.json"
        if not path.is_file():
            raise ContractError(f"{data}: no truth.json; pass a folder written by "
                                "`seemingly simulate`, or --world with --world-seed")
        truth = json.loads(path.read_text(encoding="utf-8"))
        cfg = WorldConfig.model_validate(truth["config"])
        return cls.from_world(cfg, n_offers=int(truth["n_offers"]),
                              world_seed=int(truth["seed"]))

    def examination(self) -> Literal["first", "position", "cascade"]:
        m = self.world.examination.model
        return "first" if m == "none" else m

    def position_curve(self, n: int) -> np.ndarray:
        """Examination probability of positions 1..n (0 beyond the world's curve)."""
        exam = self.world.examination
        if exam.curve is None:
            return np.asarray(exam.position_curve(n))
        c = np.zeros(n)
        m = min(n, len(exam.curve))
        c[:m] = exam.curve[:m]
        return c


def _brands(cat: Catalog) -> np.ndarray:
    return np.asarray(cat.brand, dtype=np.int64)


@dataclass
class TrafficReport:
    """What the customers did; ``served`` holds one row per answered request."""

    requests: int = 0  # requests answered with a ranking
    errors: int = 0  # rank requests answered otherwise (status code in error_codes)
    feedback_errors: int = 0  # feedback not accepted (a service without --log-dir: 404)
    error_codes: dict[int, int] = field(default_factory=dict)
    candidates_served: int = 0  # ranked items received (what the impression log must hold)
    feedback_sent: int = 0
    purchases: int = 0
    engagements: int = 0
    seconds: float = 0.0
    stopped_by: str = "requests"
    served: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def purchase_at_1(self) -> tuple[float, float, float]:
        """(realised purchase rate of position 1, its standard error, the true expected
        rate: the mean true purchase probability of the first results served)."""
        s = self.served
        if s.empty:
            return float("nan"), float("nan"), float("nan")
        r = s["purchased_at_1"].to_numpy(float)
        return float(r.mean()), float(r.std(ddof=1) / np.sqrt(len(r))) if len(r) > 1 else \
            float("nan"), float(s["p_purchase_at_1"].mean())

    def to_dict(self) -> dict[str, Any]:
        rate, se, expected = self.purchase_at_1()
        return {"requests": self.requests, "errors": self.errors,
                "feedback_errors": self.feedback_errors,
                "error_codes": {str(k): v for k, v in self.error_codes.items()},
                "candidates_served": self.candidates_served,
                "feedback_sent": self.feedback_sent, "purchases": self.purchases,
                "engagements": self.engagements, "seconds": round(self.seconds, 3),
                "stopped_by": self.stopped_by, "purchase_at_1": rate,
                "purchase_at_1_se": se, "expected_purchase_at_1": expected}


class _Client:
    """One keep-alive HTTP connection (the stdlib's; the base install has no HTTP client)."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        for attempt in (0, 1):
            try:
                self.conn.request("POST", path, body=data,
                                  headers={"Content-Type": "application/json"})
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # the server closed an idle keep-alive connection: reconnect once
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=self.timeout)
                if attempt:
                    raise
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, None

    def close(self) -> None:
        self.conn.close()


def send_traffic(customers: Customers, service: str, *, requests: int, seed: int,
                 weight: float, objective: Literal["purchase", "engagement"] = "purchase",
                 rate: float | None = None, max_seconds: float = 60.0,
                 timeout: float = 10.0) -> TrafficReport:
    """Send ``requests`` simulated requests (at most ``rate`` per second, for at most
    ``max_seconds``) and answer each ranking with the customers' true behaviour.

    Candidates go as product ids (the service fills them from its catalog snapshot). Every
    draw comes from ``seed``: the same seed sends the same users with the
    same queries, so two services (two weights) meet the same customers.
    """
    if requests < 1:
        raise ValueError(f"--requests must be >= 1, got {requests}")
    if rate is not None and rate <= 0:
        raise ValueError(f"--rate must be > 0 requests per second, got {rate}")
    if max_seconds <= 0:
        raise ValueError(f"--max-seconds must be > 0, got {max_seconds}")
    host, port = check_loopback(service)
    c = customers
    rng = np.random.default_rng([seed, 23])
    # every customer and query drawn up front: the same seed, the same customers, whatever
    # the services answer; outcome uniforms too (common random numbers across two services)
    users = Sampler(c.activity).draw(rng, requests)
    from_home = rng.random(requests) < c.world.users.home_share
    home = c.home[users, rng.integers(0, c.home.shape[1], requests)]
    queries = np.where(from_home, home, Sampler(c.query_weight).draw(rng, requests))
    width = max(len(p) for p in c.pool)
    u_out = rng.random((requests, width))  # purchase / engagement draw per position
    u_exam = rng.random((requests, width))  # examination (position) or continuation (cascade)
    # the candidates go in a random order: the pool's own order puts the relevant products
    # first, and a service breaks ties of its scores by the order it was sent
    u_order = rng.random((requests, width))
    bought: set[tuple[int, int]] = set()
    bought_brand: set[tuple[int, int]] = set()
    index = {str(p): i for i, p in enumerate(c.product_ids)}
    exam = c.examination()
    curve = c.position_curve(width) if exam == "position" else np.ones(width)
    client = _Client(host, port, timeout)
    report = TrafficReport()
    rows: list[dict[str, Any]] = []
    t0 = time.monotonic()
    try:
        for i in range(requests):
            if time.monotonic() - t0 >= max_seconds:
                report.stopped_by = "max_seconds"
                break
            if rate is not None:  # pace: request i leaves at t0 + i / rate at the earliest
                if i / rate >= max_seconds:
                    report.stopped_by = "max_seconds"
                    break
                wait = t0 + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            u, q = int(users[i]), int(queries[i])
            pool = c.pool[q][np.argsort(u_order[i, : len(c.pool[q])], kind="stable")]
            cands = [str(c.product_ids[p]) for p in pool]
            body = {"request_id": f"t{seed}-{i:07d}", "query": c.query_text[q],
                    "user_id": str(c.user_ids[u]), "candidates": cands, "weight": weight,
                    "objective": objective}
            status, answer = client.post("/v1/rank", body)
            if status != 200 or not isinstance(answer, dict):
                report.errors += 1
                report.error_codes[status] = report.error_codes.get(status, 0) + 1
                continue
            ranked = [index[r["product_id"]] for r in answer["results"]]
            request_id = answer.get("request_id", body["request_id"])
            report.requests += 1
            report.candidates_served += len(ranked)
            first_p = np.nan
            first_bought = False
            for j, p in enumerate(ranked):
                if exam == "first" and j > 0:
                    break
                b = int(c.brand[p])
                state = 2 * ((u, p) in bought) + (b >= 0 and (u, b) in bought_brand)
                s = c.slot[q][p]
                pb, pe = c.p_buy[q, s, state], c.p_eng[q, s, state]
                if j == 0:  # the true expected purchase of the first result
                    first_p = float(curve[0] * pb)
                if exam == "position" and u_exam[i, j] >= curve[j]:
                    continue
                # one uniform for both: purchased implies engaged (pe >= pb)
                purchased, engaged = bool(u_out[i, j] < pb), bool(u_out[i, j] < pe)
                if j == 0:
                    first_bought = purchased
                if engaged:
                    status, _ = client.post("/v1/feedback", {
                        "request_id": request_id, "product_id": str(c.product_ids[p]),
                        "engaged": engaged, "purchased": purchased})
                    if status in (200, 202):
                        report.feedback_sent += 1
                    else:
                        report.error_codes[status] = report.error_codes.get(status, 0) + 1
                        report.feedback_errors += 1
                    report.engagements += 1
                    report.purchases += purchased
                    if purchased:
                        bought.add((u, p))
                        if b >= 0:
                            bought_brand.add((u, b))
                if exam == "cascade" and (engaged or
                                          u_exam[i, j] >= c.world.examination.continue_prob):
                    break
            rows.append({"request_id": request_id, "user_id": str(c.user_ids[u]),
                         "query": c.query_text[q], "first": str(c.product_ids[ranked[0]])
                         if ranked else None, "n_served": len(ranked),
                         "purchased_at_1": first_bought, "p_purchase_at_1": first_p})
    finally:
        client.close()
        report.seconds = time.monotonic() - t0
        report.served = pd.DataFrame(rows)
    return report
