"""Distinct queries, each with a candidate pool of relevant and irrelevant products.

A query asks for a product type, optionally narrowed by a brand and/or an attribute, wrapped
in request phrases ("please order me some ... again"). The relevant products are products
that match every constraint. Irrelevant candidates are of the kinds in ``KINDS``; their
planted latents (semantic relation, complement flag, log2 price ratio) are computed here.

Every step is vectorised over queries (no Python loop per query): group members are kept in
CSR form so "a uniform member of group g" is one gather, candidates are drawn by rejection
rounds over all queries at once (then an exact scan of the few left), and the semantic
relation is a sparse token-matrix product.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from seemingly.contract import normalize_query
from seemingly.simulate.catalog import Catalog
from seemingly.simulate.config import WorldConfig
from seemingly.simulate.vocab import PREFIXES, SUFFIXES

__all__ = ["KINDS", "Pools", "build_pools"]

KINDS = ("relevant", "substitute", "same_brand", "same_category", "complement", "unrelated")
_K = {k: i for i, k in enumerate(KINDS)}
_MAX_WORDS = 10  # voice requests stay under ~10 words
_TEXT_ATTEMPTS = 30


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


class _Groups:
    """Members of integer-keyed groups in CSR form (negative keys belong to no group)."""

    def __init__(self, keys: np.ndarray, n_groups: int) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        ok = keys >= 0
        self.members = np.flatnonzero(ok)[np.argsort(keys[ok], kind="stable")]
        self.size = np.bincount(keys[ok], minlength=n_groups)
        self.start = np.cumsum(self.size) - self.size

    def draw(self, g: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A uniform member of each group ``g`` given uniforms ``u``; -1 for an empty group."""
        size = self.size[g]
        if self.members.size == 0:
            return np.full(g.size, -1, dtype=np.int64)
        pos = self.start[g] + np.minimum((u * size).astype(np.int64), np.maximum(size - 1, 0))
        return np.where(size > 0, self.members[np.minimum(pos, self.members.size - 1)], -1)

    def expand(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(i, member) pairs listing every member of group ``g[i]``."""
        size = self.size[g]
        i = np.repeat(np.arange(g.size), size)
        offset = np.arange(i.size) - np.repeat(np.cumsum(size) - size, size)
        return i, self.members[self.start[g][i] + offset]


def _first_per_group(i: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Positions of the largest ``key`` within each run of equal ``i`` (any order of i)."""
    order = np.lexsort((key, i))
    if order.size == 0:
        return order
    last = np.r_[i[order][1:] != i[order][:-1], True]
    return order[last]


@dataclass(frozen=True)
class _Spec:
    """What each query asks for: its seed product's type/brand/category and the constraints."""

    seed: np.ndarray
    t: np.ndarray
    b: np.ndarray
    c: np.ndarray
    a: np.ndarray  # attribute id, -1 when the query names none
    use_brand: np.ndarray

    def take(self, rows: np.ndarray) -> _Spec:
        return _Spec(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


class _Draw:
    """Vectorised candidate draws for one catalog; every draw uses the one numpy ``rng``."""

    def __init__(self, cat: Catalog, rng: np.random.Generator) -> None:
        self.cat, self.rng = cat, rng
        n_t = len(cat.type_names)
        self.by_type = _Groups(cat.product_type, n_t)
        self.by_cat = _Groups(cat.category, len(cat.category_names))
        self.by_brand = _Groups(cat.brand, len(cat.brand_names))
        self.everything = _Groups(np.zeros(cat.n, dtype=np.int64), 1)
        comp_t = np.repeat(np.arange(n_t), [len(c) for c in cat.type_complements])
        comp_u = np.array([u for c in cat.type_complements for u in c], dtype=np.int64)
        self.comp = _Groups(comp_t, n_t)
        self.comp.members = comp_u[self.comp.members]  # members are complement types
        self.comp_mat = np.zeros((n_t, n_t), dtype=bool)
        self.comp_mat[comp_t, comp_u] = True

    def is_match(self, s: _Spec, p: np.ndarray) -> np.ndarray:
        """Does product ``p`` meet every constraint of query spec ``s`` (row-aligned)?"""
        cat = self.cat
        attr_ok = (s.a < 0) | (cat.attrs[p] == s.a[:, None]).any(axis=1)
        return (cat.product_type[p] == s.t) & attr_ok & (~s.use_brand | (cat.brand[p] == s.b))

    def pick(
        self,
        groups: _Groups,
        g: np.ndarray,
        valid: Callable[[np.ndarray, np.ndarray], np.ndarray],
        tries: int,
        exhaustive: bool,
    ) -> np.ndarray:
        """A uniform valid member of group ``g[i]`` per i, -1 if none.

        Rejection rounds first (cheap when most members are valid); then, if ``exhaustive``,
        every member of the groups still unresolved is checked and one valid is drawn.
        """
        out = np.full(g.size, -1, dtype=np.int64)
        todo = np.flatnonzero(groups.size[g] > 0)
        for _ in range(tries):
            if todo.size == 0:
                return out
            p = groups.draw(g[todo], self.rng.random(todo.size))
            ok = valid(todo, p)
            out[todo[ok]] = p[ok]
            todo = todo[~ok]
        if exhaustive and todo.size:
            i, p = groups.expand(g[todo])
            ok = valid(todo[i], p)
            i, p = i[ok], p[ok]
            best = _first_per_group(i, self.rng.random(i.size))
            out[todo[i[best]]] = p[best]
        return out

    def candidates(self, kind: str, s: _Spec, taken: np.ndarray) -> np.ndarray:
        """An irrelevant candidate of ``kind`` per query row of ``s``, -1 where impossible.

        ``taken`` (rows x slots) holds the irrelevant products already in each pool; the
        relevant ones are excluded as matches.
        """
        cat = self.cat

        def free(i: np.ndarray, p: np.ndarray) -> np.ndarray:
            s_i = s.take(i)
            return ~self.is_match(s_i, p) & ~(taken[i] == p[:, None]).any(axis=1)

        if kind == "substitute":
            return self.pick(self.by_type, s.t, free, 12, True)
        if kind == "same_brand":
            has = np.flatnonzero(s.b >= 0)
            out = np.full(s.t.size, -1, dtype=np.int64)

            def brand_ok(i: np.ndarray, p: np.ndarray) -> np.ndarray:
                return (cat.product_type[p] != s.t[has[i]]) & free(has[i], p)

            out[has] = self.pick(self.by_brand, s.b[has], brand_ok, 12, True)
            return out
        if kind == "same_category":

            def cat_ok(i: np.ndarray, p: np.ndarray) -> np.ndarray:
                return (cat.product_type[p] != s.t[i]) & (cat.brand[p] != s.b[i]) & free(i, p)

            return self.pick(self.by_cat, s.c, cat_ok, 12, True)
        if kind == "complement":
            u = self.comp.draw(s.t, self.rng.random(s.t.size))
            out = np.full(s.t.size, -1, dtype=np.int64)
            has = np.flatnonzero(u >= 0)
            out[has] = self.pick(self.by_type, u[has], lambda i, p: free(has[i], p), 12, True)
            return out

        def unrelated(i: np.ndarray, p: np.ndarray) -> np.ndarray:
            other = (cat.category[p] != s.c[i]) & ~self.comp_mat[s.t[i], cat.product_type[p]]
            return other & free(i, p)

        # As in a shop's "unrelated" slot: a few random tries, no exhaustive scan.
        return self.pick(self.everything, np.zeros(s.t.size, np.int64), unrelated, 30, False)


def _texts(
    cat: Catalog, s: _Spec, use_attr: np.ndarray, n_want: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct normalised texts of the first ``n_want`` rows that get one: (rows, texts,
    token counts).

    Rounds over all rows still without a text: attempt 0 wraps the core words in a request
    phrase with probability 0.45 (so most queries stay short), later attempts always do and
    add a suffix more often. A text is accepted if unused and its row is the first in the
    round to draw it.
    """
    a = np.where(use_attr, s.a, -1)
    b = np.where(s.use_brand, s.b, -1)
    cores, core_of = np.unique(np.stack([b, a, s.t], axis=1), axis=0, return_inverse=True)
    core_text, core_len = [], []
    for cb, ca, ct in cores.tolist():
        words = [cat.brand_names[cb]] if cb >= 0 else []
        words += [cat.attr_names[ca]] if ca >= 0 else []
        words = [w for w in (normalize_query(x) for x in [*words, cat.type_names[ct]]) if w]
        core_text.append(" ".join(words))
        core_len.append(sum(len(w.split()) for w in words))
    c_text = np.array(core_text, dtype=object)
    c_len = np.array(core_len)
    pre = [normalize_query(x) for x in PREFIXES]
    suf = [normalize_query(x) for x in SUFFIXES]
    p_text = np.array([""] + [x + " " for x in pre], dtype=object)
    p_len = np.array([0] + [len(x.split()) for x in pre])
    s_text = np.array([""] + [" " + x for x in suf], dtype=object)
    s_len = np.array([0] + [len(x.split()) for x in suf])

    n = s.t.size
    text = np.empty(n, dtype=object)
    length = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    used: set[str] = set()
    todo = np.arange(n)
    core_of = core_of.ravel()
    for attempt in range(_TEXT_ATTEMPTS):
        if todo.size == 0:
            break
        m = todo.size
        has_p = (rng.random(m) < 0.45) | (attempt > 0)
        has_s = rng.random(m) < (0.76 if attempt > 3 else 0.2)
        pi = np.where(has_p, rng.integers(1, len(p_text), m), 0)
        si = np.where(has_s, rng.integers(1, len(s_text), m), 0)
        ci = core_of[todo]
        t = p_text[pi] + c_text[ci] + s_text[si]
        ln = p_len[pi] + c_len[ci] + s_len[si]
        fresh = np.fromiter((x not in used for x in t), dtype=bool, count=m)
        cand = np.flatnonzero(fresh & (ln <= _MAX_WORDS) & (c_len[ci] > 0))
        _, first = np.unique(t[cand], return_index=True)
        win = cand[first]
        rows = todo[win]
        text[rows], length[rows], done[rows] = t[win], ln[win], True
        used.update(t[win].tolist())
        keep = np.ones(m, dtype=bool)
        keep[win] = False
        todo = todo[keep]
        accepted = np.flatnonzero(done)
        if accepted.size >= n_want:  # later rows can no longer enter the first n_want
            todo = todo[todo < accepted[n_want - 1]]
    rows = np.flatnonzero(done)[:n_want]
    return rows, text[rows], length[rows]


def _relevant(
    draw: _Draw, s: _Spec, lo: int, hi: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(Q, hi) relevant products (seed first, then a random sample of other matches), -1 pad."""
    q = s.t.size
    i, p = draw.by_type.expand(s.t)
    m = draw.is_match(s.take(i), p)
    n_match = np.bincount(i[m], minlength=q)
    n_rel = np.minimum(rng.integers(lo, hi + 1, q), n_match)
    other = m & (p != s.seed[i])
    i, p = i[other], p[other]
    order = np.lexsort((rng.random(i.size), i))  # a random order of the others per query
    i, p = i[order], p[order]
    start = np.searchsorted(i, np.arange(q))
    rank = np.arange(i.size) - start[i]
    keep = rank < n_rel[i] - 1
    out = np.full((q, hi), -1, dtype=np.int64)
    out[:, 0] = s.seed
    out[i[keep], rank[keep] + 1] = p[keep]
    return out, n_rel


def _semantic(cat: Catalog, product: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """Cosine of each pool product's title-token set to its query's relevant-token centroid."""
    vocab: dict[str, int] = {}
    cols = [vocab.setdefault(t, len(vocab)) for toks in cat.tokens for t in sorted(toks)]
    indptr = np.r_[0, np.cumsum([len(t) for t in cat.tokens])]
    x = sp.csr_array(
        (np.ones(len(cols)), np.array(cols, dtype=np.int64), indptr),
        shape=(cat.n, max(len(vocab), 1)),
    )
    q_n, width = product.shape
    qi, slot = np.nonzero(relevant)
    n_rel = np.bincount(qi, minlength=q_n)
    r = sp.csr_array((1.0 / n_rel[qi], (qi, product[qi, slot])), shape=(q_n, cat.n))
    centroid = sp.csr_array(r @ x)
    norm = np.sqrt(np.asarray(centroid.multiply(centroid).sum(axis=1))).ravel()
    qi, slot = np.nonzero(product >= 0)
    p = product[qi, slot]
    dot = np.asarray(centroid[qi].multiply(x[p]).sum(axis=1)).ravel()
    n_tok = np.diff(x.indptr)[p]
    denom = np.sqrt(n_tok) * norm[qi]
    out = np.zeros((q_n, width))
    out[qi, slot] = np.where(denom > 0, dot / np.where(denom > 0, denom, 1.0), 0.0)
    return out


def build_pools(
    world: WorldConfig, cat: Catalog, n_queries: int, rng: np.random.Generator
) -> Pools:
    """Draw ``n_queries`` distinct queries and their candidate pools."""
    q = world.queries
    kinds = list(q.irrelevant_kinds)
    kind_p = np.array([q.irrelevant_kinds[k] for k in kinds], dtype=float)
    kind_p /= kind_p.sum()
    draw = _Draw(cat, rng)
    sq = np.sqrt(cat.pop_weight)
    seed = rng.choice(cat.n, size=n_queries * 2, p=sq / sq.sum())
    n_seed = seed.size
    b = cat.brand[seed]
    use_brand = (b >= 0) & (rng.random(n_seed) < 0.35)
    # a uniform one of the seed's attributes (left-aligned first so -1 padding is skipped)
    attrs = cat.attrs[seed]
    attrs = np.take_along_axis(attrs, np.argsort(attrs < 0, axis=1, kind="stable"), axis=1)
    n_attr = (attrs >= 0).sum(axis=1)
    pick = np.minimum((rng.random(n_seed) * n_attr).astype(np.int64), np.maximum(n_attr - 1, 0))
    use_attr = (n_attr > 0) & (rng.random(n_seed) < 0.35)
    a = np.where(use_attr, attrs[np.arange(n_seed), pick], -1)
    spec = _Spec(seed, cat.product_type[seed], b, cat.category[seed], a, use_brand)
    rows, texts, length = _texts(cat, spec, use_attr, n_queries, rng)
    s = spec.take(rows)
    n_q = rows.size

    rel_lo, rel_hi = q.relevant_per_query
    irr_lo, irr_hi = q.irrelevant_per_query
    rel, _ = _relevant(draw, s, rel_lo, rel_hi, rng)
    n_irr = rng.integers(irr_lo, irr_hi + 1, n_q)
    want = np.array([_K[k] for k in kinds])[rng.choice(len(kinds), size=(n_q, irr_hi), p=kind_p)]
    irr = np.full((n_q, irr_hi), -1, dtype=np.int64)
    irr_kind = np.full((n_q, irr_hi), -1, dtype=np.int8)
    for j in range(irr_hi):  # slot by slot, so each pick sees the pool's earlier picks
        active = j < n_irr
        for k in np.unique(want[active, j]):
            i = np.flatnonzero(active & (want[:, j] == k))
            irr[i, j] = draw.candidates(KINDS[k], s.take(i), irr[i, :j])
            irr_kind[i, j] = k
        # the kind is impossible here (e.g. no substitute): unrelated instead
        i = np.flatnonzero(active & (irr[:, j] < 0))
        irr[i, j] = draw.candidates("unrelated", s.take(i), irr[i, :j])
        irr_kind[i, j] = np.where(irr[i, j] >= 0, _K["unrelated"], -1)

    product = np.concatenate([rel, irr], axis=1)
    kind_a = np.concatenate([np.where(rel >= 0, 0, -1).astype(np.int8), irr_kind], axis=1)
    # close the gaps left by empty slots, keeping the order of the rest
    order = np.argsort(product < 0, axis=1, kind="stable")
    product = np.take_along_axis(product, order, axis=1)
    kind_a = np.take_along_axis(kind_a, order, axis=1)
    relevant = kind_a == 0
    sem = _semantic(cat, product, relevant)
    price = np.where(product >= 0, cat.price[np.maximum(product, 0)], np.nan)
    med = np.nanmedian(np.where(relevant, price, np.nan), axis=1)
    lpr = np.where(product >= 0, np.log2(price / med[:, None]), 0.0)
    pw = np.where(
        relevant,
        world.policy.relevant_weight,
        np.where(kind_a > 0, world.policy.irrelevant_weight, 0.0),
    )
    if world.policy.popularity_exponent != 0:
        pop = np.where(product >= 0, cat.pop_z[np.maximum(product, 0)], 0.0)
        pw = pw * np.exp(world.policy.popularity_exponent * pop)
    weight = rng.lognormal(0.0, q.query_weight_sd, n_q)
    return Pools(
        texts.tolist(), length, weight / weight.sum(), product, relevant, kind_a, sem, lpr, pw
    )
