"""results.json -> the template's context: formatted strings, figures and skip reasons.

Everything that can be missing is looked up tolerantly; a section without data carries a
``skipped`` sentence instead. No HTML is produced here (the template escapes every string).
"""

from __future__ import annotations

from typing import Any

from seemingly.report import text
from seemingly.report._format import (
    NA,
    as_dict,
    as_list,
    dig,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_price,
    fmt_seconds,
    label,
    num,
)
from seemingly.report.figures import OUTCOMES, STRATEGIES, Figures, figure_json

__all__ = ["build_context"]

_NEEDS = {
    "overview": ("offers", "judgments"),
    "hypotheses": ("offers", "judgments"),
    "strategies": ("offers", "judgments"),
    "tradeoff": ("offers", "judgments"),
    "models": ("offers",),
    "examples": ("offers", "judgments"),
}


class _FigureCounter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, fig: Any, caption: str = "") -> dict[str, str] | None:
        if fig is None:
            return None
        self.n += 1
        return {"id": f"fig-{self.n}", "json": figure_json(fig), "caption": caption}


def skip_reason(results: dict[str, Any], block: str) -> str:
    """Why ``block`` is absent: the writer's own reason, else one inferred from the data block."""
    explicit = dig(results, "skipped", block)
    if isinstance(explicit, str) and explicit.strip():
        return explicit
    needs = _NEEDS.get(block, ())
    if "offers" in needs and num(dig(results, "data", "offers")) == 0:
        return "the data has no offers, and this part needs purchases and engagements."
    if "judgments" in needs and num(dig(results, "data", "offers_judged")) == 0:
        return "no offer has a relevance judgment, so relevant and irrelevant cannot be told apart."
    return f"results.json has no '{block}' block (the stage did not run or failed)."


def _p_clause(p: Any) -> str:
    text_p = fmt_p(p)
    return text_p if text_p.startswith("<") else f"= {text_p}"


def _badge(supported: Any) -> dict[str, str]:
    if supported is True:
        return {"cls": "yes", "text": "supported"}
    if supported is False:
        return {"cls": "no", "text": "not supported"}
    return {"cls": "na", "text": NA}


def _effect_row(name: str, eff: Any, uni: Any) -> dict[str, Any] | None:
    eff, uni = as_dict(eff), as_dict(uni)
    if not eff and not uni:
        return None
    return {
        "label": name,
        "uni_estimate": fmt_num(uni.get("estimate")),
        "uni_ci": fmt_ci(uni.get("ci")),
        "uni_p": fmt_p(uni.get("p_value")),
        "uni_direction": text.DIRECTIONS.get(str(uni.get("direction")), NA) if uni else NA,
        "estimate": fmt_num(eff.get("estimate")),
        "ci": fmt_ci(eff.get("ci")),
        "p": fmt_p(eff.get("p_value")),
        "p_adjusted": fmt_p(eff.get("p_adjusted")),
        "direction": text.DIRECTIONS.get(str(eff.get("direction")), NA),
        "badge": _badge(eff.get("supported")),
    }


def _supported(effect: Any, subs: tuple[str, ...]) -> Any:
    """The effect's verdict; for split effects (query length) any supported part counts."""
    top = dig(effect, "supported")
    if isinstance(top, bool):
        return top
    parts = [dig(effect, s, "supported") for s in subs]
    flags = [p for p in parts if isinstance(p, bool)]
    return any(flags) if flags else None


def _hypothesis(name: str, effects: Any, fig: _FigureCounter) -> dict[str, Any]:
    info = text.HYPOTHESES.get(name, {"title": name.replace("_", " ").capitalize(),
                                      "question": "", "paper": "", "axis": name})
    rows, units, categories = [], [], []
    heterogeneity = []
    for outcome, oname in OUTCOMES:
        eff = as_dict(dig(effects, outcome))
        row = _effect_row(oname, eff, eff.get("univariate"))
        if row and (eff.get("estimate") is not None or eff.get("univariate")):
            rows.append(row)
        for sub, sub_label in text.SUB_EFFECTS.items():
            if isinstance(eff.get(sub), dict):
                sub_row = _effect_row(f"{oname}: {sub_label}", eff[sub], eff[sub].get("univariate"))
                if sub_row:
                    rows.append(sub_row)
        if eff.get("unit"):
            units.append(f"{oname}: {label(eff['unit'])}")
        for c in as_list(eff.get("categories")):
            if isinstance(c, dict):
                categories.append({
                    "outcome": oname, "category": label(c.get("category")),
                    "irrelevant_rate": fmt_pct(c.get("irrelevant_rate")),
                    "relevant_rate": fmt_pct(c.get("relevant_rate")),
                    "ratio": fmt_num(c.get("ratio")), "ci": fmt_ci(c.get("ci")),
                    "offers": fmt_int(c.get("offers")),
                })
        het = as_dict(eff.get("heterogeneity"))
        if het:
            heterogeneity.append(
                f"{oname}: chi² = {fmt_num(het.get('statistic'))}, "
                f"df = {fmt_int(het.get('df'))}, p {_p_clause(het.get('p_value'))}")
    if categories:
        figure = fig(Figures.categories(effects), "Level of irrelevant offers relative to "
                     "relevant ones per category (1 = equal); bars show 95% intervals.")
    else:
        figure = fig(Figures.curve(effects, info["axis"]),
                     "Level per factor bin for offers judged irrelevant (solid) and relevant "
                     "(dotted); shaded bands are 95% intervals.")
    subs = tuple(text.SUB_EFFECTS)
    return {
        "name": name, **info, "rows": rows, "units": units, "figure": figure,
        "categories": categories, "heterogeneity": heterogeneity,
        "purchase": _badge(_supported(dig(effects, "purchase"), subs)),
        "engagement": _badge(_supported(dig(effects, "engagement"), subs)),
        "empty": not rows and figure is None,
    }


def _overview(results: dict[str, Any], fig: _FigureCounter) -> dict[str, Any]:
    ov = as_dict(results.get("overview"))
    if not ov:
        return {"skipped": skip_reason(results, "overview")}
    share_p = num(dig(ov, "irrelevant_share", "purchases"))
    share_e = num(dig(ov, "irrelevant_share", "engagements"))
    sentences = []
    if share_p is not None or share_e is not None:
        sentences.append(
            f"{fmt_pct(share_p, 1)} of purchases and {fmt_pct(share_e, 1)} of engagements went to "
            "products that annotators judged irrelevant to the query.")
    cards = []
    for key, oname in (("purchase_level", "purchase"), ("engagement_level", "engagement")):
        irr = num(dig(ov, key, "irrelevant", "value"))
        rel = num(dig(ov, key, "relevant", "value"))
        if irr is not None and rel is not None and rel > 0:
            sentences.append(
                f"An irrelevant offer ends in {'a ' if oname == 'purchase' else 'an '}{oname} "
                f"{fmt_pct(irr)} of the time, against {fmt_pct(rel)} for a relevant one "
                f"({irr / rel:.2f}× as often).")
        for group in ("irrelevant", "relevant"):
            block = as_dict(dig(ov, key, group))
            if block:
                cards.append({"label": f"{oname} level, {group}",
                              "value": fmt_pct(block.get("value")),
                              "ci": fmt_ci(block.get("ci"), fmt_pct),
                              "note": f"{fmt_int(block.get('offers'))} offers"})
    shares = [{"label": f"share of {k} to irrelevant", "value": fmt_pct(v, 1)}
              for k, v in (("purchases", share_p), ("engagements", share_e)) if v is not None]
    return {"sentences": sentences, "cards": cards, "shares": shares,
            "figure": fig(Figures.overview(ov), "Purchase and engagement level of offers judged "
                          "relevant vs irrelevant, with 95% intervals.")}


def _agreement(results: dict[str, Any]) -> dict[str, str] | None:
    ag = as_dict(dig(results, "overview", "annotator_agreement"))
    alpha = num(ag.get("alpha"))
    if alpha is None:
        return None
    # Krippendorff's own reading: >= 0.8 reliable, >= 0.667 tentative conclusions only.
    reading = ("reliable" if alpha >= 0.8 else "tentative" if alpha >= 0.667 else "low")
    return {"alpha": f"{alpha:.3f}", "reading": reading, "items": fmt_int(ag.get("n_items")),
            "annotators": fmt_int(ag.get("n_annotators"))}


def _data(results: dict[str, Any]) -> dict[str, Any]:
    data = as_dict(results.get("data"))
    if not data:
        return {"skipped": skip_reason(results, "data")}
    counts = [{"label": k.replace("_", " "), "value": fmt_int(data.get(k))}
              for k in ("offers", "offers_judged", "queries", "products", "users")]
    ingest = []
    for table, rep in as_dict(data.get("ingest")).items():
        rep = as_dict(rep)
        rules = [{"rule": label(r), "count": fmt_int(c)}
                 for r, c in as_dict(rep.get("rules")).items()]
        ingest.append({"table": label(table), "read": fmt_int(rep.get("read")),
                       "accepted": fmt_int(rep.get("accepted")),
                       "quarantined": fmt_int(rep.get("quarantined")), "rules": rules})
    quarantined = [{"table": label(t), "count": fmt_int(c)}
                   for t, c in as_dict(data.get("quarantined")).items()]
    return {"counts": counts, "ingest": ingest, "quarantined": quarantined,
            "warnings": [label(w) for w in as_list(data.get("warnings"))],
            "agreement": _agreement(results)}


def _strategies(results: dict[str, Any], fig: _FigureCounter) -> dict[str, Any]:
    block = as_dict(results.get("strategies"))
    if not any(isinstance(block.get(o), dict) for o, _ in OUTCOMES):
        return {"skipped": skip_reason(results, "strategies")}
    rows = []
    for s in STRATEGIES:
        cells = []
        for outcome, _ in OUTCOMES:
            st = as_dict(block.get(outcome))
            cells.append({"value": fmt_num(st.get(s)), "ci": fmt_ci(dig(st, "ci", s))})
        rows.append({"name": s.capitalize(), "about": text.STRATEGIES[s], "cells": cells})
    n_queries = [f"{name}: {fmt_int(dig(block, o, 'n_queries'))} queries" for o, name in OUTCOMES]
    return {"rows": rows, "n_queries": n_queries,
            "figure": fig(Figures.strategies(block), "Outcome level of each strategy relative to "
                          "the optimal one, with 95% intervals.")}


def _tradeoff(results: dict[str, Any], fig: _FigureCounter) -> dict[str, Any]:
    block = as_dict(results.get("tradeoff"))
    items = []
    for outcome, name in OUTCOMES:
        ob = as_dict(block.get(outcome))
        if not ob:
            continue
        f = fig(Figures.tradeoff(ob, f"{outcome}_level_at_1", outcome),
                f"{name}: relevance@1 against {outcome} level@1 for the score-fusion sweep and the "
                "joint model; the dashed line is the Pareto front of all points.")
        dom = as_dict(ob.get("dominance"))
        dominance = [
            ("hypervolume, fusion", fmt_num(dom.get("fusion_hypervolume"))),
            ("hypervolume, joint", fmt_num(dom.get("joint_hypervolume"))),
            ("difference (joint - fusion)",
             f"{fmt_num(dom.get('difference'))} {fmt_ci(dom.get('difference_ci'))}".strip()),
            ("fusion points dominated by the joint model",
             fmt_pct(dom.get("share_fusion_points_dominated"), 0)),
        ] if dom else []
        items.append({"name": name, "figure": f, "dominance": dominance})
    if not items:
        return {"skipped": skip_reason(results, "tradeoff")}
    return {"items": items}


def _models(results: dict[str, Any], fig: _FigureCounter) -> dict[str, Any]:
    block = as_dict(results.get("models"))
    items = []
    for name, model in block.items():
        if not isinstance(model, dict):
            continue
        metrics = [(label(k), fmt_num(v) if num(v) is not None else label(v))
                   for k, v in as_dict(model.get("metrics")).items()]
        items.append({"name": label(name).capitalize(), "metrics": metrics,
                      "figure": fig(Figures.importance(model, str(name)),
                                    f"Top features of the {name} model by total gain.")})
    if not items:
        return {"skipped": skip_reason(results, "models")}
    return {"items": items}


def _examples(results: dict[str, Any]) -> dict[str, Any]:
    block = as_dict(results.get("examples"))
    items = []
    for outcome, name in OUTCOMES:
        rows = []
        for ex in as_list(block.get(outcome))[:15]:
            if not isinstance(ex, dict):
                continue
            level = ex.get(f"{outcome}_level", ex.get("purchase_level"))
            rows.append({
                "query": label(ex.get("query")), "title": label(ex.get("title")),
                "product_id": label(ex.get("product_id")), "category": label(ex.get("category")),
                "price": fmt_price(ex.get("price")), "offers": fmt_int(ex.get("offers")),
                "purchases": fmt_int(ex.get("purchases")), "level": fmt_pct(level),
                "relevant_titles": [label(t) for t in as_list(ex.get("relevant_titles"))[:5]],
            })
        if rows:
            items.append({"name": name, "outcome": outcome, "rows": rows})
    if not items:
        return {"skipped": skip_reason(results, "examples")}
    return {"items": items}


def _relations(results: dict[str, Any]) -> dict[str, Any]:
    """Semantic and co-purchase relation summaries (they need judgments/orders, not offers)."""
    block = as_dict(results.get("relations"))
    items = []
    for part, title in (("semantic", "Semantic relation"), ("copurchase", "Co-purchase relation")):
        rows: list[tuple[str, str]] = []
        _flatten("", as_dict(block.get(part)), rows)
        if rows:
            items.append({"name": title, "rows": rows})
    if not items:
        return {"skipped": skip_reason(results, "relations")}
    return {"items": items}


def _flatten(prefix: str, obj: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out.append((prefix, label(obj)))


def _run(results: dict[str, Any]) -> dict[str, Any]:
    run = as_dict(results.get("run"))
    settings: list[tuple[str, str]] = []
    _flatten("", as_dict(run.get("settings")), settings)
    return {
        "facts": [(k, label(run.get(k))) for k in ("world", "seed", "version") if k in run]
        + [("contract version", label(results.get("contract_version")))],
        "timings": [(label(k), fmt_seconds(v)) for k, v in as_dict(run.get("timings")).items()],
        "settings": settings,
        "alpha": fmt_num(dig(run, "settings", "hypotheses", "alpha") or 0.05),
        "min_offers": label(dig(run, "settings", "min_offers") or 5),
    }


def build_context(results: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows, as display strings and figure JSON."""
    fig = _FigureCounter()
    ctx: dict[str, Any] = {"overview": _overview(results, fig), "data": _data(results),
                           "relations": _relations(results)}
    hyps = as_dict(results.get("hypotheses"))
    names = [n for n in text.HYPOTHESES if n in hyps] + [
        n for n in hyps if n not in text.HYPOTHESES and isinstance(hyps[n], dict)]
    items = [_hypothesis(n, hyps[n], fig) for n in names]
    missing = [text.HYPOTHESES[n]["title"] for n in text.HYPOTHESES if n not in hyps]
    ctx["hypotheses"] = ({"items": items, "missing": missing} if items
                         else {"skipped": skip_reason(results, "hypotheses")})
    ctx["strategies"] = _strategies(results, fig)
    ctx["tradeoff"] = _tradeoff(results, fig)
    ctx["models"] = _models(results, fig)
    ctx["examples"] = _examples(results)
    ctx["run"] = _run(results)
    ctx["glossary"] = text.GLOSSARY
    ctx["figure_count"] = fig.n
    return ctx
