"""Results -> the template's context: formatted strings, figures and skip reasons.

A block that is None carries a ``skipped`` sentence instead: the writer's own reason from
``results.skipped``, else one inferred from the data block. No HTML is produced here (the
template escapes every string).
"""

from __future__ import annotations

from typing import Any

from seemingly.report import text
from seemingly.report._format import (
    NA,
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
from seemingly.report.ablation import ablation_context, factor_buys
from seemingly.report.figures import (
    OUTCOMES,
    STRATEGIES,
    Effects,
    Figures,
    figure_json,
    strategy_values,
)
from seemingly.report.labels_view import labels_context
from seemingly.results import Effect, Results, Term
from seemingly.results.explain import LengthTerm

__all__ = ["build_context", "skip_reason"]

_NEEDS = {
    "overview": ("offers", "judgments"),
    "hypotheses": ("offers", "judgments"),
    "strategies": ("offers", "judgments"),
    "tradeoff": ("offers", "judgments"),
    "models": ("offers",),
    "examples": ("offers", "judgments"),
    "labels": ("judgments",),
}


class _FigureCounter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, fig: Any, caption: str = "") -> dict[str, str] | None:
        if fig is None:
            return None
        self.n += 1
        return {"id": f"fig-{self.n}", "json": figure_json(fig), "caption": caption}


def skip_reason(results: Results, block: str) -> str:
    """Why ``block`` is absent: the writer's own reason, else one inferred from the data block."""
    explicit = (results.skipped or {}).get(block)
    if explicit and explicit.strip():
        return explicit
    needs = _NEEDS.get(block, ())
    data = results.data
    if data is not None and "offers" in needs and data.offers == 0:
        return "the data has no offers, and this part needs purchases and engagements."
    if data is not None and "judgments" in needs and data.offers_judged == 0:
        return "no offer has a relevance judgment, so relevant and irrelevant cannot be told apart."
    return f"results.json has no '{block}' block (the stage did not run or failed)."


def _p_clause(p: float | None) -> str:
    text_p = fmt_p(p)
    return text_p if text_p.startswith("<") else f"= {text_p}"


def _badge(supported: bool | None) -> dict[str, str]:
    if supported is True:
        return {"cls": "yes", "text": "supported"}
    if supported is False:
        return {"cls": "no", "text": "not supported"}
    return {"cls": "na", "text": NA}


def _effect_row(name: str, eff: Effect | Term | None, uni: Term | None
                ) -> dict[str, Any] | None:
    """One table row; a sub-effect (a :class:`Term`) has no Holm p-value or verdict of its own."""
    if eff is None and uni is None:
        return None
    top = eff if isinstance(eff, Effect) else None
    return {
        "label": name,
        "uni_estimate": fmt_num(uni.estimate if uni else None),
        "uni_ci": fmt_ci(uni.ci if uni else None),
        "uni_p": fmt_p(uni.p_value if uni else None),
        "uni_direction": text.DIRECTIONS.get(uni.direction, NA) if uni else NA,
        "estimate": fmt_num(eff.estimate if eff else None),
        "ci": fmt_ci(eff.ci if eff else None),
        "p": fmt_p(eff.p_value if eff else None),
        "p_adjusted": fmt_p(top.p_adjusted if top else None),
        "direction": text.DIRECTIONS.get(eff.direction, NA) if eff else NA,
        "badge": _badge(top.supported if top else None),
    }


def _sub_effects(eff: Effect) -> list[tuple[str, Term | None, Term | None]]:
    """(key, multivariable term, univariate term) of the split effects the effect carries."""
    uni = eff.univariate
    return [
        ("short", eff.short, uni.short if isinstance(uni, LengthTerm) else None),
        ("long", eff.long, uni.long if isinstance(uni, LengthTerm) else None),
        ("brand", eff.brand, None),  # the univariate curves have no brand-only test
    ]


def _category_rows(oname: str, eff: Effect) -> list[dict[str, str]]:
    return [{
        "outcome": oname, "category": label(c.category),
        "irrelevant_rate": fmt_pct(c.irrelevant.rate),
        "irrelevant_ci": fmt_ci(c.irrelevant.ci, fmt_pct),
        "relevant_rate": fmt_pct(c.relevant.rate),
        "relevant_ci": fmt_ci(c.relevant.ci, fmt_pct),
        "ratio": fmt_num(c.ratio),
        "log_odds_ratio": fmt_num(c.log_odds_ratio.estimate if c.log_odds_ratio else None),
        "log_odds_ratio_ci": fmt_ci(c.log_odds_ratio.ci if c.log_odds_ratio else None),
        "offers": fmt_int(c.irrelevant.offers + c.relevant.offers),
    } for c in eff.categories or []]


def _hypothesis(name: str, effects: Effects, fig: _FigureCounter) -> dict[str, Any]:
    info = text.HYPOTHESES.get(name, {"title": name.replace("_", " ").capitalize(),
                                      "question": "", "paper": "", "axis": name})
    rows, units, categories = [], [], []
    heterogeneity = []
    for outcome, oname in OUTCOMES:
        eff = effects.get(outcome)
        if eff is None:
            continue
        row = _effect_row(oname, eff, eff.univariate)
        if row and (eff.estimate is not None or eff.univariate is not None):
            rows.append(row)
        for sub, multi, uni in _sub_effects(eff):
            sub_row = _effect_row(f"{oname}: {text.SUB_EFFECTS[sub]}", multi, uni)
            if sub_row and multi is not None:
                rows.append(sub_row)
        if eff.unit:
            units.append(f"{oname}: {eff.unit}")
        categories += _category_rows(oname, eff)
        het = eff.heterogeneity
        if het is not None:
            heterogeneity.append(
                f"{oname}: chi² = {fmt_num(het.statistic)}, "
                f"df = {fmt_int(het.df)}, p {_p_clause(het.p_value)}")
    if categories:
        figure = fig(Figures.categories(effects), "Level of irrelevant offers relative to "
                     "relevant ones per category (1 = equal).")
    else:
        figure = fig(Figures.curve(effects, info["axis"]),
                     "Level per factor bin for offers judged irrelevant (solid) and relevant "
                     "(dotted); shaded bands are 95% intervals.")
    return {
        "name": name, **info, "rows": rows, "units": units, "figure": figure,
        "categories": categories, "heterogeneity": heterogeneity,
        "purchase": _badge(e.supported if (e := effects.get("purchase")) else None),
        "engagement": _badge(e.supported if (e := effects.get("engagement")) else None),
        "empty": not rows and figure is None,
    }


def _hypotheses(results: Results, fig: _FigureCounter) -> dict[str, Any]:
    hyps = results.hypotheses
    if hyps is None or not len(hyps):
        return {"skipped": skip_reason(results, "hypotheses")}
    names = [n for n in text.HYPOTHESES if n in hyps]
    names += [n for n in hyps if n not in text.HYPOTHESES]
    missing = [text.HYPOTHESES[n]["title"] for n in text.HYPOTHESES if n not in hyps]
    return {"items": [_hypothesis(n, hyps[n], fig) for n in names], "missing": missing}


def _overview(results: Results, fig: _FigureCounter) -> dict[str, Any]:
    ov = results.overview
    if ov is None:
        return {"skipped": skip_reason(results, "overview")}
    share = ov.irrelevant_share
    share_p = num(share.purchases.value) if share else None
    share_e = num(share.engagements.value) if share else None
    sentences = []
    if share_p is not None or share_e is not None:
        sentences.append(
            f"{fmt_pct(share_p, 1)} of purchases and {fmt_pct(share_e, 1)} of engagements went to "
            "products that annotators judged irrelevant to the query.")
    cards = []
    for pair, oname in ((ov.purchase_level, "purchase"), (ov.engagement_level, "engagement")):
        if pair is None:
            continue
        irr, rel = num(pair.irrelevant.value), num(pair.relevant.value)
        if irr is not None and rel is not None and rel > 0:
            sentences.append(
                f"An irrelevant offer ends in {'a ' if oname == 'purchase' else 'an '}{oname} "
                f"{fmt_pct(irr)} of the time, against {fmt_pct(rel)} for a relevant one "
                f"({irr / rel:.2f}× as often).")
        for group, rate in (("irrelevant", pair.irrelevant), ("relevant", pair.relevant)):
            cards.append({"label": f"{oname} level, {group}", "value": fmt_pct(rate.value),
                          "ci": fmt_ci(rate.ci, fmt_pct), "note": f"{fmt_int(rate.offers)} offers"})
    shares = [{"label": f"share of {k} to irrelevant", "value": fmt_pct(v, 1)}
              for k, v in (("purchases", share_p), ("engagements", share_e)) if v is not None]
    return {"sentences": sentences, "cards": cards, "shares": shares,
            "figure": fig(Figures.overview(ov), "Purchase and engagement level of offers judged "
                          "relevant vs irrelevant, with 95% intervals.")}


def _agreement(results: Results) -> dict[str, str] | None:
    ag = results.overview.annotator_agreement if results.overview else None
    alpha = num(ag.alpha) if ag else None
    if ag is None or alpha is None:
        return None
    # Krippendorff's own reading: >= 0.8 reliable, >= 0.667 tentative conclusions only.
    reading = ("reliable" if alpha >= 0.8 else "tentative" if alpha >= 0.667 else "low")
    return {"alpha": f"{alpha:.3f}", "reading": reading, "items": fmt_int(ag.n_items),
            "annotators": fmt_int(ag.n_annotators)}


def _data(results: Results) -> dict[str, Any]:
    data = results.data
    if data is None:
        return {"skipped": skip_reason(results, "data")}
    counts = [("offers", data.offers), ("offers judged", data.offers_judged),
              ("queries", data.queries), ("products", data.products), ("users", data.users)]
    quarantined = [{"table": label(t), "count": fmt_int(c)} for t, c in data.quarantined.items()]
    return {"counts": [{"label": k, "value": fmt_int(v)} for k, v in counts],
            "quarantined": quarantined, "warnings": list(data.warnings),
            "agreement": _agreement(results)}


def _strategies(results: Results, fig: _FigureCounter) -> dict[str, Any]:
    block = results.strategies
    if block is None:
        return {"skipped": skip_reason(results, "strategies")}
    by_outcome = [block.purchase, block.engagement]
    values = [strategy_values(st) for st in by_outcome]
    rows = []
    for s in STRATEGIES:
        cells = [{"value": fmt_num(v[s]), "ci": fmt_ci(st.ci.get(s))}
                 for st, v in zip(by_outcome, values, strict=True)]
        rows.append({"name": s.capitalize(), "about": text.STRATEGIES[s], "cells": cells})
    n_queries = [f"{name}: {fmt_int(st.n_queries)} queries"
                 for st, (_, name) in zip(by_outcome, OUTCOMES, strict=True)]
    return {"rows": rows, "n_queries": n_queries,
            "figure": fig(Figures.strategies(block), "Outcome level of each strategy relative to "
                          "the optimal one, with 95% intervals.")}


def _position(results: Results, fig: _FigureCounter) -> dict[str, Any] | None:
    """Ranked-list logs only (None for voice: no section, figure numbers unchanged)."""
    from seemingly.report.position import examination_figure, position_context

    ctx = position_context(results)
    if ctx is not None:
        ctx["figure"] = fig(examination_figure(results), "Examination probability by "
                            "position, relative to position 1, with 95% intervals.")
    return ctx


def _tradeoff(results: Results, fig: _FigureCounter) -> dict[str, Any]:
    from seemingly.report.offpolicy import frontier_figure, frontier_note, off_policy_rows

    block = results.tradeoff
    if block is None:
        return {"skipped": skip_reason(results, "tradeoff")}
    items = []
    for (outcome, name), ob in zip(OUTCOMES, (block.purchase, block.engagement), strict=True):
        joint = ob.joint is not None
        f = fig(frontier_figure(results, ob, outcome),
                f"{name}: relevance@1 against {outcome} level@1 for the score-fusion sweep"
                + (" and the joint model; ringed points joined by a dashed line are each "
                   "method's Pareto front." if joint else "; ringed points joined by a dashed "
                   "line are its Pareto front.") + frontier_note(results, outcome))
        dom = ob.dominance
        dominance = [] if dom is None else [
            ("hypervolume, fusion", fmt_num(dom.fusion_hypervolume)),
            ("hypervolume, joint", fmt_num(dom.joint_hypervolume)),
            ("difference (joint - fusion)",
             f"{fmt_num(dom.difference)} {fmt_ci(dom.difference_ci)}".strip()),
            ("fusion points dominated by the joint model",
             fmt_pct(dom.share_fusion_points_dominated, 0)),
        ]
        items.append({"name": name, "figure": f, "dominance": dominance,
                      "off_policy": off_policy_rows(results, outcome)})
    return {"items": items, "off_policy": any(i["off_policy"] for i in items)}


def _models(results: Results, fig: _FigureCounter) -> dict[str, Any]:
    block = results.models
    if block is None or not len(block):
        return {"skipped": skip_reason(results, "models")}
    items = []
    for name, model in block.items():
        metrics = [(label(k), fmt_num(v)) for k, v in model.metrics.items()]
        items.append({"name": label(name).capitalize(), "metrics": metrics,
                      "figure": fig(Figures.importance(model, name),
                                    f"Top features of the {name} model by total gain.")})
    return {"items": items}


def _examples(results: Results) -> dict[str, Any]:
    block = results.examples
    items = []
    for outcome, name in OUTCOMES:
        rows = []
        for ex in (block[outcome] if block is not None and outcome in block else [])[:15]:
            level = ex.purchase_level if outcome == "purchase" else ex.engagement_level
            rows.append({
                "query": label(ex.query), "title": label(ex.title),
                "product_id": label(ex.product_id), "category": label(ex.category),
                "price": fmt_price(ex.price), "offers": fmt_int(ex.offers),
                "purchases": fmt_int(ex.purchases), "level": fmt_pct(level),
                "relevant_titles": [label(t) for t in (ex.relevant_titles or [])[:5]],
            })
        if rows:
            items.append({"name": name, "outcome": outcome, "rows": rows})
    if not items:
        return {"skipped": skip_reason(results, "examples")}
    return {"items": items}


def _relations(results: Results) -> dict[str, Any]:
    """Semantic and co-purchase relation summaries (they need judgments/orders, not offers)."""
    block = results.relations
    items = []
    parts = (("Semantic relation", block.semantic if block else None),
             ("Co-purchase relation", block.copurchase if block else None))
    for title, part in parts:
        rows: list[tuple[str, str]] = []
        if part is not None:
            # exclude_unset: the keys results.json holds, whether read back or built in memory.
            _flatten("", part.model_dump(mode="json", exclude_unset=True), rows)
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


def _run(results: Results) -> dict[str, Any]:
    run = results.run
    facts = [("contract version", label(results.contract_version))]
    if run is None:
        return {"facts": facts, "timings": [], "settings": [], "alpha": fmt_num(0.05),
                "min_offers": "5"}
    settings: list[tuple[str, str]] = []
    _flatten("", run.settings.model_dump(mode="json"), settings)
    return {
        "facts": [("world", label(run.world)), ("seed", label(run.seed)),
                  ("version", label(run.version)), *facts],
        "timings": [(label(k), fmt_seconds(v)) for k, v in run.timings.items()],
        "settings": settings,
        "alpha": fmt_num(run.settings.hypotheses.alpha),
        "min_offers": label(run.settings.min_offers),
    }


def build_context(results: Results) -> dict[str, Any]:
    """Everything the template shows, as display strings and figure JSON."""
    fig = _FigureCounter()
    # Figures are numbered in page order: headline, hypotheses, strategies, trade-off, models.
    return {
        "overview": _overview(results, fig),
        "data": _data(results),
        "relations": _relations(results),
        "hypotheses": _hypotheses(results, fig),
        "strategies": _strategies(results, fig),
        "position": _position(results, fig),
        "tradeoff": _tradeoff(results, fig),
        "ablation": ablation_context(results, fig),
        "factor_buys": factor_buys(results),
        "models": _models(results, fig),
        "examples": _examples(results),
        "labels": labels_context(results, skip_reason),
        "run": _run(results),
        "glossary": text.GLOSSARY,
        "figure_count": fig.n,
    }
