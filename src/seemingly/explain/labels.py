"""Judgments -> relevance per (query, product), and how much the annotators agree.

Labels arrive as text (``'1'``, ``'0.5'``, ``'true'``, ``'E'``). The scale is detected from the
distinct labels: ESCI letters, booleans, or numeric grades (relevant when >= ``relevant_at``).
Several judgments of one (query, product) are combined by majority; ties follow
``LabelSettings.tie`` (default: not relevant). ``LabelSettings.aggregation`` may instead pick
an annotator model (Dawid–Skene or MACE, :mod:`seemingly.explain.aggregation`): a pair is
then relevant when its posterior P(relevant) is above 0.5 (at exactly 0.5, ``tie`` decides).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from seemingly.config import AnalysisSettings, LabelSettings
from seemingly.errors import ContractError
from seemingly.results.explain import Agreement

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["relevance", "agreement", "vote_frame", "model_relevance", "category_agreement"]

Scale = Literal["esci", "boolean", "numeric"]
_ESCI = frozenset("ESCI")
_BOOL = {"true": True, "false": False, "t": True, "f": False, "yes": True, "no": False}


def _label_settings(settings: LabelSettings | AnalysisSettings | None) -> LabelSettings:
    if settings is None:
        return LabelSettings()
    if isinstance(settings, AnalysisSettings):
        return settings.labels
    return settings


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def detect_scale(labels: list[str]) -> Scale:
    """The label scale of a set of distinct raw labels.

    >>> detect_scale(["E", "S", "I"]), detect_scale(["true", "false"]), detect_scale(["0", "2"])
    ('esci', 'boolean', 'numeric')
    """
    stripped = {str(x).strip() for x in labels}
    if stripped and {x.upper() for x in stripped} <= _ESCI:
        return "esci"
    lowered = {x.lower() for x in stripped}
    # '1'/'0' next to 'true'/'false' is still a boolean column (some writers mix them).
    if lowered and lowered <= set(_BOOL) | {"1", "0", "1.0", "0.0"} and lowered & set(_BOOL):
        return "boolean"
    if all(_is_number(x) for x in stripped):
        return "numeric"
    bad = sorted(x for x in stripped if not _is_number(x))[:5]
    raise ContractError(
        f"judgments.label mixes scales: {bad} are neither numbers, booleans nor ESCI letters "
        f"(E/S/C/I). Use one scale per data set: numeric grades, true/false, or E/S/C/I."
    )


def _votes(judgments: ir.Table, settings: LabelSettings) -> ir.Table:
    """judgments with a boolean ``vote`` column (this judgment says relevant)."""
    distinct = judgments.select("label").distinct().to_pandas()["label"].tolist()
    scale = detect_scale(distinct)
    label = judgments.label.strip()
    if scale == "esci":
        vote = label.upper().isin([x.upper() for x in settings.esci_relevant])
    elif scale == "boolean":
        vote = label.lower().isin(["true", "t", "yes", "1", "1.0"])
    else:
        vote = label.cast("float64") >= settings.relevant_at
    return judgments.mutate(vote=vote)


def relevance(
    store: StoreLike, settings: LabelSettings | AnalysisSettings | None = None
) -> ir.Table:
    """Relevance of each judged (query, product): majority of its judgments.

    Returns an Ibis table with columns ``query, product_id, relevant (bool), n_judgments
    (int64), relevant_share (float64)``; the query is the normalised one, as in offers.

    Examples
    --------
    >>> rel = relevance(store, LabelSettings(relevant_at=2))  # doctest: +SKIP
    >>> rel.filter(rel.relevant).count().execute()  # doctest: +SKIP
    """
    ls = _label_settings(settings)
    if ls.aggregation != "majority":
        return model_relevance(store, ls)
    votes = _votes(store.table("judgments"), ls)
    g = votes.group_by(["query", "product_id"]).aggregate(
        n_judgments=votes.count(), n_relevant=votes.vote.cast("int64").sum()
    )
    twice = g.n_relevant * 2
    tie_value = ibis.literal(ls.tie == "relevant")
    relevant = ibis.cases(
        (twice > g.n_judgments, True), (twice == g.n_judgments, tie_value), else_=False
    )
    return g.select(
        "query",
        "product_id",
        relevant=relevant,
        n_judgments=g.n_judgments.cast("int64"),
        relevant_share=g.n_relevant.cast("float64") / g.n_judgments.cast("float64"),
    )


def vote_frame(store: StoreLike, settings: LabelSettings | AnalysisSettings | None = None
               ) -> pd.DataFrame:
    """One row per judgment: ``query, product_id, annotator_id, vote`` (bool), sorted, so the
    annotator models see the same order run after run."""
    ls = _label_settings(settings)
    v = _votes(store.table("judgments"), ls).select("query", "product_id", "annotator_id",
                                                     "vote")
    return (v.to_pandas().sort_values(["query", "product_id", "annotator_id", "vote"])
            .reset_index(drop=True))


def model_relevance(store: StoreLike, settings: LabelSettings | AnalysisSettings | None = None
                    ) -> ir.Table:
    """:func:`relevance` under an annotator model: the same columns, plus ``posterior``.

    Only the votes leave the engine (one row per judgment); the per-pair answer goes back as
    an in-memory table on the store's connection, so the callers join it like the majority.
    """
    from seemingly.explain.aggregation import aggregate, votes_data

    ls = _label_settings(settings)
    d = votes_data(vote_frame(store, ls))
    agg = aggregate(d, ls.aggregation)
    n = np.bincount(d.task, minlength=d.n_tasks)
    k = np.bincount(d.task, weights=d.vote, minlength=d.n_tasks)
    post = agg.posterior
    tie = np.isclose(post, 0.5)
    relevant = np.where(tie, ls.tie == "relevant", post > 0.5)
    frame = d.pairs.assign(relevant=relevant.astype(bool), n_judgments=n.astype("int64"),
                           relevant_share=k / np.maximum(n, 1), posterior=post)
    return ibis.memtable(frame)


def category_agreement(store: StoreLike, settings: LabelSettings | AnalysisSettings | None = None
                       ) -> dict[str, tuple[float | None, int]]:
    """Krippendorff's alpha per product category: category -> (alpha, items judged twice or
    more). Null alpha when a category has no such item or every vote is the same."""
    ls = _label_settings(settings)
    votes = _votes(store.table("judgments"), ls)
    per_item = votes.group_by(["query", "product_id"]).aggregate(
        n=votes.count(), k=votes.vote.cast("int64").sum())
    cats = store.table("products").select("product_id", "category")
    items = (per_item.filter(per_item.n >= 2).left_join(cats, "product_id")
             .select("n", "k", "category").to_pandas())
    items["category"] = items["category"].fillna("unknown")
    out: dict[str, tuple[float | None, int]] = {}
    for cat, g in sorted(items.groupby("category"), key=lambda x: str(x[0])):
        k = g["k"].to_numpy(float)
        n = g["n"].to_numpy(float)
        counts = np.column_stack([n - k, k])
        ok = len(g) > 0 and not (counts.sum(axis=0) == 0).any()
        out[str(cat)] = (alpha_from_counts(counts) if ok else None, len(g))
    return out


def alpha_from_counts(counts: np.ndarray) -> float:
    """Krippendorff's nominal alpha from an items x categories matrix of value counts.

    Uses the ``krippendorff`` package; items with fewer than two values are not pairable and
    carry no information, so callers drop them first.
    """
    import krippendorff

    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def agreement(
    store: StoreLike, settings: LabelSettings | AnalysisSettings | None = None
) -> Agreement:
    """Annotator agreement on relevance over (query, product) items judged at least twice.

    With several judgments per item but no ``annotator_id``, each judgment counts as a
    different annotator. Only per-item counts leave the engine.
    """
    ls = _label_settings(settings)
    if not store.has("judgments"):
        return _agreement(None, 0, 0, 0, reason="no judgments table")
    j = store.table("judgments")
    votes = _votes(j, ls)
    per_item = votes.group_by(["query", "product_id"]).aggregate(
        n=votes.count(), k=votes.vote.cast("int64").sum()
    )
    multi = per_item.filter(per_item.n >= 2).select("n", "k").to_pandas()
    n_annotators = int(j.annotator_id.nunique().execute() or 0)
    if multi.empty:
        return _agreement(None, 0, n_annotators, 0,
                          reason="no (query, product) was judged by two or more annotators")
    k = multi["k"].to_numpy(dtype=float)
    n = multi["n"].to_numpy(dtype=float)
    counts = np.column_stack([n - k, k])
    n_j = int(n.sum())
    if (counts.sum(axis=0) == 0).any():
        return _agreement(None, len(multi), n_annotators, n_j,
                          reason="every judgment has the same value, so agreement is undefined")
    return _agreement(alpha_from_counts(counts), len(multi), n_annotators, n_j)


def _agreement(alpha: float | None, n_items: int, n_annotators: int, n_judgments: int,
               reason: str | None = None) -> Agreement:
    return Agreement(alpha=alpha, method="krippendorff_alpha_nominal", n_items=n_items,
                     n_annotators=n_annotators, n_judgments=n_judgments, reason=reason)
