"""``simulate()``: build a world, write its contract tables and ``truth.json``."""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from seemingly.errors import SeedRequiredError
from seemingly.outputs import output_dir
from seemingly.simulate.behaviour import (
    OfferState,
    history_orders,
    make_population,
    offer_chunk,
    offer_model,
)
from seemingly.simulate.catalog import Catalog, build_synthetic_catalog
from seemingly.simulate.config import WorldConfig, load_world
from seemingly.simulate.judge import judge, label_truth
from seemingly.simulate.queries import KINDS, Pools, build_pools
from seemingly.simulate.sampling import KeySet
from seemingly.simulate.truth import OfferStats, label_rows, truth_dict
from seemingly.simulate.write import PartWriter, ids, take, timestamps, write_table

__all__ = ["SimulationResult", "simulate"]

_DAY_US = 86_400_000_000


@dataclass(frozen=True)
class SimulationResult:
    """What ``simulate`` wrote: table paths, row counts, the truth and the time it took."""

    out_dir: Path
    paths: dict[str, Path]
    counts: dict[str, int]
    truth: dict[str, Any] = field(repr=False)
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "paths": {k: str(v) for k, v in self.paths.items()},
            "counts": dict(self.counts),
            "seconds": self.seconds,
            "truth": self.truth,
        }


def _us(day: datetime) -> int:
    return int((day - datetime(1970, 1, 1)).total_seconds() * 1_000_000)


def _catalog_table(cat: Catalog) -> pa.Table:
    brands = np.array(cat.brand_names + [None], dtype=object)
    return pa.table(
        {
            "product_id": pa.array(cat.product_ids, pa.string()),
            "title": pa.array(cat.titles, pa.string()),
            "category": pa.array(
                np.array(cat.category_names, dtype=object)[cat.category], pa.string()
            ),
            "price": pa.array(cat.price, pa.float64()),
            "brand": pa.array(brands[cat.brand], pa.string()),
            "product_type": pa.array(
                np.array(cat.type_names, dtype=object)[cat.product_type], pa.string()
            ),
        }
    )


def build_world(cfg: WorldConfig, n_offers: int, rng: np.random.Generator
                ) -> tuple[Catalog, tuple[np.ndarray, ...] | None, Pools]:
    """The catalogue, real order history (retail world only) and query pools of a world:
    the first random draws of :func:`simulate`, shared with the oracle that replays them."""
    real_orders = None
    if cfg.kind == "retail":
        from seemingly.simulate.retail import load_retail_catalog

        if cfg.catalog_path is None:
            raise ValueError(
                "the retail world needs a catalog: pass --catalog PATH "
                "(a contract folder with products and optional orders)"
            )
        cat, real_orders = load_retail_catalog(Path(cfg.catalog_path), cfg, rng)
    else:
        cat = build_synthetic_catalog(cfg, rng)
    q = cfg.queries
    n_queries = int(min(max(n_offers // q.offers_per_query, q.min_queries), q.max_queries))
    return cat, real_orders, build_pools(cfg, cat, n_queries, rng)


_OWN_NAMES = ("products.parquet", "judgments.parquet", "offers", "orders", "truth.json")


def simulate(
    out_dir: str | Path,
    world: WorldConfig | str = "default",
    *,
    n_offers: int = 200_000,
    seed: int | None,
    catalog_path: str | Path | None = None,
    latent_dir: str | Path | None = None,
) -> SimulationResult:
    """Simulate a voice-shopping marketplace and write its contract tables to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write ``products.parquet``, ``judgments.parquet``, ``offers/part-*.parquet``,
        ``orders/part-*.parquet`` and ``truth.json`` into (created if needed).
    world
        A ``WorldConfig`` or a name in ``WORLDS`` / path of a TOML or YAML world file.
    n_offers
        Number of offer rows.
    seed
        Required; the same seed, world and size give identical tables.
    catalog_path
        Contract folder with ``products`` (+ optional ``orders``) for the ``retail`` world.
    latent_dir
        If given, also write the planted latent factors per offer there (for tests and
        checks; never inside ``out_dir``, which must hold only contract tables).

    Examples
    --------
    >>> r = simulate("/tmp/sim-doc", "default", n_offers=2000, seed=7)  # doctest: +SKIP
    >>> r.counts["offers"]  # doctest: +SKIP
    2000
    """
    if seed is None:
        raise SeedRequiredError(
            "simulate() needs an explicit seed so its tables can be reproduced; "
            "pass seed=7 (or any integer), or --seed on the command line"
        )
    if n_offers < 1:
        raise ValueError(f"n_offers must be >= 1, got {n_offers}")
    cfg = load_world(world) if isinstance(world, str) else world
    if catalog_path is not None:
        cfg = cfg.model_copy(update={"catalog_path": str(catalog_path)})
    t0 = time.perf_counter()
    target = Path(out_dir)
    # Written beside the target and swapped in whole: a killed run leaves no half world, and
    # the marker records each file's size so a truncated copy does not validate clean.
    with output_dir(target, writer="simulate", inputs=(catalog_path, latent_dir),
                    own_names=_OWN_NAMES, record_files=True) as out:
        rng = np.random.default_rng([seed, 0])

        cat, real_orders, pools = build_world(cfg, n_offers, rng)
        q = cfg.queries
        k = cfg.policy.offers_per_request
        min_pool = q.relevant_per_query[0] + q.irrelevant_per_query[0]
        if k > min_pool:
            raise ValueError(
                f"policy.offers_per_request={k} exceeds the smallest candidate pool "
                f"({min_pool}); lower it or raise queries.*_per_query"
            )

        start = datetime.fromisoformat(cfg.users.start)
        paths: dict[str, Path] = {}
        counts: dict[str, int] = {}
        product_ids = pa.array(cat.product_ids, pa.string())
        query_text = pa.array(pools.text, pa.string())
        paths["products"] = write_table(out / "products.parquet", _catalog_table(cat))
        counts["products"] = cat.n

        qi, pi, label, ann, true_rel = judge(cfg, pools, rng)
        pairs = label_truth(qi, pi, label, true_rel)
        paths["judgments"] = write_table(
            out / "judgments.parquet",
            pa.table(
                {
                    "query": take(query_text, qi),
                    "product_id": take(product_ids, pi),
                    "label": pa.array(label.astype(str), pa.string()),
                    "annotator_id": ids("a", ann, 2),
                }
            ),
        )
        counts["judgments"] = int(qi.size)

        # One background thread encodes and compresses Parquet parts while the next chunk is
        # generated; the parts and their order are the same as without it.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seemingly-write") as pool:
            orders = PartWriter(out / "orders", pool)
            offers = PartWriter(out / "offers", pool)
            latent = PartWriter(Path(latent_dir), pool) if latent_dir is not None else None
            n_users, stats = _simulate_offers(
                cfg, cat, pools, start, real_orders, n_offers, seed, rng, orders, offers, latent
            )
            for writer in (orders, offers, latent):
                if writer is not None:
                    writer.close()
        paths["offers"], paths["orders"] = offers.directory, orders.directory
        counts["offers"], counts["orders"] = offers.rows, orders.rows
        counts["queries"], counts["users"] = pools.n, n_users
        truth = truth_dict(cfg, seed, n_offers, counts,
                           labels=label_rows(pairs, pools.text, cat.product_ids), stats=stats)
        (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
        paths["truth"] = out / "truth.json"
    paths = {name: target / p.relative_to(out) for name, p in paths.items()}
    return SimulationResult(target, paths, counts, truth, round(time.perf_counter() - t0, 3))


def _simulate_offers(
    cfg: WorldConfig,
    cat: Catalog,
    pools: Pools,
    start: datetime,
    real_orders: tuple[np.ndarray, ...] | None,
    n_offers: int,
    seed: int,
    rng: np.random.Generator,
    orders: PartWriter,
    offers: PartWriter,
    latent: PartWriter | None,
) -> tuple[int, OfferStats]:
    """Write the order history, then the offers chunk by chunk; return the number of users
    and the position-free sums of the offers (for truth.json)."""
    product_ids = pa.array(cat.product_ids, pa.string())
    query_text = pa.array(pools.text, pa.string())
    k = cfg.policy.offers_per_request
    if real_orders is not None:
        user_ids, hist_user, hist_prod, hist_ts, hist_order = real_orders
        start = (
            datetime(1970, 1, 1) + timedelta(microseconds=int(hist_ts.max())) + timedelta(days=1)
        )
        pop = make_population(cfg, pools, len(user_ids), rng, user_ids=user_ids)
        orders.write(
            pa.table(
                {
                    "order_id": pa.array(hist_order, pa.string()),
                    "user_id": take(pa.array(user_ids, pa.string()), hist_user),
                    "product_id": take(product_ids, hist_prod),
                    "timestamp": timestamps(hist_ts),
                }
            )
        )
    else:
        n_users = int(min(max(n_offers / cfg.users.offers_per_user, 20), cfg.users.max_users))
        pop = make_population(cfg, pools, n_users, rng)
    model = offer_model(cfg, cat, pools, pop)
    user_text = pa.array(pop.user_ids, pa.string())
    t_start = _us(start)
    n_b, n_u = model.n_brands, len(pop.user_ids)
    state = OfferState(KeySet(n_u * cat.n), KeySet(n_u * n_b))

    def remember(u: np.ndarray, p: np.ndarray) -> None:
        b = cat.brand[p]
        state.bought.add(u.astype(np.int64) * cat.n + p)
        state.bought_brand.add((u.astype(np.int64) * n_b + b)[b >= 0])

    if real_orders is not None:
        remember(hist_user, hist_prod)
    else:
        n_hist = int(round(cfg.users.history_orders_per_offer * n_offers))
        t_hist = t_start - cfg.users.history_days * _DAY_US
        done = 0
        while done < n_hist:  # baskets average ~1.3 rows; size the order count from rows
            n_o = min(cfg.chunk_offers, n_hist - done)
            o, u, p, ts = history_orders(cfg, model, pools, pop, n_o, t_hist, t_start, rng)
            rows = {"user": u, "product": p, "timestamp": ts}
            orders.write(partial(_order_table, "h", o + done, rows, user_text, product_ids), o.size)
            remember(u, p)
            done += n_o

    n_requests = math.ceil(n_offers / k)
    window = cfg.users.offer_days * _DAY_US
    per_chunk = max(cfg.chunk_offers // k, 1)
    written = 0
    stats = OfferStats.empty(k)
    for c, r0 in enumerate(range(0, n_requests, per_chunk)):
        r1 = min(r0 + per_chunk, n_requests)
        crng = np.random.default_rng([seed, 1, c])
        lo = t_start + window * r0 // n_requests
        hi = max(t_start + window * r1 // n_requests, lo + 1)
        ch = offer_chunk(cfg, model, pools, pop, state, r1 - r0, lo, hi, crng)
        m = min(ch["product"].size, n_offers - written)
        ch = {key: v[:m] for key, v in ch.items()}
        offer_no = np.arange(written, written + m)
        b = ch["purchased"]
        offers.write(partial(_offer_table, ch, r0, offer_no, user_text, query_text, product_ids), m)
        # Offer purchases are orders too (order_id = offer_id), so order history is complete.
        bought = {key: ch[key][b] for key in ("user", "product", "timestamp")}
        orders.write(
            partial(_order_table, "o", offer_no[b], bought, user_text, product_ids), int(b.sum())
        )
        if latent is not None:
            latent.write(partial(_latent_table, cat, pools, ch, offer_no), m)
        stats.add(ch, pools.relevant.ravel()[ch["cell"]])
        written += m
    return len(pop.user_ids), stats


def _offer_table(
    ch: dict[str, np.ndarray],
    r0: int,
    offer_no: np.ndarray,
    user_text: pa.Array,
    query_text: pa.Array,
    product_ids: pa.Array,
) -> pa.Table:
    return pa.table(
        {
            "offer_id": ids("o", offer_no, 9),
            "request_id": ids("r", ch["request"] + r0, 9),
            "timestamp": timestamps(ch["timestamp"]),
            "user_id": take(user_text, ch["user"]),
            "query": take(query_text, ch["query"]),
            "product_id": take(product_ids, ch["product"]),
            "position": pa.array(ch["position"], pa.int32()),
            "engaged": pa.array(ch["engaged"], pa.bool_()),
            "purchased": pa.array(ch["purchased"], pa.bool_()),
            "propensity": pa.array(ch["propensity"], pa.float64()),
        }
    )


def _order_table(
    prefix: str,
    numbers: np.ndarray,
    rows: dict[str, np.ndarray],
    user_text: pa.Array,
    product_ids: pa.Array,
) -> pa.Table:
    return pa.table(
        {
            "order_id": ids(prefix, numbers, 9),
            "user_id": take(user_text, rows["user"]),
            "product_id": take(product_ids, rows["product"]),
            "timestamp": timestamps(rows["timestamp"]),
        }
    )


def _latent_table(
    cat: Catalog, pools: Pools, ch: dict[str, np.ndarray], offer_no: np.ndarray
) -> pa.Table:
    cell, prod = ch["cell"], ch["product"]
    return pa.table(
        {
            "offer_id": ids("o", offer_no, 9),
            "relevant": pools.relevant.ravel()[cell],
            "kind": pa.array(np.array(KINDS, dtype=object)[pools.kind.ravel()[cell]], pa.string()),
            "category": pa.array(
                np.array(cat.category_names, dtype=object)[cat.category[prod]], pa.string()
            ),
            "popularity_z": cat.pop_z[prod],
            "log2_price_ratio": pools.log2_price_ratio.ravel()[cell],
            "semantic": pools.semantic.ravel()[cell],
            "copurchase": pools.kind.ravel()[cell] == 4,
            "query_length": pools.length[ch["query"]],
            "history": ch["history"],
            "brand_history": ch["brand_history"],
            "p_purchase": ch["p_purchase"],
            "p_engagement": ch["p_engagement"],
            "examined": ch["examined"],
        }
    )
