"""Amazon Shopping Queries (ESCI), official release: examples + products Parquet files.

Layout (github.com/amazon-science/esci-data, ``shopping_queries_dataset/``):
``shopping_queries_dataset_examples.parquet`` (example_id, query, query_id, product_id,
product_locale, esci_label, small_version, large_version, split) and
``shopping_queries_dataset_products.parquet`` (product_id, product_title, product_description,
product_bullet_point, product_brand, product_color, product_locale). ASINs repeat across
locales, so one locale is converted at a time. Labels are written as the E/S/C/I letters.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from seemingly.adapters._common import (
    Converted,
    DropLog,
    blank,
    blank_query,
    products_frame,
    require_columns,
)
from seemingly.adapters.conversion import LabelScale
from seemingly.text import LOCALE_LANGUAGE

__all__ = ["convert_esci"]

EXAMPLES = "shopping_queries_dataset_examples.parquet"
PRODUCTS = "shopping_queries_dataset_products.parquet"
ESCI_LETTERS = ("E", "S", "C", "I")

ESCI_SCALE = LabelScale(
    kind="esci",
    esci_relevant=("E",),
    scale="ESCI letters: E exact, S substitute, C complement, I irrelevant",
    rationale="Only Exact matches what the customer asked for; the paper and the contract "
    "read S, C and I as not relevant (configurable).",
)


def _read_parquet(path: Path, columns: list[str]) -> pd.DataFrame:
    # Read only the needed columns: the products file's descriptions are gigabytes.
    present = pq.read_schema(path).names
    require_columns(pd.DataFrame(columns=present), columns, path)
    return pd.read_parquet(path, columns=columns)


def convert_esci(source: Path, *, locale: str = "us") -> Converted:
    """Convert the official ESCI Parquet release (one locale) to products + judgments.

    When the folder holds no official files but an OpenSearch ``*judgments*.json`` (the
    100/10/1/0 variant), that variant is converted instead and the report says so.
    """
    folder = source.parent if source.is_file() else source
    if not (folder / EXAMPLES).is_file() and not (folder / PRODUCTS).is_file():
        from seemingly.adapters.esci_judgments import convert_esci_judgments, find_judgments

        if find_judgments(folder) is not None:
            converted = convert_esci_judgments(folder)
            converted.notes.insert(
                0, "autodetected the OpenSearch ESCI judgments variant (no official Parquet "
                f"files in {folder}); --locale does not apply to it"
            )
            return converted
        raise FileNotFoundError(
            f"{folder}: neither {EXAMPLES} nor {PRODUCTS} found, and no *judgments*.json; "
            "point SOURCE at the esci-data shopping_queries_dataset folder"
        )
    for name in (EXAMPLES, PRODUCTS):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: {name} is missing; ESCI needs both files")
    examples = _read_parquet(
        folder / EXAMPLES, ["query", "product_id", "product_locale", "esci_label"]
    )
    products = _read_parquet(
        folder / PRODUCTS, ["product_id", "product_title", "product_brand", "product_locale"]
    )
    log = DropLog()
    rows_read = {"examples": len(examples), "products": len(products)}
    known = sorted(set(examples["product_locale"].dropna().unique()))
    if locale not in known:
        raise ValueError(f"--locale {locale!r} is not in {folder / EXAMPLES}; it has {known}")

    products = log.drop(products, products["product_locale"] != locale,
                        source="products", reason="other_locale", table="products")
    products = log.drop(products, blank(products["product_title"]),
                        source="products", reason="blank_title", table="products")
    products = log.drop(products, products["product_id"].duplicated(),
                        source="products", reason="duplicate_product_id", table="products")

    examples = log.drop(examples, examples["product_locale"] != locale,
                        source="examples", reason="other_locale", table="judgments")
    examples = log.drop(examples, blank_query(examples["query"]),
                        source="examples", reason="blank_query", table="judgments")
    examples = log.drop(examples, ~examples["esci_label"].isin(ESCI_LETTERS),
                        source="examples", reason="unknown_label", table="judgments")
    examples = log.drop(examples, ~examples["product_id"].isin(products["product_id"]),
                        source="examples", reason="product_not_in_products", table="judgments")

    brand = products["product_brand"].where(~blank(products["product_brand"]))
    out_products = products_frame(products["product_id"], products["product_title"], brand=brand)
    judgments = pd.DataFrame({
        "query": examples["query"].to_numpy(),
        "product_id": examples["product_id"].to_numpy(),
        "label": examples["esci_label"].astype(str).to_numpy(),
    })
    notes = [
        f"locale {locale!r}; ESCI has no prices or categories: products.price and "
        "products.category are null (price analyses are skipped, category reads 'unknown')",
        "product_description, product_bullet_point and product_color are not carried: the "
        "contract's products table has no column for them",
    ]
    return Converted(
        tables={"products": out_products, "judgments": judgments}, rows_read=rows_read,
        dropped=log.drops, labels=ESCI_SCALE, notes=notes,
        language=LOCALE_LANGUAGE.get(locale),
    )
