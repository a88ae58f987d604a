"""ESCI judgments as the OpenSearch search-relevance tools ship them (JSON, ratings 100/10/1/0).

``{"judgmentRatings": [{"query": ..., "ratings": [{"docId": ASIN, "rating": "100.000"}]}]}``
plus an optional ``*queryset*.json`` (``{"querySetQueries": [{"queryText": ...}]}``).
The ratings 100/10/1/0 are read as E/S/C/I; the variant does not document that, so the
mapping is written out as *unconfirmed* in conversion.json and dataset.json. The file has no
product text: each product's title is its ASIN (so the semantic relation is meaningless).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from seemingly.adapters._common import Converted, DropLog, blank_query, products_frame
from seemingly.adapters.conversion import LabelScale
from seemingly.errors import ContractError

__all__ = ["convert_esci_judgments"]

RATING_TO_ESCI = {100.0: "E", 10.0: "S", 1.0: "C", 0.0: "I"}


def find_judgments(source: Path) -> Path | None:
    if source.is_file():
        return source
    found = sorted(source.glob("*judgments*.json"))
    return found[0] if found else None


def _queryset(folder: Path) -> set[str] | None:
    found = sorted(folder.glob("*queryset*.json"))
    if not found:
        return None
    data = json.loads(found[0].read_text())
    return {q["queryText"] for q in data.get("querySetQueries", []) if "queryText" in q}


def convert_esci_judgments(source: Path) -> Converted:
    """Convert an OpenSearch ESCI judgments JSON (folder or file) to products + judgments."""
    path = find_judgments(source)
    if path is None:
        raise FileNotFoundError(
            f"{source}: no *judgments*.json found; point SOURCE at the file or its folder"
        )
    try:
        data = json.loads(path.read_text())
        groups = data["judgmentRatings"]
        rows = [
            (g["query"], r["docId"], r["rating"]) for g in groups for r in g.get("ratings", [])
        ]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ContractError(
            f"{path}: not an OpenSearch judgments file ({exc!r}); expected "
            '{"judgmentRatings": [{"query": .., "ratings": [{"docId": .., "rating": ..}]}]}'
        ) from exc
    frame = pd.DataFrame(rows, columns=["query", "product_id", "rating"])
    log = DropLog()
    rating = pd.to_numeric(frame["rating"], errors="coerce")
    frame = frame.assign(label=rating.map(RATING_TO_ESCI))
    frame = log.drop(frame, blank_query(frame["query"]),
                     source=path.stem, reason="blank_query", table="judgments")
    frame = log.drop(frame, frame["label"].isna(),
                     source=path.stem, reason="unknown_rating", table="judgments")
    frame = log.drop(frame, frame["product_id"].isna() | (frame["product_id"].str.strip() == ""),
                     source=path.stem, reason="blank_product_id", table="judgments")
    ids = pd.Series(frame["product_id"].unique())
    products = products_frame(ids, ids)
    judgments = frame[["query", "product_id", "label"]].reset_index(drop=True)
    notes = [
        "ratings 100/10/1/0 mapped to E/S/C/I: the mapping is UNCONFIRMED (the variant does "
        "not document it); check before drawing conclusions",
        f"no product text: the {len(products)} products' titles are their ASINs, so the "
        "semantic relation is meaningless here; no prices or categories (null)",
    ]
    queries = _queryset(path.parent)
    rows_read = {path.stem: len(rows)}
    if queries is not None:
        judged = set(judgments["query"])
        notes.append(
            f"query set: {len(queries)} queries, {len(queries - judged)} without judgments, "
            f"{len(judged - queries)} judged queries not in it"
        )
    scale = LabelScale(
        kind="esci", esci_relevant=("E",),
        scale="ESCI letters mapped from OpenSearch ratings",
        mapping={"100": "E", "10": "S", "1": "C", "0": "I"}, mapping_confirmed=False,
        rationale="Only Exact is relevant, as for the official release; the rating-to-letter "
        "mapping follows the ratings' order and frequencies but is not documented.",
    )
    return Converted(
        tables={"products": products, "judgments": judgments}, rows_read=rows_read,
        dropped=log.drops, labels=scale, notes=notes,
    )
