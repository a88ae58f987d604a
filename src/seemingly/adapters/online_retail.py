"""UCI Online Retail (archive.ics.uci.edu, id 352): invoice lines of a UK online gift shop.

Columns: InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
Country; as Parquet or CSV (compressed accepted; the original Excel file must be saved as
CSV first). Becomes products + orders (no queries, so no offers or judgments).

Rules, all reported:
- StockCode is upper-cased (``85123a`` and ``85123A`` are the same product in the data).
- Service codes (postage, fees, discounts, manual fixes, gift vouchers; see
  ``NON_PRODUCT_CODES``) are not products: their lines are dropped everywhere.
- products: every remaining stock code. title = most frequent description on its
  positive-quantity lines (any line when it has none; the stock code as a last resort);
  price = median unit price of its lines with quantity > 0 and unit price > 0 (zero-price
  lines are free samples or manual fixes, not the product's price; none -> null);
  category from ``CATEGORY_KEYWORDS`` (first match on the title, else null -> "unknown").
- orders: one row per (invoice, product) of lines that are not cancellations (InvoiceNo
  starting with "C"), have a positive quantity, a customer and a readable date.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from seemingly.adapters._common import COMPRESSED, Converted, DropLog, products_frame
from seemingly.adapters._common import require_columns as _require
from seemingly.errors import ContractError

__all__ = ["convert_online_retail", "category_for"]

COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
           "CustomerID"]
NON_PRODUCT_CODES = frozenset({
    "POST", "DOT", "C2", "M", "D", "S", "B", "CRUK", "PADS", "AMAZONFEE", "BANK CHARGES",
})
NON_PRODUCT_PREFIXES = ("GIFT_",)  # gift vouchers gift_0001_10 ... gift_0001_50

#: Ordered keyword map (first match wins) from title words to a broad category. A heuristic
#: for relations and category curves; titles matching nothing get null ("unknown").
CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE")),
    ("candles & lighting", ("CANDLE", "T-LIGHT", "TEALIGHT", "LANTERN", "LIGHT", "LAMP")),
    ("bags", ("BAG", "TOTE", "PURSE", "SHOPPER")),
    ("stationery & wrapping", ("CARD", "WRAP", "PAPER", "NOTEBOOK", "PENCIL", "PEN", "STICKER",
                               "ENVELOPE", "TAPE", "RIBBON")),
    ("kitchen & dining", ("MUG", "CUP", "PLATE", "BOWL", "CAKE", "CAKESTAND", "CAKE CASES",
                          "TEA", "JAR", "LUNCH BOX", "BAKING", "SPOON", "NAPKIN", "TRAY",
                          "BOTTLE", "TIN", "TEAPOT", "COASTER")),
    ("toys & games", ("TOY", "GAME", "DOLL", "DOLLY", "PUZZLE", "JIGSAW", "SPACEBOY",
                      "SKITTLES", "BALLOON", "CRAYONS")),
    ("jewellery & accessories", ("NECKLACE", "BRACELET", "EARRINGS", "RING", "HAIR",
                                 "UMBRELLA", "KEYRING")),
    ("home decor", ("SIGN", "FRAME", "CLOCK", "CUSHION", "HOOK", "HEART", "DOORMAT", "VASE",
                    "DECORATION", "BUNTING", "GARLAND", "WALL", "MIRROR", "ORNAMENT")),
    ("garden", ("GARDEN", "PLANT", "POT", "WATERING", "BIRD")),
)
_PATTERNS = tuple(
    (name, re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")S?\b"))
    for name, words in CATEGORY_KEYWORDS
)


def category_for(title: str) -> str | None:
    """Broad category of an Online Retail title from ``CATEGORY_KEYWORDS``, or None."""
    upper = title.upper()
    for name, pattern in _PATTERNS:
        if pattern.search(upper):
            return name
    return None


def _find(source: Path) -> Path:
    if source.is_file():
        return source
    names = [f"{stem}{ext}{c}" for stem in ("online_retail", "Online Retail", "Online_Retail")
             for ext in (".parquet", ".csv") for c in (COMPRESSED if ext == ".csv" else ("",))]
    for name in names:
        if (source / name).is_file():
            return source / name
    raise FileNotFoundError(
        f"{source}: no Online Retail file (looked for online_retail.parquet / .csv[.gz]); an "
        "Excel original must be saved as CSV first"
    )


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif path.suffix in (".xlsx", ".xls"):
        raise ContractError(f"{path}: Excel is not read; save it as CSV (UTF-8) first")
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    _require(frame, COLUMNS, path)
    return frame


def _titles(lines: pd.DataFrame) -> pd.Series:
    described = lines[lines["Description"].notna() & (lines["Description"].str.strip() != "")]
    # Most frequent description per code; ties go to the alphabetically first (reproducible).
    counts = (described.assign(positive=described["Quantity"] > 0)
              .groupby(["StockCode", "positive", "Description"]).size()
              .rename("n").reset_index()
              .sort_values(["StockCode", "positive", "n", "Description"],
                           ascending=[True, False, False, True]))
    return counts.drop_duplicates("StockCode").set_index("StockCode")["Description"].str.strip()


def convert_online_retail(source: Path) -> Converted:
    """Convert UCI Online Retail invoice lines to products (with prices) + orders."""
    path = _find(source)
    lines = _read(path)
    rows_read = {"lines": len(lines)}
    log = DropLog()
    notes: list[str] = []
    code = lines["StockCode"].astype("string").str.strip()
    upper = code.str.upper()
    changed = int((code != upper).fillna(False).sum())
    if changed:
        notes.append(f"{changed} lines had a lower-case StockCode; codes are upper-cased")
    lines = lines.assign(
        StockCode=upper, InvoiceNo=lines["InvoiceNo"].astype("string").str.strip(),
        Description=lines["Description"].astype("string"),
        Quantity=pd.to_numeric(lines["Quantity"], errors="coerce"),
        UnitPrice=pd.to_numeric(lines["UnitPrice"], errors="coerce"),
        CustomerID=pd.to_numeric(lines["CustomerID"], errors="coerce"),
        InvoiceDate=pd.to_datetime(lines["InvoiceDate"], errors="coerce", format="mixed"),
    )
    lines = log.drop(lines, lines["StockCode"].isna() | (lines["StockCode"] == ""),
                     source="lines", reason="blank_stock_code", table="orders")
    service = lines["StockCode"].isin(NON_PRODUCT_CODES) | lines["StockCode"].str.startswith(
        NON_PRODUCT_PREFIXES)
    lines = log.drop(lines, service, source="lines", reason="non_product_code", table="orders")

    titles = _titles(lines)
    codes = pd.Series(lines["StockCode"].unique(), dtype=object)
    title = codes.map(titles)
    if title.isna().any():
        notes.append(f"{int(title.isna().sum())} products have no description; their title is "
                     "the stock code")
        title = title.fillna(codes)
    priced = lines[(lines["Quantity"] > 0) & (lines["UnitPrice"] > 0)]
    price = codes.map(priced.groupby("StockCode")["UnitPrice"].median())
    category = title.map(category_for)
    products = products_frame(codes, title, category=category, price=price)
    notes.append(f"categories from a title keyword map: {int(category.notna().sum())} of "
                 f"{len(codes)} products matched, the rest are null ('unknown')")

    cancelled = lines["InvoiceNo"].str.startswith("C").fillna(False)
    lines = log.drop(lines, cancelled, source="lines", reason="cancellation", table="orders")
    lines = log.drop(lines, ~(lines["Quantity"] > 0),
                     source="lines", reason="non_positive_quantity", table="orders")
    lines = log.drop(lines, lines["CustomerID"].isna(),
                     source="lines", reason="no_customer", table="orders")
    lines = log.drop(lines, lines["InvoiceDate"].isna(),
                     source="lines", reason="bad_invoice_date", table="orders")
    lines = log.drop(lines, lines.duplicated(["InvoiceNo", "StockCode"]),
                     source="lines", reason="same_product_in_invoice_merged", table="orders")
    customer = lines["CustomerID"].to_numpy(dtype=float)
    user = [str(int(c)) if float(c).is_integer() else str(c) for c in customer]
    orders = pd.DataFrame({
        "order_id": lines["InvoiceNo"].astype(str).to_numpy(),
        "user_id": np.asarray(user, dtype=object),
        "product_id": lines["StockCode"].astype(str).to_numpy(),
        "timestamp": lines["InvoiceDate"].to_numpy(),
    })
    return Converted(tables={"products": products, "orders": orders}, rows_read=rows_read,
                     dropped=log.drops, labels=None, notes=notes)
