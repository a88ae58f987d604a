"""Distinct queries, each with a candidate pool of relevant and irrelevant products.

A query asks for a product type, optionally narrowed by a brand and/or an attribute, wrapped
in request phrases ("please order me some ... again"). The relevant products are products
that match every constraint. Irrelevant candidates are of the kinds in ``KINDS``; their
planted latents (semantic relation, complement flag, log2 price ratio) are computed here.
"""

from __future__ import annotations

import bisect
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seemingly.contract import normalize_query
from seemingly.simulate.catalog import Catalog
from seemingly.simulate.config import WorldConfig
from seemingly.simulate.vocab import PREFIXES, SUFFIXES

__all__ = ["KINDS", "Pools", "build_pools"]

KINDS = ("relevant", "substitute", "same_brand", "same_category", "complement", "unrelated")
_K = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class Pools:
    """Per query: text, length, frequency; per (query, slot): product and its latents."""

    text: list[str]
    length: np.ndarray  # tokens of the normalised query
    weight: np.ndarray  # relative request frequency
    product: np.ndarray  # (Q, P) product index, -1 for an empty slot
    relevant: np.ndarray  # (Q, P) bool
    kind: np.ndarray  # (Q, P) index into KINDS, -1 for an empty slot
    semantic: np.ndarray  # (Q, P) cosine of title tokens to the relevant products' centroid
    log2_price_ratio: np.ndarray  # (Q, P) log2(price / median relevant price)
    policy_weight: np.ndarray  # (Q, P) logging policy weight, 0 for an empty slot

    @property
    def n(self) -> int:
        return len(self.text)

    @property
    def copurchase(self) -> np.ndarray:
        return (self.kind == _K["complement"]).astype(float)


def _semantic(cands: list[int], rel: list[int], cat: Catalog) -> list[float]:
    centroid: dict[str, float] = {}
    for r in rel:
        for t in cat.tokens[r]:
            centroid[t] = centroid.get(t, 0.0) + 1.0 / len(rel)
    norm = float(np.sqrt(sum(v * v for v in centroid.values())))
    out = []
    for c in cands:
        toks = cat.tokens[c]
        dot = sum(centroid.get(t, 0.0) for t in toks)
        out.append(dot / (np.sqrt(len(toks)) * norm) if toks and norm > 0 else 0.0)
    return out


class _Index:
    """Plain-Python views of the catalog: scalar draws in the query loop stay cheap."""

    def __init__(self, cat: Catalog) -> None:
        self.ptype: list[int] = cat.product_type.tolist()
        self.pcat: list[int] = cat.category.tolist()
        self.brand: list[int] = cat.brand.tolist()
        self.attrs: list[list[int]] = cat.attrs.tolist()
        self.by_type = _group(self.ptype, len(cat.type_names))
        self.by_cat = _group(self.pcat, len(cat.category_names))
        self.by_brand = _group(
            [b if b >= 0 else len(cat.brand_names) for b in self.brand], len(cat.brand_names) + 1
        )
        self.comp: list[list[int]] = cat.type_complements
        self.comp_set = [set(c) for c in cat.type_complements]
        self.n = cat.n


def _group(keys: list[int], n: int) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for i, k in enumerate(keys):
        out[k].append(i)
    return out


def _pick(r: random.Random, pool: list[int], ok: Callable[[int], bool]) -> int | None:
    """A random member of ``pool`` satisfying ``ok``: rejection first, then a full scan."""
    if not pool:
        return None
    for _ in range(12):
        p = pool[r.randrange(len(pool))]
        if ok(p):
            return p
    free = [p for p in pool if ok(p)]
    return free[r.randrange(len(free))] if free else None


def _candidate(
    kind: str, seed: int, t: int, taken: set[int], idx: _Index, r: random.Random
) -> int | None:
    """An irrelevant candidate of ``kind``; ``taken`` holds every relevant product too."""
    b, c = idx.brand[seed], idx.pcat[seed]
    if kind == "substitute":
        return _pick(r, idx.by_type[t], lambda p: p not in taken)
    if kind == "same_brand" and b >= 0:
        return _pick(r, idx.by_brand[b], lambda p: p not in taken and idx.ptype[p] != t)
    if kind == "same_category":
        return _pick(
            r,
            idx.by_cat[c],
            lambda p: p not in taken and idx.ptype[p] != t and idx.brand[p] != b,
        )
    if kind == "complement" and idx.comp[t]:
        u = idx.comp[t][r.randrange(len(idx.comp[t]))]
        return _pick(r, idx.by_type[u], lambda p: p not in taken)
    if kind == "unrelated":
        for _ in range(30):
            p = r.randrange(idx.n)
            if p not in taken and idx.pcat[p] != c and idx.ptype[p] not in idx.comp_set[t]:
                return p
    return None


def _text(core: list[str], r: random.Random, used: set[str]) -> str | None:
    for attempt in range(30):
        words = list(core)
        # Widen the wrapping only when the plain text is taken: keeps most queries short.
        if attempt > 0 or r.random() < 0.45:
            words = PREFIXES[r.randrange(len(PREFIXES))].split() + words
        if (attempt > 3 and r.random() < 0.7) or r.random() < 0.2:
            words += SUFFIXES[r.randrange(len(SUFFIXES))].split()
        text = normalize_query(" ".join(words))
        if text not in used and len(text.split()) <= 10:  # voice requests stay under ~10 words
            return text
    return None


def build_pools(
    world: WorldConfig, cat: Catalog, n_queries: int, rng: np.random.Generator
) -> Pools:
    """Draw ``n_queries`` distinct queries and their candidate pools."""
    q = world.queries
    kinds = list(q.irrelevant_kinds)
    kind_p = np.array([q.irrelevant_kinds[k] for k in kinds], dtype=float)
    kind_p /= kind_p.sum()
    width = q.relevant_per_query[1] + q.irrelevant_per_query[1]
    idx = _Index(cat)
    r = random.Random(int(rng.integers(2**63)))
    seeds = rng.choice(
        cat.n, size=n_queries * 2, p=np.sqrt(cat.pop_weight) / np.sqrt(cat.pop_weight).sum()
    ).tolist()
    kind_cum = np.cumsum(kind_p).tolist()
    rel_lo, rel_hi = q.relevant_per_query
    irr_lo, irr_hi = q.irrelevant_per_query
    used: set[str] = set()
    texts: list[str] = []
    rows: list[tuple[list[int], list[int]]] = []  # (products, kinds)
    for seed in seeds:
        if len(texts) == n_queries:
            break
        t = idx.ptype[seed]
        b = idx.brand[seed]
        use_brand = b >= 0 and r.random() < 0.35
        attr_ids = [a for a in idx.attrs[seed] if a >= 0]
        use_attr = bool(attr_ids) and r.random() < 0.35
        core = [cat.type_names[t]]
        matches = idx.by_type[t]
        if use_attr:
            a = attr_ids[r.randrange(len(attr_ids))]
            matches = [p for p in matches if a in idx.attrs[p]]
            core.insert(0, cat.attr_names[a])
        if use_brand:
            matches = [p for p in matches if idx.brand[p] == b]
            core.insert(0, cat.brand_names[b])
        text = _text(core, r, used)
        if text is None:
            continue
        others = [p for p in matches if p != seed]
        n_rel = min(r.randint(rel_lo, rel_hi), len(matches))
        rel = [seed] + r.sample(others, n_rel - 1)
        taken = set(matches)
        irr: list[int] = []
        irr_kind: list[int] = []
        for _ in range(r.randint(irr_lo, irr_hi)):
            k = kinds[min(bisect.bisect_right(kind_cum, r.random()), len(kinds) - 1)]
            p = _candidate(k, seed, t, taken, idx, r)
            if p is None:  # the kind is impossible here (e.g. no substitute): unrelated instead
                p, k = _candidate("unrelated", seed, t, taken, idx, r), "unrelated"
            if p is None:
                continue
            taken.add(p)
            irr.append(p)
            irr_kind.append(_K[k])
        used.add(text)
        texts.append(text)
        rows.append((rel + irr, [0] * len(rel) + irr_kind))

    n_q = len(texts)
    product = np.full((n_q, width), -1, dtype=np.int64)
    kind_a = np.full((n_q, width), -1, dtype=np.int8)
    sem = np.zeros((n_q, width))
    lpr = np.zeros((n_q, width))
    price = cat.price.tolist()
    for i, (prods, kk) in enumerate(rows):
        product[i, : len(prods)] = prods
        kind_a[i, : len(prods)] = kk
        rel = [p for p, k in zip(prods, kk, strict=True) if k == 0]
        sem[i, : len(prods)] = _semantic(prods, rel, cat)
        med = statistics.median(price[p] for p in rel)
        lpr[i, : len(prods)] = np.log2(cat.price[prods] / med)
    relevant = kind_a == 0
    pw = np.where(
        relevant,
        world.policy.relevant_weight,
        np.where(kind_a > 0, world.policy.irrelevant_weight, 0.0),
    )
    length = np.array([len(t.split()) for t in texts], dtype=np.int64)
    weight = rng.lognormal(0.0, q.query_weight_sd, n_q)
    return Pools(texts, length, weight / weight.sum(), product, relevant, kind_a, sem, lpr, pw)
