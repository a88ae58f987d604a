"""Groceries basket data (Kaggle "Groceries dataset"): Member_number, Date, itemDescription.

Orders only, no prices or categories: a member is a user, and one member's items on one day
(``Date`` is DD-MM-YYYY) form one order ``<member>-<YYYY-MM-DD>``. The item text is both the
product id and its title. An item listed twice in one order is written once (counted).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seemingly.adapters._common import COMPRESSED, Converted, DropLog, blank, products_frame
from seemingly.adapters._common import read_csv as _read_csv

__all__ = ["convert_groceries"]

COLUMNS = ["Member_number", "Date", "itemDescription"]


def _find(source: Path) -> Path:
    if source.is_file():
        return source
    found = sorted(p for p in source.iterdir()
                   if any(p.name.lower().endswith(".csv" + c) for c in COMPRESSED))
    if len(found) != 1:
        raise FileNotFoundError(
            f"{source}: expected exactly one CSV (e.g. Groceries_dataset.csv), found "
            f"{[p.name for p in found]}; pass the file itself as SOURCE"
        )
    return found[0]


def convert_groceries(source: Path) -> Converted:
    """Convert grocery basket lines to products + orders (one order per member-day)."""
    path = _find(source)
    lines = _read_csv(path, columns=COLUMNS)
    src = path.name.split(".")[0]
    rows_read = {src: len(lines)}
    log = DropLog()
    lines = lines.assign(
        member=lines["Member_number"].str.strip(),
        item=lines["itemDescription"].str.strip(),
        day=pd.to_datetime(lines["Date"].str.strip(), format="%d-%m-%Y", errors="coerce"),
    )
    lines = log.drop(lines, blank(lines["member"]), source=src, reason="no_member",
                     table="orders")
    lines = log.drop(lines, lines["day"].isna(), source=src, reason="bad_date", table="orders")
    lines = log.drop(lines, blank(lines["item"]), source=src, reason="no_item", table="orders")
    order_id = lines["member"] + "-" + lines["day"].dt.strftime("%Y-%m-%d")
    lines = lines.assign(order_id=order_id)
    lines = log.drop(lines, lines.duplicated(["order_id", "item"]), source=src,
                     reason="same_item_in_order_merged", table="orders")
    items = pd.Series(sorted(lines["item"].unique()), dtype=object)
    products = products_frame(items, items)
    orders = pd.DataFrame({
        "order_id": lines["order_id"].astype(str).to_numpy(),
        "user_id": lines["member"].astype(str).to_numpy(),
        "product_id": lines["item"].astype(str).to_numpy(),
        "timestamp": lines["day"].to_numpy(),
    })
    notes = [
        "orders are member-days (the data has no basket id); timestamps are dates at 00:00",
        "no prices or categories: products.price and products.category are null",
    ]
    return Converted(tables={"products": products, "orders": orders}, rows_read=rows_read,
                     dropped=log.drops, labels=None, notes=notes)
