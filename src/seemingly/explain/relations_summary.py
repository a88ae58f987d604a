"""The ``relations`` block: how judged-relevant products relate to each other, without offers.

The hypotheses ask whether an irrelevant product that is *related* to the relevant ones (alike
in text, or bought together) sells better. That needs offers; the relations themselves do not.
This block measures them on judgments (and orders) alone, so a team holding only relevance
labels, or only order baskets, still learns how strong the relations are in its catalogue:

- semantic: for each judged (query, product), the largest TF-IDF cosine between the product and
  any *other* product judged relevant for the query (the hypotheses' ``semantic`` factor). The
  block compares relevant with irrelevant products: query-weighted means with normal
  confidence intervals over queries, the mean within-query AUC, and the pooled AUC of the
  similarity as a relevance predictor with a bootstrap interval over queries. ``by_mean``
  repeats the comparison with the *mean* similarity: the largest of k - 1 values (a relevant
  product) against the largest of k (an irrelevant one) tilts towards irrelevant products when
  queries hold many relevant ones; the mean has no such tilt.
- co-purchase (needs orders): baskets, distinct co-purchased pairs and their smoothed lift
  ``n_ab / (n_a n_b / N + 1)`` (as :func:`seemingly.explain.relations.copurchase_lift`), computed in
  the engine; with judgments too, ``log2(1 + largest lift)`` to the query's other relevant
  products, compared like the semantic relation.

Only queries holding at least one relevant and one irrelevant product with a value enter the
comparison (a relevant product needs a second relevant product to have one).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import _
from scipy import stats

from seemingly.config import AnalysisSettings
from seemingly.explain.relations import copurchase_lift, purchase_baskets, semantic_similarity
from seemingly.results.explain import (
    AucCI,
    CopurchaseRelation,
    EstimateCI,
    GroupComparison,
    Lift,
    MeanCI,
    RelationsBlock,
    SemanticRelation,
)

if TYPE_CHECKING:
    from seemingly.store import StoreLike

__all__ = ["relations_summary", "compare_groups"]

_LIFT_QUANTILES = (0.5, 0.9, 0.99)
SEMANTIC_MEASURE = "largest TF-IDF cosine to the query's other judged-relevant products"
SEMANTIC_MEAN_MEASURE = "mean TF-IDF cosine to the query's other judged-relevant products"
COPURCHASE_MEASURE = "log2(1 + largest smoothed lift with the query's other relevant products)"


# -- statistics over queries (pair-level frames are small: judged pairs only) -----------------

def _normal_ci(values: np.ndarray, confidence: float) -> tuple[float, float] | None:
    """Mean +- z * sd / sqrt(n); None with fewer than two values (no spread to estimate)."""
    if len(values) < 2:
        return None
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    half = z * float(np.std(values, ddof=1)) / math.sqrt(len(values))
    m = float(np.mean(values))
    return (m - half, m + half)


def _mean_block(values: np.ndarray, confidence: float) -> MeanCI:
    return MeanCI(mean=float(np.mean(values)) if len(values) else None,
                  ci=_normal_ci(values, confidence), n_queries=int(len(values)))


def _auc_setup(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Each row's score tie group (groups in ascending score order), positives, group count."""
    groups, inverse = np.unique(s, return_inverse=True)
    return inverse, np.asarray(y, dtype=bool), len(groups)


def _weighted_auc(inverse: np.ndarray, pos: np.ndarray, n_groups: int,
                  w: np.ndarray) -> float:
    """P(score of a positive > score of a negative) + half the ties, rows weighted by ``w``.

    Tie groups are found once; each bootstrap replicate is then two bincounts and a cumsum.
    """
    wp = np.bincount(inverse, weights=w * pos, minlength=n_groups)
    wn = np.bincount(inverse, weights=w * ~pos, minlength=n_groups)
    below = np.cumsum(wn) - wn
    denom = wp.sum() * wn.sum()
    return float((wp * (below + 0.5 * wn)).sum() / denom) if denom > 0 else float("nan")


def _bootstrap_auc(codes: np.ndarray, n_q: int, inverse: np.ndarray, pos: np.ndarray,
                   n_groups: int, n_boot: int, seed: int, chunk: int = 100) -> np.ndarray:
    """:func:`_weighted_auc` of ``n_boot`` query-bootstrap replicates (a replicate draws the
    ``n_q`` queries with replacement; a row's weight is its query's count).

    A replicate's positive and negative weight per tie group is its query counts times
    a (queries x tie groups) table of counts, so a chunk of replicates is one sparse
    product. The counts are whole numbers, so every sum is exact and each replicate equals
    the one-at-a-time function's value, with the same draws."""
    from scipy import sparse

    def table(mask: np.ndarray) -> sparse.csr_matrix:
        return sparse.csr_matrix((np.ones(int(mask.sum())), (codes[mask], inverse[mask])),
                                 shape=(n_q, n_groups))

    tp, tn = table(pos), table(~pos)
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        counts = np.stack([np.bincount(rng.integers(0, n_q, n_q), minlength=n_q)
                           for _ in range(m)]).astype(float)
        wp = np.asarray((tp.T @ counts.T).T)
        wn = np.asarray((tn.T @ counts.T).T)
        below = np.cumsum(wn, axis=1) - wn
        denom = wp.sum(1) * wn.sum(1)
        num = (wp * (below + 0.5 * wn)).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:start + m] = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0),
                                            np.nan)
    return out


def _within_query_auc(q: np.ndarray, pos: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The AUC of every query at once (``q``: query codes 0..n-1, in the order of the
    result): tie groups are runs of equal (query, value) after one sort, and a group's
    negatives below are counted from its query's first group. Counts are whole numbers and
    halves, so the sums are exact and each query's AUC equals :func:`_weighted_auc` of that
    query alone."""
    order = np.lexsort((v, q))
    qs, vs, ps = q[order], v[order], pos[order]
    new = np.r_[True, (qs[1:] != qs[:-1]) | (vs[1:] != vs[:-1])]
    gid = np.cumsum(new) - 1
    wp = np.bincount(gid, weights=ps.astype(float))
    wn = np.bincount(gid, weights=(~ps).astype(float))
    gq = qs[new]
    below = np.cumsum(wn) - wn
    first = np.r_[True, gq[1:] != gq[:-1]]
    below -= np.repeat(below[first], np.diff(np.r_[np.flatnonzero(first), len(gq)]))
    n_q = int(q.max()) + 1 if len(q) else 0
    num = np.bincount(gq, weights=wp * (below + 0.5 * wn), minlength=n_q)
    denom = np.bincount(gq, weights=wp, minlength=n_q) * np.bincount(gq, weights=wn,
                                                                     minlength=n_q)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), np.nan)


def compare_groups(frame: pd.DataFrame, value: str, *, measure: str, confidence: float,
                   n_boot: int, seed: int) -> GroupComparison:
    """Relevant vs irrelevant means of ``value`` (described by ``measure``) over queries, and
    its AUC for relevance.

    ``frame`` has ``query``, ``relevant`` (bool) and ``value`` (NaN where undefined).
    """
    f = frame.dropna(subset=[value])
    both = f.groupby("query")["relevant"].agg(["any", "all"])
    keep = both.index[both["any"] & ~both["all"]]
    f = f[f["query"].isin(keep)].reset_index(drop=True)
    counts = {"n_queries": int(len(keep)), "n_products": int(len(f)),
              "n_queries_without_comparison": int(len(both) - len(keep)), "measure": measure}
    if f.empty:
        return GroupComparison(relevant=None, irrelevant=None, difference=None,
                               auc_within_query=None, auc=None, **counts)
    per_q = f.groupby(["query", "relevant"])[value].mean().unstack("relevant")
    rel, irr = per_q[True].to_numpy(), per_q[False].to_numpy()
    diff = rel - irr
    # within one query: the chance a relevant product beats an irrelevant one (ties half)
    within = _within_query_auc(pd.factorize(f["query"], sort=True)[0],
                               f["relevant"].to_numpy(bool), f[value].to_numpy(float))
    inverse, pos, n_groups = _auc_setup(f["relevant"].to_numpy(), f[value].to_numpy())
    auc = _weighted_auc(inverse, pos, n_groups, np.ones(len(f)))
    ci = None
    if n_boot > 0 and len(keep) >= 2:
        codes, _uniq = pd.factorize(f["query"])
        draws = _bootstrap_auc(codes, len(keep), inverse, pos, n_groups, n_boot, seed)
        alpha = 1 - confidence
        lo, hi = np.nanquantile(draws, [alpha / 2, 1 - alpha / 2])
        ci = (float(lo), float(hi))
    return GroupComparison(
        relevant=_mean_block(rel, confidence), irrelevant=_mean_block(irr, confidence),
        difference=EstimateCI(estimate=float(diff.mean()), ci=_normal_ci(diff, confidence)),
        auc_within_query=EstimateCI(estimate=float(within.mean()),
                                    ci=_normal_ci(within, confidence)),
        auc=AucCI(estimate=auc, ci=ci, n_boot=int(n_boot)), **counts)


# -- engine-side inputs ------------------------------------------------------------------------

def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in the order of its key columns (every column but the values)."""
    keys = [c for c in ("query", "product_id", "product_a", "product_b") if c in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _relevant_pairs(rel: ir.Table) -> ir.Table:
    """(query, product_a judged, product_b another relevant product of the query)."""
    relevant = rel.filter(_.relevant).select("query", product_b=_.product_id)
    return (rel.select("query", product_a=_.product_id).join(relevant, "query")
            .filter(_.product_a != _.product_b).select("query", "product_a", "product_b"))


def _semantic(store: StoreLike, rel: ir.Table, settings: AnalysisSettings) -> pd.DataFrame:
    """Per judged (query, product): the largest similarity to the query's other relevant ones."""
    qpairs = _relevant_pairs(rel)
    # The engine returns rows in no fixed order, and float sums and means depend on order:
    # sorted, the same data gives the same block to the last digit, run after run.
    pairs = _sorted(qpairs.select("product_a", "product_b").distinct().to_pandas())
    judged = _sorted(rel.select("query", "product_id", "relevant").to_pandas())
    if pairs.empty:
        return judged.assign(value=np.nan, value_mean=np.nan)
    ids = pd.unique(pd.concat([pairs.product_a, pairs.product_b], ignore_index=True))
    products = store.table("products")
    cols = [c for c in ("product_id", "title", "product_type", "brand") if c in products.columns]
    wanted = ibis.memtable(pd.DataFrame({"product_id": pd.Series(ids, dtype="string")}))
    text = products.select(*cols).semi_join(wanted, "product_id").to_pandas()
    missing = set(ids) - set(text["product_id"])
    if missing:  # judged products absent from products: no text to compare
        pairs = pairs[~pairs.product_a.isin(missing) & ~pairs.product_b.isin(missing)]
    sims = semantic_similarity(pairs, text, backend=settings.hypotheses.semantic_backend)
    best = (_sorted(qpairs.to_pandas()).merge(sims, on=["product_a", "product_b"])
            .groupby(["query", "product_a"], as_index=False)
            .agg(value=("similarity", "max"), value_mean=("similarity", "mean"))
            .rename(columns={"product_a": "product_id"}))
    return judged.merge(best, on=["query", "product_id"], how="left")


def _basket_pairs(baskets: ir.Table) -> ir.Table:
    """Distinct co-purchased pairs (product_a < product_b) with n_a, n_b, n_ab and lift.

    The same smoothed lift as :func:`copurchase_lift` (prior 1), over every co-purchased pair
    at once: one self-join of baskets instead of expanding baskets by a list of pairs.
    """
    items = baskets.select("basket_id", "product_id").distinct()
    n = max(float(items.basket_id.nunique().execute()), 1.0)
    counts = items.group_by("product_id").agg(n=_.count())
    right = items.rename(product_b="product_id", basket_b="basket_id")
    both = items.join(right, [items.basket_id == right.basket_b,
                              items.product_id < right.product_b])
    pairs = both.group_by([both.product_id.name("product_a"), "product_b"]).agg(n_ab=_.count())
    ca = counts.rename(product_a="product_id", n_a="n")
    cb = counts.rename(product_b="product_id", n_b="n")
    pairs = pairs.join(ca, "product_a").join(cb, "product_b")
    expected = pairs.n_a.cast("float64") * pairs.n_b.cast("float64") / n
    return pairs.mutate(lift=pairs.n_ab.cast("float64") / (expected + 1.0),
                        plain_lift=pairs.n_ab.cast("float64") / expected)


def _copurchase_overview(baskets: ir.Table, basket: str,
                         judged: GroupComparison | None) -> CopurchaseRelation:
    items = baskets.select("basket_id", "product_id").distinct()
    sizes = items.group_by("basket_id").agg(k=_.count())
    b = sizes.aggregate(n=_.count(), multi=(_.k >= 2).cast("int64").sum(),
                        mean_size=_.k.mean()).to_pandas().iloc[0]
    p = _basket_pairs(baskets)
    agg = p.aggregate(
        pairs=_.count(), twice=(_.n_ab >= 2).cast("int64").sum(),
        above_one=(_.plain_lift > 1).cast("int64").sum(), mean=_.lift.mean(),
        **{f"q{int(q * 100)}": _.lift.quantile(q) for q in _LIFT_QUANTILES},
    ).to_pandas().iloc[0]
    n_pairs = int(agg["pairs"])

    def share(x: Any) -> float | None:
        return float(x) / n_pairs if n_pairs else None

    return CopurchaseRelation(
        baskets=int(b["n"]), baskets_with_two_or_more=int(b["multi"] or 0),
        mean_basket_size=None if pd.isna(b["mean_size"]) else float(b["mean_size"]),
        products=int(items.product_id.nunique().execute()),
        pairs=n_pairs,
        share_pairs_bought_together_twice_or_more=share(agg["twice"]),
        share_pairs_plain_lift_above_1=share(agg["above_one"]),
        lift=Lift(mean=None if pd.isna(agg["mean"]) else float(agg["mean"]),
                  quantiles={str(q): (None if pd.isna(agg[f"q{int(q * 100)}"])
                                      else float(agg[f"q{int(q * 100)}"]))
                             for q in _LIFT_QUANTILES},
                  prior=1.0),
        basket=basket, relevant_vs_irrelevant=judged,
    )


def _copurchase_judged(rel: ir.Table, baskets: ir.Table) -> pd.DataFrame:
    qpairs = _relevant_pairs(rel)
    lift = copurchase_lift(qpairs.select("product_a", "product_b").distinct(), baskets)
    best = (qpairs.join(lift.select("product_a", "product_b", "lift"),
                        ["product_a", "product_b"])
            .group_by(["query", "product_a"])
            .agg(value=(_.lift.max() + 1.0).log2())
            .rename(product_id="product_a"))
    judged = _sorted(rel.select("query", "product_id", "relevant").to_pandas())
    return judged.merge(_sorted(best.to_pandas()), on=["query", "product_id"], how="left")


def relations_summary(
    store: StoreLike, settings: AnalysisSettings | None = None
) -> RelationsBlock:
    """The ``relations`` block: semantic and co-purchase relations from judgments and
    orders; offers are not needed. A part that cannot run is null, ``skipped`` says why.

    Examples
    --------
    >>> block = relations_summary(open_store("work/store.duckdb"))  # doctest: +SKIP
    >>> block.semantic.difference.estimate  # doctest: +SKIP
    """
    from seemingly.explain.labels import relevance

    s = settings or AnalysisSettings()
    skipped: dict[str, str] = {}
    kw: dict[str, Any] = {"confidence": s.confidence, "n_boot": s.models.n_boot, "seed": s.seed}
    rel = relevance(store, s.labels) if store.has("judgments") else None
    semantic = copurchase = None
    if rel is not None:
        sem = _semantic(store, rel, s)
        # max is the hypotheses' factor; the mean has no k - 1 vs k tilt (module docstring)
        by_max = compare_groups(sem, "value", measure=SEMANTIC_MEASURE, **kw)
        semantic = SemanticRelation(
            **dict(by_max), backend=s.hypotheses.semantic_backend,
            by_mean=compare_groups(sem, "value_mean", measure=SEMANTIC_MEAN_MEASURE, **kw))
    else:
        skipped["semantic"] = ("the data has no judgments table: the semantic relation is "
                               "measured to the products judged relevant for a query")
    if store.has("orders"):
        h = s.hypotheses
        baskets = purchase_baskets(store.table("orders"), basket=h.copurchase_basket,
                                   window_days=h.copurchase_window_days)
        judged = None
        if rel is not None:
            judged = compare_groups(_copurchase_judged(rel, baskets), "value",
                                    measure=COPURCHASE_MEASURE, **kw)
        else:
            skipped["copurchase_relevant_vs_irrelevant"] = (
                "the data has no judgments table, so co-purchases cannot be split into "
                "relevant and irrelevant products")
        copurchase = _copurchase_overview(baskets, h.copurchase_basket, judged)
    else:
        skipped["copurchase"] = ("the data has no orders table: co-purchase baskets come from "
                                 "orders (add orders.parquet)")
    return RelationsBlock(semantic=semantic, copurchase=copurchase, skipped=skipped)
