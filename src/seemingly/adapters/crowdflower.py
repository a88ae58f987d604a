"""CrowdFlower Search Results Relevance (Kaggle 2015).

``train.csv``: id, query, product_title, product_description (HTML), median_relevance (1-4,
the median of the raters' grades) and relevance_variance (the variance of those grades).
There are no product ids: a product is identified by its title and description, hashed into
a stable id ``cf-<12 hex>``, so the same listing judged for several queries is one product.

Recommended relevant_at 3: on the 1-4 scale 3 and 4 are the two upper grades (the task's
"good" and "excellent" matches), so a median of 3 or more means most raters found it relevant.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from seemingly.adapters._common import (
    Converted,
    DropLog,
    blank,
    blank_query,
    need_input,
    products_frame,
    read_csv,
)
from seemingly.adapters.conversion import LabelScale

__all__ = ["convert_crowdflower", "product_id_for"]


def product_id_for(title: str, description: str | None) -> str:
    """Stable id of a CrowdFlower listing: ``cf-`` + 12 hex digits of SHA-1(title, description)."""
    text = f"{title.strip()}\x1f{(description or '').strip()}"
    return "cf-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def convert_crowdflower(source: Path) -> Converted:
    """Convert CrowdFlower train.csv to products + judgments (label = median_relevance)."""
    path = need_input(source, "train.csv")
    train = read_csv(path, columns=["query", "product_title", "median_relevance"])
    rows_read = {"train": len(train)}
    log = DropLog()
    grade = pd.to_numeric(train["median_relevance"], errors="coerce")
    train = train.assign(grade=grade)
    train = log.drop(train, blank_query(train["query"]),
                     source="train", reason="blank_query", table="judgments")
    train = log.drop(train, blank(train["product_title"]),
                     source="train", reason="blank_title", table="judgments")
    train = log.drop(train, ~train["grade"].isin([1, 2, 3, 4]),
                     source="train", reason="median_relevance_not_in_1_4", table="judgments")
    description = (train["product_description"] if "product_description" in train.columns
                   else pd.Series([None] * len(train), index=train.index))
    ids = [
        product_id_for(t, None if pd.isna(d) else d)
        for t, d in zip(train["product_title"], description, strict=True)
    ]
    train = train.assign(product_id=ids)
    first = train.drop_duplicates("product_id")
    products = products_frame(first["product_id"], first["product_title"].str.strip())
    judgments = pd.DataFrame({
        "query": train["query"].to_numpy(),
        "product_id": train["product_id"].to_numpy(),
        "label": train["grade"].astype("int64").to_numpy(),
    })
    scale = LabelScale(
        kind="numeric", relevant_at=3.0, scale="median of the raters' grades on 1-4",
        rationale="3 and 4 are the upper half of the 1-4 scale: a median >= 3 means most "
        "raters judged the product a good match. Use --relevant-at 4 for a strict reading.",
    )
    notes = [
        "no product ids in the data: products are identified by SHA-1 of (title, description)",
        "no prices or categories: products.price and products.category are null",
        "product_description (HTML) and relevance_variance are not carried: the contract has "
        "no column for them (bench/experiments/real_data_checks.py reports the raters' "
        "disagreement)",
    ]
    return Converted(
        tables={"products": products, "judgments": judgments}, rows_read=rows_read,
        dropped=log.drops, labels=scale, notes=notes,
    )
