"""WANDS, the Wayfair ANnotation DataSet (github.com/wayfair/WANDS, ``dataset/``).

Three tab-separated files: ``product.csv`` (product_id, product_name, product_class,
category_hierarchy, product_description, product_features, rating_count, average_rating,
review_count), ``query.csv`` (query_id, query, query_class) and ``label.csv`` (id, query_id,
product_id, label in Exact / Partial / Irrelevant).

Mapping: title = product_name, category = first level of category_hierarchy (``/``-separated;
broad like the paper's categories), product_type = product_class. Labels become grades
Exact 2, Partial 1, Irrelevant 0 and only Exact is relevant (``relevant_at`` 2), mirroring
ESCI where only Exact counts.
"""

from __future__ import annotations

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

__all__ = ["convert_wands"]

GRADES = {"Exact": 2, "Partial": 1, "Irrelevant": 0}


def _folder(source: Path) -> Path:
    # The release keeps the files in dataset/; accept the clone's root too.
    if source.is_dir() and not (source / "label.csv").exists() and (source / "dataset").is_dir():
        return source / "dataset"
    return source


def convert_wands(source: Path) -> Converted:
    """Convert WANDS product/query/label files to products + judgments."""
    folder = _folder(source)
    paths = {n: need_input(folder, f"{n}.csv") for n in ("product", "query", "label")}
    product = read_csv(paths["product"], sep="\t",
                       columns=["product_id", "product_name", "product_class",
                                "category_hierarchy"])
    query = read_csv(paths["query"], sep="\t", columns=["query_id", "query"])
    label = read_csv(paths["label"], sep="\t", columns=["query_id", "product_id", "label"])
    rows_read = {"product": len(product), "query": len(query), "label": len(label)}
    log = DropLog()

    product = log.drop(product, blank(product["product_id"]),
                       source="product", reason="blank_product_id", table="products")
    product = log.drop(product, blank(product["product_name"]),
                       source="product", reason="blank_title", table="products")
    product = log.drop(product, product["product_id"].duplicated(),
                       source="product", reason="duplicate_product_id", table="products")
    top = product["category_hierarchy"].str.split("/").str[0].str.strip()
    products = products_frame(
        product["product_id"], product["product_name"].str.strip(),
        category=top.where(~blank(top)),
        product_type=product["product_class"].where(~blank(product["product_class"])),
    )

    query_text = dict(zip(query["query_id"], query["query"], strict=True))
    label = label.assign(query=label["query_id"].map(query_text))
    label = log.drop(label, ~label["query_id"].isin(query_text.keys()),
                     source="label", reason="unknown_query_id", table="judgments")
    label = log.drop(label, blank_query(label["query"]),
                     source="label", reason="blank_query", table="judgments")
    label = log.drop(label, ~label["label"].isin(GRADES.keys()),
                     source="label", reason="unknown_label", table="judgments")
    label = log.drop(label, ~label["product_id"].isin(products["product_id"]),
                     source="label", reason="product_not_in_products", table="judgments")
    judgments = pd.DataFrame({
        "query": label["query"].to_numpy(),
        "product_id": label["product_id"].to_numpy(),
        "label": label["label"].map(GRADES).astype("int64").to_numpy(),
    })
    scale = LabelScale(
        kind="numeric", relevant_at=2.0, scale="grades: Exact 2, Partial 1, Irrelevant 0",
        mapping={k: str(v) for k, v in GRADES.items()},
        rationale="Exact is the only grade meaning 'what was asked for' (as ESCI's E); "
        "use --relevant-at 1 to count Partial matches as relevant too.",
    )
    notes = [
        "WANDS has no prices: products.price is null (price analyses are skipped)",
        "product_description and product_features are not carried: the contract's products "
        "table has no column for them",
    ]
    return Converted(
        tables={"products": products, "judgments": judgments}, rows_read=rows_read,
        dropped=log.drops, labels=scale, notes=notes,
    )
