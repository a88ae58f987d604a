"""Home Depot Product Search Relevance (Kaggle 2016).

``train.csv`` (latin-1): id, product_uid, product_title, search_term, relevance, where
relevance is the mean of at least three raters' grades on 1 (irrelevant), 2 (partly
relevant), 3 (perfect match), e.g. 2.33. Optional beside it: ``product_descriptions.csv``
(product_uid, product_description; only counted, the contract has no description column;
a ``*descriptions*`` sample file is accepted too) and ``attributes.csv`` (product_uid, name,
value; the ``MFG Brand Name`` attribute becomes the brand).

Recommended relevant_at 2.5: the midpoint between "partly" and "perfect". With three raters
it means "at least two said perfect and nobody said irrelevant" (3,3,2 -> 2.67 is relevant;
3,3,1 and 3,2,2 -> 2.33 are not), the closest this scale comes to ESCI's Exact.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seemingly.adapters._common import (
    COMPRESSED,
    Converted,
    DropLog,
    blank,
    blank_query,
    find_input,
    need_input,
    products_frame,
    read_csv,
)
from seemingly.adapters.conversion import LabelScale

__all__ = ["convert_homedepot"]

ENCODING = "latin-1"  # the competition files are not UTF-8
BRAND_ATTRIBUTE = "MFG Brand Name"


def _descriptions(folder: Path) -> Path | None:
    path = find_input(folder, "product_descriptions.csv", required=False)
    if path is None:
        found = sorted(
            p for p in folder.glob("product_descriptions*")
            if any(p.name.endswith(".csv" + s) for s in COMPRESSED)
        )
        path = found[0] if found else None
    return path


def convert_homedepot(source: Path) -> Converted:
    """Convert Home Depot train.csv (+ optional descriptions, attributes) to tables."""
    folder = source.parent if source.is_file() else source
    train_path = need_input(source, "train.csv")
    train = read_csv(train_path, encoding=ENCODING,
                     columns=["product_uid", "product_title", "search_term", "relevance"])
    rows_read = {"train": len(train)}
    log = DropLog()
    train = train.assign(grade=pd.to_numeric(train["relevance"], errors="coerce"))
    train = log.drop(train, blank(train["product_uid"]),
                     source="train", reason="blank_product_uid", table="judgments")
    train = log.drop(train, blank(train["product_title"]),
                     source="train", reason="blank_title", table="judgments")
    train = log.drop(train, blank_query(train["search_term"]),
                     source="train", reason="blank_query", table="judgments")
    train = log.drop(train, ~train["grade"].between(1.0, 3.0),
                     source="train", reason="relevance_not_in_1_3", table="judgments")

    first = train.drop_duplicates("product_uid")
    notes = [
        "Home Depot train.csv has no prices or categories: products.price and "
        "products.category are null (price analyses are skipped, category reads 'unknown')",
    ]
    titles = train.groupby("product_uid")["product_title"].nunique()
    if (titles > 1).any():
        notes.append(f"{int((titles > 1).sum())} product_uids have several titles; the first "
                     "one in file order is kept")

    brand = None
    attr_path = find_input(folder, "attributes.csv", required=False)
    if attr_path is not None:
        attrs = read_csv(attr_path, encoding=ENCODING, columns=["product_uid", "name", "value"])
        rows_read["attributes"] = len(attrs)
        brands = attrs[attrs["name"] == BRAND_ATTRIBUTE].drop_duplicates("product_uid")
        brand = first["product_uid"].map(dict(zip(brands["product_uid"], brands["value"],
                                                  strict=True)))
        notes.append(f"attributes: brand from {BRAND_ATTRIBUTE!r} for "
                     f"{int(brand.notna().sum())} of {len(first)} products; other attributes "
                     "are not carried")
    desc_path = _descriptions(folder)
    if desc_path is not None:
        desc = read_csv(desc_path, encoding=ENCODING,
                        columns=["product_uid", "product_description"])
        rows_read[desc_path.name.split(".")[0]] = len(desc)
        covered = int(first["product_uid"].isin(desc["product_uid"]).sum())
        notes.append(f"descriptions read for {covered} of {len(first)} products but not "
                     "written: the contract's products table has no description column")

    products = products_frame(first["product_uid"], first["product_title"].str.strip(),
                              brand=brand)
    judgments = pd.DataFrame({
        "query": train["search_term"].to_numpy(),
        "product_id": train["product_uid"].to_numpy(),
        "label": train["grade"].astype(float).to_numpy(),
    })
    scale = LabelScale(
        kind="numeric", relevant_at=2.5,
        scale="mean of >= 3 raters' grades on 1 (irrelevant) - 3 (perfect match)",
        rationale="2.5 is the midpoint of 'partly relevant' (2) and 'perfect match' (3); "
        "with three raters it means at least two said 3 and none said 1, the closest "
        "analogue of ESCI's Exact. Use --relevant-at 2 for a lenient reading.",
    )
    return Converted(
        tables={"products": products, "judgments": judgments}, rows_read=rows_read,
        dropped=log.drops, labels=scale, notes=notes,
    )
