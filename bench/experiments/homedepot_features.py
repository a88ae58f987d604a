"""Prototype query-title features for the Home Depot benchmark (candidates for the toolkit).

Computed from the query, the candidate's title and catalogue title statistics only (no labels,
nothing a ranking service would not have). Each is measured by bench_homedepot_relevance.py
with the same cross-validation as the toolkit's features, group by group; the ones that help
are described there so they can be moved into seemingly.ranking.features.matrix.

Text normalisation (``norm_tokens``): lower case, ``"`` -> inch and ``'`` -> foot, numbers
split from letters ("2x4" -> 2 x 4, "3/4in" -> 3/4 in), fractions and decimals kept whole,
unit spellings mapped to one form (inch / inches / in -> in), plural / -ing / -ed stripped.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pandas as pd

__all__ = ["GROUPS", "norm_tokens", "prototype_features"]

_TOK = re.compile(r"\d+(?:[./]\d+)*|[a-z]+")
UNITS = {"in": "in", "inch": "in", "inches": "in", "ft": "ft", "feet": "ft", "foot": "ft",
         "gal": "gal", "gallon": "gal", "gallons": "gal", "lb": "lb", "lbs": "lb",
         "pound": "lb", "pounds": "lb", "oz": "oz", "ounce": "oz", "ounces": "oz", "sq": "sq",
         "cu": "cu", "cubic": "cu", "v": "volt", "volt": "volt", "volts": "volt", "w": "watt",
         "watt": "watt", "watts": "watt", "amp": "amp", "amps": "amp", "mm": "mm", "cm": "cm",
         "btu": "btu", "qt": "qt", "quart": "qt", "yd": "yd", "yard": "yd", "gauge": "ga",
         "ga": "ga"}
_UNIT_FORMS = frozenset(UNITS.values())
STOP = frozenset({"for", "with", "and", "the", "a", "of", "to", "in", "x", "by", "or", "on"})
# the title's own product comes before what it fits, holds or is coloured in
_HEAD_END = re.compile(r"\s(?:for|with|in|-)\s|[,(]")

# feature groups, as the benchmark adds them to the toolkit's features
GROUPS: dict[str, list[str]] = {
    "normalised + edit-distance coverage": ["norm_coverage", "edit_coverage",
                                            "edit_coverage_gap"],
    "IDF-weighted coverage": ["idf_coverage", "idf_coverage_gap", "missing_idf",
                              "missing_idf_gap", "query_idf"],
    "title type word": ["type_in_query", "type_is_last"],
    "title head part": ["head_coverage", "head_coverage_gap"],
    "first match position": ["first_match_position"],
    "brand, bigrams, last two words, units": ["brand_in_query", "bigram_coverage",
                                              "last2_coverage", "unit_match"],
}


def stem(w: str) -> str:
    """Unit spellings to one form; crude English suffix stripping for longer words."""
    if w in UNITS:
        return UNITS[w]
    if w[0].isdigit() or len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    if w.endswith("ing") and len(w) > 5:
        return w[:-3]
    if w.endswith("ed") and len(w) > 4:
        return w[:-2]
    return w


def norm_tokens(text: str) -> list[str]:
    t = str(text).casefold().replace('"', " in ").replace("'", " ft ")
    t = re.sub(r"(\d)([a-z])", r"\1 \2", t)
    t = re.sub(r"([a-z])(\d)", r"\1 \2", t)
    return [stem(w) for w in _TOK.findall(t)]


def _deletes(w: str) -> set[str]:
    """The word and its one-letter deletions: two words within one edit (insertion,
    deletion, substitution; transposition mostly) share one of these (SymSpell's trick)."""
    return {w[:i] + w[i + 1:] for i in range(len(w))} | {w}


class _Text:
    """Normalised tokens of a title or query and the sets the features look up."""

    def __init__(self, text: str) -> None:
        t = norm_tokens(text)
        self.toks = t
        self.set = set(t)
        self.bigrams = set(zip(t, t[1:], strict=False))
        self.concat = {a + b for a, b in zip(t, t[1:], strict=False)}
        self.dels: set[str] = set()
        for w in self.set:
            if len(w) >= 5 and not w[0].isdigit():
                self.dels |= _deletes(w)
        self.pos: dict[str, int] = {}
        for i, w in enumerate(t):
            self.pos.setdefault(w, i)
        head = norm_tokens(_HEAD_END.split(f" {str(text).casefold()} ")[0]) or t
        self.head = set(head)
        words = [w for w in head if not w[0].isdigit() and w not in _UNIT_FORMS]
        self.type = words[-1] if words else None
        self.brand = next((w for w in t if not w[0].isdigit() and w not in STOP), None)
        self.units = {a + b for a, b in zip(t, t[1:], strict=False)
                      if a[0].isdigit() and b in _UNIT_FORMS}


def _row(Q: _Text, T: _Text, idf: dict[str, float], default_idf: float) -> list[float]:
    qs = [w for w in dict.fromkeys(Q.toks) if w not in STOP] or list(dict.fromkeys(Q.toks))
    if not qs:
        return [0.0] * 11 + [np.nan, np.nan]
    hit = [w in T.set for w in qs]
    fuzzy = [h or w in T.concat or (len(w) >= 5 and bool(_deletes(w) & T.dels))
             for w, h in zip(qs, hit, strict=True)]
    for i, (a, b) in enumerate(zip(qs, qs[1:], strict=False)):  # "deck over" ~ "deckover"
        if a + b in T.set:
            fuzzy[i] = fuzzy[i + 1] = True
    ws = [idf.get(w, default_idf) for w in qs]
    total = sum(ws)
    pos = [T.pos[w] for w in qs if w in T.pos]
    pairs = list(zip(qs, qs[1:], strict=False))
    last2 = qs[-2:]
    return [
        sum(hit) / len(qs),
        sum(fuzzy) / len(qs),
        sum(w for w, f in zip(ws, fuzzy, strict=True) if f) / total if total else 0.0,
        max([w for w, f in zip(ws, fuzzy, strict=True) if not f], default=0.0),
        total,
        sum(w in T.head for w in qs) / len(qs),
        float(T.type is not None and T.type in Q.set),
        float(T.type is not None and T.type == qs[-1]),
        min(pos) / max(len(T.toks), 1) if pos else 1.0,
        float(T.brand is not None and T.brand in Q.set),
        sum(w in T.set for w in last2) / len(last2),
        sum(p in T.bigrams for p in pairs) / len(pairs) if pairs else np.nan,
        len(Q.units & T.units) / len(Q.units) if Q.units else np.nan,
    ]


_COLUMNS = ["norm_coverage", "edit_coverage", "idf_coverage", "missing_idf", "query_idf",
            "head_coverage", "type_in_query", "type_is_last", "first_match_position",
            "brand_in_query", "last2_coverage", "bigram_coverage", "unit_match"]


def prototype_features(rows: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Features of ``rows`` (query, product_id) whose titles are in ``catalog`` (product_id,
    title); IDF (BM25's, over normalised title words) from the catalogue titles. ``*_gap``
    columns are the value minus the best value in the row's query (candidate set)."""
    titles = {p: _Text(t) for p, t in zip(catalog["product_id"], catalog["title"], strict=True)}
    n = len(titles)
    df = Counter(w for t in titles.values() for w in t.set)
    idf = {w: math.log(1 + (n - d + 0.5) / (d + 0.5)) for w, d in df.items()}
    default_idf = math.log(1 + (n + 0.5) / 0.5)  # a word no title has
    queries = {q: _Text(q) for q in rows["query"].unique()}
    out = pd.DataFrame([_row(queries[q], titles[p], idf, default_idf)
                        for q, p in zip(rows["query"], rows["product_id"], strict=True)],
                       columns=_COLUMNS, index=rows.index)
    for c in ("edit_coverage", "idf_coverage", "missing_idf", "head_coverage"):
        out[f"{c}_gap"] = out[c] - out.groupby(rows["query"])[c].transform("max")
    return out
