"""A real catalog (e.g. converted UCI Online Retail) with simulated search on top.

Real: titles, prices, popularity (order counts) and baskets (the orders themselves are the
history). Derived, when the catalog leaves them empty:

- product type: the last word of the title that is not a colour, pattern, size or filler
  ("WHITE HANGING HEART T-LIGHT HOLDER" -> "holder", "JUMBO BAG RED RETROSPOT" -> "bag"),
  with a trailing plural "s" removed;
- category: the first keyword group (``CATEGORY_KEYWORDS``) that the type, else any title
  word, belongs to; "other" when none does;
- attribute: up to two colour/pattern/size words of the title (``ATTRIBUTES``);
- complements: for each type, the two types with the highest lift of appearing in the same
  order (at least 2 shared orders);
- missing, zero or negative prices: the type's median price (else the catalog's).

Simulated: queries (type words, optionally an attribute), pools, judgments, offers.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from seemingly.simulate.catalog import Catalog, tokens
from seemingly.simulate.config import WorldConfig

__all__ = ["load_retail_catalog", "CATEGORY_KEYWORDS", "ATTRIBUTES"]

ATTRIBUTES = frozenset(
    "red pink blue white green black ivory cream gold silver purple yellow orange grey brown "
    "vintage retrospot polkadot paisley spotty floral jumbo large small mini giant tiny "
    "glass wooden metal enamel ceramic zinc heart hearts star woodland regency".split()
)
_NOT_TYPE = ATTRIBUTES | frozenset(
    "design set of the and in with for a to sign assorted colour colours pack "
    "christmas london skulls spaceboy apples calm kit tier home finish".split()
)
CATEGORY_KEYWORDS: dict[str, frozenset[str]] = {
    k: frozenset(v.split())
    for k, v in {
        "toys": "toy game doll puzzle jigsaw skittle domino dominoe playhouse crayon spaceboy "
        "soldier ball marble",
        "party": "bunting party balloon garland napkin decoration ornament bauble wrap "
        "christmas cracker confetti",
        "beauty": "soap bath lip nail comb perfume mirror lotion sponge",
        "food": "tea coffee jam sweet chocolate biscuit sugar candy honey herb cake cases",
        "kitchen": "mug cup saucer bowl plate spoon fork jar tin teapot cutlery tray bottle "
        "cutter lunch pantry recipe apron glass tumbler beaker",
        "home": "holder candle lantern light clock frame cushion cover doormat hook hanger "
        "vase knob drawer chalkboard doily doilie towel",
        "stationery": "notebook pen pencil paper card postage envelope sticker tape diary calendar",
        "bags": "bag purse tote backpack shopper",
        "garden": "garden plant pot seed flower watering bird",
        "jewellery": "necklace earring bracelet ring brooch charm",
    }.items()
}
_WORD = re.compile(r"[a-z]+")
_KEYWORDS = frozenset().union(*CATEGORY_KEYWORDS.values())


def _singular(w: str) -> str:
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def derive_type(title: str) -> str:
    words = [_singular(w) for w in _WORD.findall(title.lower())]
    # A known product word beats position ("MINI JIGSAW LEAP FROG" is a jigsaw).
    for w in reversed(words):
        if w in _KEYWORDS and w not in _NOT_TYPE:
            return w
    for w in reversed(words):
        if w not in _NOT_TYPE and len(w) > 2:
            return w
    return words[-1] if words else "item"


def derive_category(ptype: str, title: str) -> str:
    words = [ptype] + [_singular(w) for w in _WORD.findall(title.lower())]
    for w in words:
        for cat, keys in CATEGORY_KEYWORDS.items():
            if w in keys:
                return cat
    return "other"


def _read(folder: Path, table: str) -> pd.DataFrame | None:
    for path in [folder / f"{table}.parquet", folder / table]:
        if path.exists() and (path.is_file() or any(path.glob("*.parquet"))):
            return pd.read_parquet(path)
    if (folder / f"{table}.csv").exists():
        return pd.read_csv(folder / f"{table}.csv")
    if (folder / f"{table}.jsonl").exists():
        return pd.read_json(folder / f"{table}.jsonl", lines=True)
    return None


def _complements(order_ids: np.ndarray, types: np.ndarray, n_types: int) -> list[list[int]]:
    basket = pd.DataFrame({"o": order_ids, "t": types}).drop_duplicates()
    pairs = basket.merge(basket, on="o")
    pairs = pairs[pairs.t_x != pairs.t_y]
    n_orders = max(basket.o.nunique(), 1)
    together = pairs.groupby(["t_x", "t_y"]).size().rename("n").reset_index()
    support = basket.groupby("t").size()
    together["lift"] = (
        together.n
        * n_orders
        / (support[together.t_x].to_numpy() * support[together.t_y].to_numpy())
    )
    together = together[together.n >= 2].sort_values(["t_x", "lift"], ascending=[True, False])
    out: list[list[int]] = [[] for _ in range(n_types)]
    for t, grp in together.groupby("t_x"):
        out[int(str(t))] = [int(u) for u in grp.t_y.head(2)]
    return out


def load_retail_catalog(
    folder: Path, world: WorldConfig, rng: np.random.Generator
) -> tuple[Catalog, tuple[np.ndarray, ...] | None]:
    """Read ``folder``'s products (+ orders) into a ``Catalog`` and the real order history."""
    products = _read(folder, "products")
    if products is None:
        raise ValueError(
            f"retail catalog {folder}: no products.parquet/.csv/.jsonl or "
            "products/ folder; convert the data to the contract first"
        )
    missing = {"product_id", "title"} - set(products.columns)
    if missing:
        raise ValueError(f"retail catalog {folder}: products lacks column(s) {sorted(missing)}")
    products = products.drop_duplicates("product_id").reset_index(drop=True)
    for col in ("category", "price", "brand", "product_type"):
        if col not in products.columns:
            products[col] = None
    titles = products.title.astype(str).str.strip().tolist()
    ptype_s = [
        t if isinstance(t, str) and t.strip() else derive_type(ti)
        for t, ti in zip(products.product_type, titles, strict=True)
    ]
    cat_s = [
        c
        if isinstance(c, str) and c.strip() and c != "unknown"
        else derive_category(_singular(pt.split()[-1].lower()), ti)
        for c, pt, ti in zip(products.category, ptype_s, titles, strict=True)
    ]
    type_names = sorted(set(ptype_s))
    cat_names = sorted(set(cat_s))
    ptype = pd.Categorical(ptype_s, categories=type_names).codes.astype(np.int64)
    pcat = pd.Categorical(cat_s, categories=cat_names).codes.astype(np.int64)
    type_cat = pd.Series(pcat).groupby(ptype).agg(lambda s: s.mode().iloc[0])
    type_category = type_cat.reindex(range(len(type_names))).to_numpy().astype(np.int64)
    brand_s = products.brand.where(products.brand.notna(), None)
    brand_names = sorted({b for b in brand_s if isinstance(b, str)})
    brand_no = {b: i for i, b in enumerate(brand_names)}
    brand = np.array(
        [brand_no.get(b, -1) if isinstance(b, str) else -1 for b in brand_s], dtype=np.int64
    )
    attr_names = sorted(ATTRIBUTES)
    attr_no = {a: i for i, a in enumerate(attr_names)}
    attrs = np.full((len(titles), 2), -1, dtype=np.int64)
    for i, ti in enumerate(titles):
        found = [attr_no[w] for w in dict.fromkeys(_WORD.findall(ti.lower())) if w in ATTRIBUTES][
            :2
        ]
        attrs[i, : len(found)] = found

    given = pd.to_numeric(products.price, errors="coerce").where(lambda s: s > 0)
    given = given.fillna(given.groupby(ptype).transform("median"))
    price = given.fillna(given.median() if given.notna().any() else 10.0).to_numpy(float)

    ids = products.product_id.astype(str).to_numpy(dtype=object)
    index = pd.Series(np.arange(len(ids)), index=ids)
    orders = _read(folder, "orders")
    real = None
    counts = np.zeros(len(ids))
    complements: list[list[int]] = [[] for _ in type_names]
    if orders is not None and len(orders):
        o = orders.dropna(subset=["user_id", "product_id", "timestamp"])
        o = o[o.product_id.astype(str).isin(index.index)]
        prod = index[o.product_id.astype(str)].to_numpy()
        counts = np.bincount(prod, minlength=len(ids)).astype(float)
        users, user = np.unique(o.user_id.astype(str).to_numpy(), return_inverse=True)
        ts = pd.to_datetime(o.timestamp).to_numpy("datetime64[us]").astype(np.int64)
        complements = _complements(o.order_id.astype(str).to_numpy(), ptype[prod], len(type_names))
        real = (
            users.astype(object),
            user.astype(np.int64),
            prod.astype(np.int64),
            ts,
            o.order_id.astype(str).to_numpy(dtype=object),
        )
    cat = Catalog(
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
        pop_weight=counts + 1.0,
        type_complements=complements,
        tokens=[tokens(f"{t} {pt}") for t, pt in zip(titles, ptype_s, strict=True)],
    )
    return cat, real
