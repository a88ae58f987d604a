"""Assemble the ``hypotheses`` block: curves, univariate and multivariable estimates, Holm."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from seemingly.config import AnalysisSettings, HypothesisSettings
from seemingly.contract import OUTCOME_COUNTS
from seemingly.explain.hypotheses.models import fit_multivariable, fit_tolerance, fit_univariate
from seemingly.explain.hypotheses.stats import (
    ClusteredFit,
    assign_bins,
    bin_edges,
    edge_labels,
    holm,
)
from seemingly.explain.intervals import wilson
from seemingly.results import HypothesesBlock

__all__ = ["Effect", "HypothesesResult", "analyze_patterns", "HYPOTHESES"]

HYPOTHESES = (
    "popularity", "price", "category", "query_length", "semantic_relation",
    "copurchase_relation", "personal_history",
)

# hypothesis -> (model term, pattern column, expected direction, unit)
_CONTINUOUS: dict[str, tuple[str, str, str, str]] = {
    "popularity": ("popularity", "popularity", "+",
                   "log-odds per doubling of (1 + the product's purchases, leaving out this "
                   "offer's own); the curve bins the same count as a catalog percentile"),
    "price": ("price_ratio", "price_ratio", "-",
              "log-odds per doubling of price / median price of the query's relevant products"),
    "semantic_relation": ("semantic", "semantic", "+",
                          "log-odds per +0.1 text similarity to the query's closest relevant "
                          "product"),
    "copurchase_relation": ("copurchase", "copurchase", "+",
                            "log-odds per doubling of (1 + co-purchase lift) with the query's "
                            "relevant products"),
    "personal_history": ("history", "history", "+",
                         "log-odds, the user bought this product before vs not"),
}
_EXPECTED = {**{k: v[2] for k, v in _CONTINUOUS.items()}, "category": "+", "query_length": "+"}
_FACTORS = ("popularity_log2", "price_ratio", "semantic", "copurchase")


@dataclass(frozen=True)
class Effect:
    """One hypothesis on one outcome: the contract's EFFECT plus extra keys."""

    estimate: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    p_adjusted: float | None
    supported: bool
    direction: str
    unit: str
    curve: tuple[Mapping[str, Any], ...]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "estimate": _num(self.estimate),
            "ci": [_num(self.ci[0]), _num(self.ci[1])] if self.ci else [None, None],
            "p_value": _num(self.p_value),
            "p_adjusted": _num(self.p_adjusted),
            "supported": bool(self.supported),
            "direction": self.direction,
            "unit": self.unit,
            "curve": [dict(c) for c in self.curve],
        }
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class HypothesesResult:
    """Every hypothesis on both outcomes; ``to_dict()`` is the results.json ``hypotheses`` block."""

    effects: Mapping[str, Mapping[str, Effect]]
    excluded: Mapping[str, Any]
    warnings: tuple[str, ...]
    n_patterns: int

    def to_dict(self) -> dict[str, Any]:
        return {h: {o: e.to_dict() for o, e in by.items()} for h, by in self.effects.items()}

    def to_block(self) -> HypothesesBlock:
        """The typed ``hypotheses`` block of :class:`seemingly.results.Results`."""
        return HypothesesBlock.model_validate(self.to_dict())

    def supported(self) -> dict[str, dict[str, bool]]:
        """``{hypothesis: {outcome: supported}}``, the one-line summary."""
        return {h: {o: e.supported for o, e in by.items()} for h, by in self.effects.items()}


def _num(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _direction(est: float | None) -> str:
    if est is None or not np.isfinite(est) or est == 0:
        return "0"
    return "+" if est > 0 else "-"


def _term(fit: ClusteredFit | None, name: str, confidence: float) -> dict[str, Any] | None:
    if fit is None or name not in fit.names:
        return None
    t = fit.term(name, confidence)
    return {"estimate": t["estimate"], "ci": [t["ci_low"], t["ci_high"]],
            "p_value": t["p_value"], "direction": _direction(t["estimate"])}


def _length_summary(short: dict[str, Any] | None, long: dict[str, Any] | None) -> dict[str, Any]:
    """Top-level query-length answer: the U shape holds only if both ends beat medium, so the
    p-value is the larger of the two (an intersection-union test) and the estimate is the end
    that binds."""
    if short is None or long is None:
        return {"estimate": None, "ci": None, "p_value": None, "direction": "0"}
    binding = short if short["p_value"] >= long["p_value"] else long
    signs = {short["direction"], long["direction"]}
    direction = signs.pop() if len(signs) == 1 else "0"
    return {"estimate": binding["estimate"], "ci": binding["ci"],
            "p_value": max(short["p_value"], long["p_value"]), "direction": direction}


def _codes(labels: pd.Series, order: list[str]) -> tuple[np.ndarray, list[str]]:
    """Per pattern, the index of its label among the distinct labels of ``order`` (-1: no
    label), and those distinct labels."""
    names = list(dict.fromkeys(order))
    lookup = {n: k for k, n in enumerate(names)}
    codes = np.full(len(labels), -1, dtype=np.int64)
    cat = pd.Categorical(labels)
    known = np.array([lookup.get(str(c), -1) for c in cat.categories], dtype=np.int64)
    have = cat.codes >= 0
    codes[have] = known[cat.codes[have]]
    return codes, names


def _curve(codes: np.ndarray, names: list[str], order: list[str], trials: np.ndarray,
           successes: np.ndarray, confidence: float) -> list[dict[str, Any]]:
    """:func:`binned_curve` from label codes: bincount instead of a group-by of labels (the
    sums are of integer counts, so they are the same numbers)."""
    ok = codes >= 0
    n = np.bincount(codes[ok], weights=trials[ok], minlength=len(names))
    s = np.bincount(codes[ok], weights=successes[ok], minlength=len(names))
    index = {name: k for k, name in enumerate(names)}
    rows: list[dict[str, Any]] = []
    for label in order:
        k = index[label]
        if n[k] <= 0:
            continue
        lo, hi = wilson(np.array([s[k]]), np.array([n[k]]), confidence)
        rows.append({"bin": label, "offers": int(n[k]), "rate": s[k] / n[k],
                     "ci": [float(lo[0]), float(hi[0])]})
    return rows


def _curves(patterns: pd.DataFrame, settings: HypothesisSettings, confidence: float
            ) -> dict[str, dict[str, dict[str, list[dict[str, Any]]]]]:
    """curve[hypothesis][outcome] = {"irrelevant": [...], "relevant": [...]}."""
    irr = patterns[~patterns["relevant"]]
    out: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    # hypothesis -> (label code per pattern, distinct labels, labels in curve order)
    specs: dict[str, tuple[np.ndarray, list[str], list[str]]] = {}
    for hyp in ("popularity", "price", "semantic_relation", "copurchase_relation"):
        col = _CONTINUOUS[hyp][1]
        have = irr[irr[col].notna()]
        if have.empty:  # no irrelevant offer has this factor: empty curves, not a missing key
            out[hyp] = {o: {"irrelevant": [], "relevant": []} for o in OUTCOME_COUNTS}
            continue
        edges = bin_edges(have[col].to_numpy(), have["offers"].to_numpy(), settings.curve_bins)
        names = edge_labels(edges)
        distinct = list(dict.fromkeys(names))
        lookup = {n: k for k, n in enumerate(distinct)}
        # bins whose labels read the same are one point of the curve, as a group-by of the
        # labels makes them
        bin_code = np.array([lookup[n] for n in names], dtype=np.int64)
        values = patterns[col].to_numpy(dtype=np.float64)
        ok = ~np.isnan(values)
        codes = np.full(len(patterns), -1, dtype=np.int64)
        codes[ok] = bin_code[assign_bins(values[ok], edges)]
        specs[hyp] = (codes, distinct, names)
    yes_no = ["no", "yes"]
    for hyp, col in (("personal_history", "history"), ("brand", "history_brand")):
        codes, distinct = _codes(patterns[col].map({0: "no", 1: "yes"}), yes_no)
        specs[hyp] = (codes, distinct, yes_no)
    length_order = ["short", "medium", "long"]
    codes, distinct = _codes(patterns["length_bin"].astype(str), length_order)
    specs["query_length"] = (codes, distinct, length_order)
    cats = sorted(patterns["category"].astype(str).unique())
    codes, distinct = _codes(patterns["category"].astype(str), cats)
    specs["category"] = (codes, distinct, cats)
    is_rel = patterns["relevant"].to_numpy(dtype=bool)
    offers = patterns["offers"].to_numpy()
    for hyp, (codes, distinct, order) in specs.items():
        out[hyp] = {}
        for outcome, col in OUTCOME_COUNTS.items():
            successes = patterns[col].to_numpy()
            by_rel = {}
            for key, mask in (("irrelevant", ~is_rel), ("relevant", is_rel)):
                by_rel[key] = _curve(codes[mask], distinct, order, offers[mask],
                                     successes[mask], confidence)
            out[hyp][outcome] = by_rel
    return out


def _category_rows(patterns: pd.DataFrame, outcome: str, tol: Any, confidence: float
                   ) -> list[dict[str, Any]]:
    agg = patterns.groupby(["category", "relevant"], observed=True)[["offers", outcome]].sum()
    rows = []
    for cat in sorted(patterns["category"].astype(str).unique()):
        row: dict[str, Any] = {"category": cat}
        for rel, key in ((False, "irrelevant"), (True, "relevant")):
            if (cat, rel) in agg.index:
                n, s = agg.loc[(cat, rel), "offers"], agg.loc[(cat, rel), outcome]
                lo, hi = wilson(np.array([s]), np.array([n]), confidence)
                row[key] = {"offers": int(n), "rate": float(s / n),
                            "ci": [float(lo[0]), float(hi[0])]}
            else:
                row[key] = {"offers": 0, "rate": None, "ci": [None, None]}
        ri, rr = row["irrelevant"]["rate"], row["relevant"]["rate"]
        row["ratio"] = float(ri / rr) if ri is not None and rr else None
        if tol is not None and cat in tol.categories:
            i = tol.categories.index(cat)
            se = float(np.sqrt(tol.cov[i, i]))
            from scipy import stats
            q = float(stats.t.ppf(0.5 + confidence / 2, max(tol.n_clusters - 1, 1)))
            est = float(tol.estimates[i])
            row["log_odds_ratio"] = {"estimate": est, "ci": [est - q * se, est + q * se]}
        rows.append(row)
    rows.sort(key=lambda r: -(r.get("log_odds_ratio", {}).get("estimate", -np.inf)))
    return rows


def _contrast(tol: Any, settings: HypothesisSettings, confidence: float) -> dict[str, Any] | None:
    """Mean tolerance of the paper's flexible categories minus that of its strict ones."""
    from scipy import stats

    names = [c.casefold() for c in tol.categories]
    flexible_names = {x.casefold() for x in settings.flexible_categories}
    strict_names = {x.casefold() for x in settings.strict_categories}
    flex = [i for i, c in enumerate(names) if c in flexible_names]
    strict = [i for i, c in enumerate(names) if c in strict_names]
    if not flex or not strict:
        return None
    w = np.zeros(len(names))
    w[flex] = 1 / len(flex)
    w[strict] = -1 / len(strict)
    est = float(w @ tol.estimates)
    se = float(np.sqrt(w @ tol.cov @ w))
    df = max(tol.n_clusters - 1, 1)
    q = float(stats.t.ppf(0.5 + confidence / 2, df))
    return {"flexible": [tol.categories[i] for i in flex],
            "strict": [tol.categories[i] for i in strict],
            "estimate": est, "ci": [est - q * se, est + q * se],
            "p_value": float(2 * stats.t.sf(abs(est) / se, df)) if se > 0 else None,
            "direction": _direction(est)}


def _excluded(patterns: pd.DataFrame, n_offers: int | None, settings: HypothesisSettings
              ) -> dict[str, Any]:
    irr = patterns[~patterns["relevant"]]
    n_judged = int(patterns["offers"].sum())
    complete = irr[list(_FACTORS)].notna().all(axis=1)
    return {
        "rule": (
            "offers of unjudged (query, product) pairs are left out; an irrelevant offer enters "
            "the model only when every factor is defined: its query has a judged-relevant "
            "product (semantic, co-purchase), the product has a price > 0 and the query has "
            f">= {settings.min_relevant_priced} judged-relevant product(s) with a price"
        ),
        "offers": n_offers,
        "unjudged_offers": None if n_offers is None else int(n_offers - n_judged),
        "judged_relevant": int(patterns.loc[patterns["relevant"], "offers"].sum()),
        "judged_irrelevant": int(irr["offers"].sum()),
        "irrelevant_no_relevant_product": int(irr.loc[irr["semantic"].isna(), "offers"].sum()),
        "irrelevant_no_price_ratio": int(irr.loc[irr["price_ratio"].isna(), "offers"].sum()),
        "irrelevant_in_model": int(irr.loc[complete, "offers"].sum()),
    }


def _fit_outcome(patterns: pd.DataFrame, model_frame: pd.DataFrame, outcome: str, col: str,
                 curves: dict[str, Any], settings: AnalysisSettings,
                 warnings: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Every fit of one outcome: the hypothesis -> (estimate, ci, p-value, direction, unit,
    extra) entries, before Holm's adjustment across outcomes."""
    hs, conf = settings.hypotheses, settings.confidence
    raw: dict[str, dict[str, Any]] = {}
    multi, info = (fit_multivariable(model_frame, col) if len(model_frame)
                   else (None, {"categories_dropped": [], "terms_dropped": []}))
    brand_fit, _ = (fit_multivariable(model_frame, col, history_col="history_brand")
                    if len(model_frame) else (None, None))
    model_info = {**info, "patterns": getattr(multi, "n_patterns", 0),
                  "offers": getattr(multi, "n_trials", 0),
                  "queries": getattr(multi, "n_clusters", 0)}
    for hyp, (term, _col, _exp, unit) in _CONTINUOUS.items():
        uni = fit_univariate(model_frame, col, (term,)) if len(model_frame) else None
        main = _term(multi, term, conf) or {"estimate": None, "ci": None, "p_value": None,
                                             "direction": "0"}
        extra: dict[str, Any] = {"univariate": _term(uni, term, conf), "model": model_info}
        if hyp == "personal_history":
            brand = _term(brand_fit, "history", conf)
            extra["brand"] = {
                **(brand or {"estimate": None, "ci": None, "p_value": None, "direction": "0"}),
                "unit": "log-odds, the user bought this brand before vs not (model with brand "
                        "history in place of product history)",
                "curve": curves["brand"][outcome]["irrelevant"],
                "curve_relevant": curves["brand"][outcome]["relevant"],
            }
        if hyp == "copurchase_relation" and warnings:
            extra["warnings"] = list(warnings)
        raw[hyp] = {**main, "unit": unit, "extra": extra}
    short, long = _term(multi, "short", conf), _term(multi, "long", conf)
    uni_len = fit_univariate(model_frame, col, ("short", "long")) if len(model_frame) else None
    u_short, u_long = _term(uni_len, "short", conf), _term(uni_len, "long", conf)
    raw["query_length"] = {
        **_length_summary(short, long),
        "unit": f"log-odds vs medium queries ({hs.short_max + 1}-{hs.long_min - 1} tokens); "
                "the top level is the weaker of short and long (both must be positive)",
        "extra": {"short": short, "long": long, "model": model_info,
                  "univariate": {**_length_summary(u_short, u_long),
                                 "short": u_short, "long": u_long}},
    }
    tol = fit_tolerance(patterns, col, confidence=conf, seed=settings.seed)
    adjusted = _adjusted_heterogeneity(multi)
    cat_rows = _category_rows(patterns, col, tol, conf)
    raw["category"] = {
        "estimate": None if tol is None else tol.tau,
        "ci": None if tol is None else list(tol.tau_ci),
        "p_value": None if tol is None else tol.p_value,
        "direction": "0" if tol is None else _direction(tol.tau),
        "unit": "between-category SD of the log odds ratio (irrelevant vs relevant offer); "
                "p-value: Wald test that every category's log odds ratio is equal",
        "extra": {"categories": cat_rows,
                  "heterogeneity": None if tol is None else
                  {"statistic": tol.wald, "df": tol.df, "p_value": tol.p_value},
                  "contrast": None if tol is None else _contrast(tol, hs, conf),
                  "adjusted": adjusted},
    }
    return raw


def analyze_patterns(
    patterns: pd.DataFrame,
    *,
    settings: AnalysisSettings | None = None,
    n_offers: int | None = None,
    warnings: tuple[str, ...] = (),
) -> HypothesesResult:
    """Every test of the hypotheses block, from the pattern frame (see ``patterns.py``)."""
    settings = settings or AnalysisSettings()
    hs, conf = settings.hypotheses, settings.confidence
    irr = patterns[~patterns["relevant"]]
    model_frame = irr[irr[list(_FACTORS)].notna().all(axis=1)].reset_index(drop=True)
    curves = _curves(patterns, hs, conf)
    excluded = _excluded(patterns, n_offers, hs)

    # The two outcomes' fits share nothing but the read-only frames: one thread each. Their
    # array work releases the GIL, and BLAS stays single-threaded for the whole section (see
    # ``stats.fit_clustered_logit``), so each fit's arithmetic is the same as run alone.
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(
            max_workers=len(OUTCOME_COUNTS)) as pool:
        futures = {outcome: pool.submit(_fit_outcome, patterns, model_frame, outcome, col, curves,
                                        settings, warnings)
                   for outcome, col in OUTCOME_COUNTS.items()}
        by_outcome = {outcome: f.result() for outcome, f in futures.items()}
    raw = {h: {o: by_outcome[o][h] for o in OUTCOME_COUNTS} for h in HYPOTHESES}

    keys = [(h, o) for h in HYPOTHESES for o in OUTCOME_COUNTS]
    adj = holm([raw[h][o]["p_value"] for h, o in keys])
    effects: dict[str, dict[str, Effect]] = {h: {} for h in HYPOTHESES}
    for (h, o), p_adj in zip(keys, adj, strict=True):
        r = raw[h][o]
        p_adj_v = None if np.isnan(p_adj) else float(p_adj)
        supported = bool(p_adj_v is not None and p_adj_v < hs.alpha
                         and r["direction"] == _EXPECTED[h])
        curve_key = h
        extra = dict(r["extra"])
        extra["curve_relevant"] = curves[curve_key][o]["relevant"]
        extra["excluded"] = excluded
        extra["expected_direction"] = _EXPECTED[h]
        ci = tuple(r["ci"]) if r["ci"] is not None else None
        effects[h][o] = Effect(
            estimate=r["estimate"], ci=ci, p_value=r["p_value"],  # type: ignore[arg-type]
            p_adjusted=p_adj_v, supported=supported, direction=r["direction"], unit=r["unit"],
            curve=tuple(curves[curve_key][o]["irrelevant"]), extra=extra,
        )
    return HypothesesResult(effects=effects, excluded=excluded, warnings=tuple(warnings),
                            n_patterns=len(patterns))


def _adjusted_heterogeneity(fit: ClusteredFit | None) -> dict[str, Any] | None:
    """Do irrelevant offers' rates differ by category once every factor is held fixed?"""
    if fit is None:
        return None
    idx = [i for i, n in enumerate(fit.names) if n.startswith("category[")]
    if not idx:
        return None
    r = np.zeros((len(idx), len(fit.params)))
    for row, i in enumerate(idx):
        r[row, i] = 1.0
    stat, df, p = fit.wald(r)
    return {"statistic": stat, "df": df, "p_value": p,
            "effects": {fit.names[i][9:-1]: float(fit.params[i]) for i in idx}}
