"""Template context of the report's label-quality section (the ``labels`` block)."""

from __future__ import annotations

from typing import Any

from seemingly.report._format import fmt_ci, fmt_int, fmt_num, fmt_pct, label
from seemingly.results import Results
from seemingly.results.labels import RejudgeRow

__all__ = ["labels_context"]

_METHOD = {
    "majority": "majority of the votes",
    "dawid_skene": "Dawid–Skene (annotator confusion matrices)",
    "mace": "MACE (annotators who know or guess)",
}
_TOP = 10


def _row(r: RejudgeRow) -> dict[str, str]:
    return {
        "query": label(r.query), "title": label(r.title), "product_id": label(r.product_id),
        "posterior": fmt_pct(r.posterior_wrong, 1),
        "votes": f"{r.relevant_votes} of {r.n_judgments}",
        "offers": fmt_int(r.offers), "purchases": fmt_int(r.purchases),
        "level": fmt_pct(r.purchase_level),
        "query_level": fmt_pct(r.query_relevant_purchase_level),
        "score": fmt_num(r.model_score),
        "delta": fmt_pct(r.delta_irrelevant_share_purchases, 2),
    }


def labels_context(results: Results, skip_reason: Any) -> dict[str, Any]:
    """Display strings for the label-quality section; ``{"skipped": why}`` without a block."""
    b = results.labels
    if b is None:
        return {"skipped": skip_reason(results, "labels")}
    share = b.mislabelled_share
    cards = []
    if share is not None:
        for name, s in (("purchases", share.purchases), ("engagements", share.engagements)):
            cards.append({"value": fmt_pct(s.value, 1), "ci": fmt_ci(s.ci, fmt_pct),
                          "label": f"of the {name} of judged-irrelevant offers fall on "
                                   "likely-mislabelled pairs"})
    verdicts = [{
        "hypothesis": label(v.hypothesis), "outcome": label(v.outcome),
        "original": f"{v.direction} {'supported' if v.supported else 'not supported'}",
        "corrected": "—" if v.corrected_direction is None else
        f"{v.corrected_direction} {'supported' if v.corrected_supported else 'not supported'}",
        "estimate": fmt_num(v.estimate), "corrected_estimate": fmt_num(v.corrected_estimate),
        "changed": v.corrected_supported is not None and (
            v.corrected_supported != v.supported or v.corrected_direction != v.direction),
    } for v in (b.verdicts or [])]
    worst = sorted(b.annotators, key=lambda a: (a.accuracy if a.accuracy is not None else 1.0))
    return {
        "method": _METHOD.get(b.aggregation, b.aggregation),
        "aggregation": b.aggregation,
        "model_score": b.model_score,
        "facts": [
            ("judged pairs", fmt_int(b.n_pairs)),
            ("judged irrelevant", fmt_int(b.n_judged_irrelevant)),
            (f"likely wrong (posterior > {fmt_num(b.wrong_at)})", fmt_int(b.n_likely_wrong)),
            ("expected wrong (sum of posteriors)", fmt_num(b.expected_wrong)),
        ],
        "cards": cards,
        "queue": [_row(r) for r in b.queue[:_TOP]],
        "reverse_queue": [_row(r) for r in b.reverse_queue[:_TOP]],
        "verdicts": verdicts,
        "annotators": [{"id": label(a.annotator_id), "judgments": fmt_int(a.judgments),
                        "accuracy": fmt_pct(a.accuracy, 1),
                        "fp": fmt_pct(a.confusion[0][1], 1), "fn": fmt_pct(a.confusion[1][0], 1)}
                       for a in worst[:_TOP]],
        "categories": [{"name": label(k), "alpha": fmt_num(v.alpha), "n_items": fmt_int(v.n_items)}
                       for k, v in b.agreement_by_category.items()],
    }
