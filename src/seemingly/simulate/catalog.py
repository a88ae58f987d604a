"""The catalog a world sells: products with types, brands, attributes, prices, popularity.

``Catalog`` is engine-agnostic arrays (one row per product) so the behaviour code works the
same on the synthetic marketplace and on a real catalog (``retail.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from seemingly.simulate.config import WorldConfig
from seemingly.simulate.vocab import CATEGORIES, COMPLEMENTS

__all__ = ["Catalog", "build_synthetic_catalog"]

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> frozenset[str]:
    """Lower-case word tokens, the unit of the semantic-relation latent."""
    return frozenset(_TOKEN.findall(text.lower()))


@dataclass(frozen=True)
class Catalog:
    """Products as parallel arrays; ``type_complements[t]`` lists types bought with type t."""

    product_ids: np.ndarray  # str objects
    titles: list[str]
    category_names: list[str]
    category: np.ndarray  # int per product
    type_names: list[str]
    product_type: np.ndarray  # int per product
    type_category: np.ndarray  # int per type
    brand_names: list[str]
    brand: np.ndarray  # int per product, -1 when unknown
    attr_names: list[str]
    attrs: np.ndarray  # (n, 2) int attribute ids, -1 when absent
    price: np.ndarray  # float, > 0
    pop_weight: np.ndarray  # relative purchase frequency outside search
    type_complements: list[list[int]]
    tokens: list[frozenset[str]] = field(repr=False)

    @property
    def n(self) -> int:
        return len(self.product_ids)

    @property
    def pop_z(self) -> np.ndarray:
        """Standardised log popularity: the planted popularity factor."""
        lw = np.log(self.pop_weight)
        sd = lw.std()
        return (lw - lw.mean()) / (sd if sd > 0 else 1.0)


def _zipf_weights(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    ranks = rng.permutation(n) + 1
    return 1.0 / ranks.astype(float) ** exponent


def _complements(
    type_names: list[str], type_category: np.ndarray, rng: np.random.Generator
) -> list[list[int]]:
    index = {t: i for i, t in enumerate(type_names)}
    comp: list[set[int]] = [set() for _ in type_names]
    for a, b in COMPLEMENTS:
        comp[index[a]].add(index[b])
        comp[index[b]].add(index[a])
    # Types without a hand-written partner get one from another category by seeded chance,
    # so every query can have a complement candidate.
    for t in range(len(type_names)):
        if not comp[t]:
            others = np.flatnonzero(type_category != type_category[t])
            u = int(rng.choice(others))
            comp[t].add(u)
            comp[u].add(t)
    return [sorted(c) for c in comp]


def build_synthetic_catalog(world: WorldConfig, rng: np.random.Generator) -> Catalog:
    """Build the synthetic marketplace: ~10 categories x 8 types x ``products_per_type``."""
    cfg = world.catalog
    cat_names = list(CATEGORIES)
    type_names: list[str] = []
    type_cat: list[int] = []
    brand_names: list[str] = []
    brand_cat: list[int] = []
    attr_names: list[str] = []
    attr_cat: list[int] = []
    for c, (_, types, brands, attr_words) in enumerate(CATEGORIES.values()):
        type_names += types
        type_cat += [c] * len(types)
        brand_names += brands
        brand_cat += [c] * len(brands)
        attr_names += attr_words
        attr_cat += [c] * len(attr_words)
    type_category = np.array(type_cat)
    brand_category = np.array(brand_cat)
    attr_category = np.array(attr_cat)
    n_types = len(type_names)
    per = cfg.products_per_type
    n = n_types * per

    ptype = np.repeat(np.arange(n_types), per)
    pcat = type_category[ptype]
    # Brand and attributes are drawn within the product's category.
    brand = np.empty(n, dtype=np.int64)
    attrs = np.full((n, 2), -1, dtype=np.int64)
    for c in range(len(cat_names)):
        rows = np.flatnonzero(pcat == c)
        b_ids = np.flatnonzero(brand_category == c)
        a_ids = np.flatnonzero(attr_category == c)
        brand[rows] = rng.choice(b_ids, size=rows.size)
        # two distinct attributes, the second present with probability 0.6
        first = rng.integers(0, a_ids.size, size=rows.size)
        second = (first + rng.integers(1, a_ids.size, size=rows.size)) % a_ids.size
        attrs[rows, 0] = a_ids[first]
        attrs[rows, 1] = np.where(rng.random(rows.size) < 0.6, a_ids[second], -1)

    pop_weight = _zipf_weights(rng, n, cfg.zipf_exponent)
    lw = np.log(pop_weight)
    pop_z = (lw - lw.mean()) / (lw.std() or 1.0)
    cat_median = np.array(
        [v[0] if cfg.category_price_levels else 10.0 for v in CATEGORIES.values()]
    )
    type_log2 = np.log2(cat_median[type_category]) + rng.normal(0, cfg.type_price_spread, n_types)
    log2_price = (
        type_log2[ptype]
        + rng.normal(0, cfg.within_type_price_sd, n)
        + cfg.price_popularity_slope * pop_z
    )
    price = np.maximum(np.round(2.0**log2_price, 2), 0.5)

    titles = []
    for i in range(n):
        words = [brand_names[brand[i]]]
        words += [attr_names[a] for a in attrs[i] if a >= 0]
        words.append(type_names[ptype[i]])
        titles.append(" ".join(words))
    ids = np.array([f"p{i:06d}" for i in range(n)], dtype=object)
    toks = [tokens(t) for t in titles]
    return Catalog(
        product_ids=ids,
        titles=titles,
        category_names=cat_names,
        category=pcat,
        type_names=type_names,
        product_type=ptype,
        type_category=type_category,
        brand_names=brand_names,
        brand=brand,
        attr_names=attr_names,
        attrs=attrs,
        price=price,
        pop_weight=pop_weight,
        type_complements=_complements(type_names, type_category, rng),
        tokens=toks,
    )
