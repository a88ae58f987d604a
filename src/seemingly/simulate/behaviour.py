"""Customers: who asks what, what they bought before, and whether they buy or engage.

Every step is vectorised over offers. Personal history depends on earlier purchases, which
depend on personal history; inside a chunk this is solved exactly by fixpoint iteration on
fixed uniform draws (after pass m the first m offers of every (user, product) pair are
final), between chunks by carrying the sorted set of bought (user, product) keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seemingly.simulate.catalog import Catalog
from seemingly.simulate.config import Effects, WorldConfig
from seemingly.simulate.queries import Pools

__all__ = [
    "Population",
    "make_population",
    "history_orders",
    "OfferState",
    "offer_chunk",
    "sorted_unique",
]


@dataclass(frozen=True)
class Population:
    user_ids: np.ndarray  # str objects
    activity: np.ndarray  # probability that a request comes from the user
    home: np.ndarray  # (U, H) query indices the user keeps asking


def make_population(
    world: WorldConfig,
    pools: Pools,
    n_users: int,
    rng: np.random.Generator,
    user_ids: np.ndarray | None = None,
) -> Population:
    if user_ids is None:
        user_ids = np.array([f"u{i:07d}" for i in range(n_users)], dtype=object)
    activity = rng.lognormal(0.0, 0.8, len(user_ids))
    home = rng.choice(pools.n, size=(len(user_ids), world.users.home_queries), p=pools.weight)
    return Population(user_ids, activity / activity.sum(), home)


def _choose_slots(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One slot per row, with probability proportional to the row's weights."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), weights.shape[1] - 1)


def history_orders(
    world: WorldConfig,
    cat: Catalog,
    pools: Pools,
    pop: Population,
    n_orders: int,
    t_lo: int,
    t_hi: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pre-window baskets: (order number, user index, product index, timestamp in us).

    Half the baskets (``history_home_share``) come from a user's favourite queries' pools;
    when that item is relevant, the pool's complement joins the basket with probability
    ``basket_complement_prob`` (this is what plants the co-purchase relation). The rest are
    drawn by popularity weight (this is what plants measured popularity).
    """
    u = world.users
    user = rng.choice(len(pop.user_ids), size=n_orders, p=pop.activity)
    ts = rng.integers(t_lo, t_hi, size=n_orders)
    home = rng.random(n_orders) < u.history_home_share
    q = pop.home[user, rng.integers(0, pop.home.shape[1], size=n_orders)]
    slot = _choose_slots(rng, pools.policy_weight[q])
    prod = np.where(
        home,
        pools.product[q, slot],
        rng.choice(cat.n, size=n_orders, p=cat.pop_weight / cat.pop_weight.sum()),
    )
    comp_slot = np.argmax(pools.kind[q] == 4, axis=1)
    has_comp = (pools.kind[q, comp_slot] == 4) & home & pools.relevant[q, slot]
    add = has_comp & (rng.random(n_orders) < u.basket_complement_prob)
    order_no = np.arange(n_orders)
    return (
        np.concatenate([order_no, order_no[add]]),
        np.concatenate([user, user[add]]),
        np.concatenate([prod, pools.product[q[add], comp_slot[add]]]),
        np.concatenate([ts, ts[add]]),
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _category_coefs(eff: Effects, cat: Catalog) -> np.ndarray:
    unknown = sorted(set(eff.category) - set(cat.category_names))
    if unknown:
        raise ValueError(
            f"world config: category effects name unknown categories {unknown}; "
            f"this catalog has {sorted(cat.category_names)}"
        )
    return np.array([eff.category.get(c, 0.0) for c in cat.category_names])


@dataclass
class OfferState:
    """What carries over between chunks: sorted keys of bought (user, product|brand)."""

    bought: np.ndarray
    bought_brand: np.ndarray


def sorted_unique(*parts: np.ndarray) -> np.ndarray:
    """Sorted distinct int64 keys (a sort beats numpy's hash-based unique here)."""
    a = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])
    a.sort()
    return a[np.r_[True, a[1:] != a[:-1]]] if a.size else a


def _isin_sorted(x: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0:
        return np.zeros(x.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, x), sorted_keys.size - 1)
    return sorted_keys[pos] == x


class _Earlier:
    """For offers in time order: did an earlier offer with the same key have a flag?

    The sort by key is done once; each fixpoint pass is then two cumulative sums.
    """

    def __init__(self, key: np.ndarray) -> None:
        self.order = np.argsort(key, kind="stable")  # stable keeps time order inside a key
        k = key[self.order]
        start = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1]
        self.first = np.repeat(start, np.diff(np.r_[start, k.size]))

    def __call__(self, flag: np.ndarray) -> np.ndarray:
        f = flag[self.order].astype(np.int64)
        before = np.cumsum(f) - f
        out = np.empty(flag.size, dtype=bool)
        out[self.order] = (before - before[self.first]) > 0
        return out


def _logit(
    eff: Effects,
    null: bool,
    rel: np.ndarray,
    pop_z: np.ndarray,
    lpr: np.ndarray,
    cat_coef: np.ndarray,
    length: np.ndarray,
    sem: np.ndarray,
    cop: np.ndarray,
    hist: np.ndarray,
    bhist: np.ndarray,
) -> np.ndarray:
    if null:
        return np.where(rel, eff.relevant_base, eff.base)
    common = (
        eff.popularity * pop_z
        + eff.price * lpr
        + cat_coef
        + eff.short * (length <= 2)
        + eff.long * (length >= 6)
        + eff.history * hist
        + eff.brand_history * bhist
    )
    irr = eff.base + common + eff.semantic * sem + eff.copurchase * cop
    return np.where(rel, eff.relevant_base + eff.relevant_scale * common, irr)


def offer_chunk(
    world: WorldConfig,
    cat: Catalog,
    pools: Pools,
    pop: Population,
    state: OfferState,
    n_requests: int,
    t_lo: int,
    t_hi: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Simulate ``n_requests`` voice requests (k offers each) in time order in [t_lo, t_hi)."""
    k = world.policy.offers_per_request
    user_r = rng.choice(len(pop.user_ids), size=n_requests, p=pop.activity)
    from_home = rng.random(n_requests) < world.users.home_share
    q_r = np.where(
        from_home,
        pop.home[user_r, rng.integers(0, pop.home.shape[1], n_requests)],
        rng.choice(pools.n, size=n_requests, p=pools.weight),
    )
    ts_r = np.sort(rng.integers(t_lo, t_hi, size=n_requests))
    # Top-k by Gumbel-perturbed log weights = sampling k slots without replacement.
    w = pools.policy_weight[q_r]
    with np.errstate(divide="ignore"):
        g = np.log(w) + rng.gumbel(size=w.shape)
    # argmax is the k = 1 case of the top-k and far cheaper than a full row sort
    slots = np.argmax(g, axis=1)[:, None] if k == 1 else np.argsort(-g, axis=1)[:, :k]
    wk = np.take_along_axis(w, slots, axis=1)
    # Propensity of position j: its weight over the weight of the slots still unchosen.
    remaining = w.sum(axis=1, keepdims=True) - np.cumsum(wk, axis=1) + wk
    prop = (wk / remaining).ravel()
    q = np.repeat(q_r, k)
    user = np.repeat(user_r, k)
    ts = np.repeat(ts_r, k)
    slot = slots.ravel()
    position = np.tile(np.arange(1, k + 1), n_requests)
    keep = prop > 0  # a pool smaller than k yields fewer offers for that request
    q, user, ts, slot, position, prop = (a[keep] for a in (q, user, ts, slot, position, prop))
    request = np.repeat(np.arange(n_requests), k)[keep]

    prod = pools.product[q, slot]
    rel = pools.relevant[q, slot]
    cop = pools.kind[q, slot] == 4
    brand = cat.brand[prod]
    n_b = len(cat.brand_names) + 1
    key = user.astype(np.int64) * cat.n + prod
    bkey = np.where(brand >= 0, user.astype(np.int64) * n_b + brand, -1)
    pre = _isin_sorted(key, state.bought)
    pre_b = _isin_sorted(bkey, state.bought_brand) & (brand >= 0)
    args = dict(
        rel=rel,
        pop_z=cat.pop_z[prod],
        lpr=pools.log2_price_ratio[q, slot],
        length=pools.length[q],
        sem=pools.semantic[q, slot],
        cop=cop,
    )
    null = world.null_effects
    cat_p = _category_coefs(world.purchase, cat)[cat.category[prod]]
    cat_e = _category_coefs(world.engagement, cat)[cat.category[prod]]
    u_buy = rng.random(prod.size)
    u_eng = rng.random(prod.size)
    bought = np.zeros(prod.size, dtype=bool)
    hist, bhist = pre, pre_b
    earlier, earlier_b = _Earlier(key), _Earlier(bkey)
    for _ in range(prod.size + 1):
        p = _sigmoid(_logit(world.purchase, null, cat_coef=cat_p, hist=hist, bhist=bhist, **args))
        new = u_buy < p
        if np.array_equal(new, bought):
            break
        bought = new
        hist = pre | earlier(bought)
        bhist = pre_b | (earlier_b(bought) & (brand >= 0))
    p_eng = _sigmoid(_logit(world.engagement, null, cat_coef=cat_e, hist=hist, bhist=bhist, **args))
    engaged = bought | (u_eng < p_eng)
    state.bought = sorted_unique(state.bought, key[bought])
    state.bought_brand = sorted_unique(state.bought_brand, bkey[bought & (brand >= 0)])
    return dict(
        request=request,
        user=user,
        query=q,
        product=prod,
        timestamp=ts,
        position=position,
        propensity=prop,
        purchased=bought,
        engaged=engaged,
        relevant=rel,
        kind=pools.kind[q, slot],
        history=hist,
        brand_history=bhist,
        p_purchase=p,
        log2_price_ratio=args["lpr"],
        semantic=args["sem"],
    )
