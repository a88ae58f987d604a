"""``DIR/tables/*.csv`` (or ``*.parquet``): the study's numbers as flat tables for
spreadsheets and notebooks."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seemingly.config import AnalysisSettings
from seemingly.contract import OUTCOME_COUNTS
from seemingly.results import (
    DataBlock,
    Effect,
    ExamplesBlock,
    HypothesesBlock,
    Interval,
    LabelsBlock,
    OffPolicyBlock,
    Results,
    StrategiesBlock,
    Term,
    TradeoffBlock,
)

if TYPE_CHECKING:
    import pandas as pd

    from seemingly.store import StoreLike

__all__ = ["TABLE_FORMATS", "neutralise", "write_tables"]

#: what ``write_tables(fmt=...)`` and ``seemingly study --tables-format`` take
TABLE_FORMATS = ("csv", "parquet")


# OWASP's CSV-injection rule: a cell a spreadsheet would read as a formula (or whose leading
# tab or carriage return hides one) gets a leading apostrophe, which the spreadsheet shows as
# text. Titles and queries are user text: `=HYPERLINK(...)` must stay inert in tables/*.csv.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` safe for a spreadsheet cell: text starting like a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _neutral_text(expr: Any) -> Any:
    """The Ibis form of :func:`neutralise` for the engine-written levels.csv."""
    import ibis

    starts = expr.substr(0, 1).isin(list(FORMULA_START))
    return starts.ifelse(ibis.literal("'") + expr, expr)


def _write(path: Path, rows: Iterable[dict[str, Any]], fmt: str = "csv") -> Path | None:
    rows = list(rows)
    if not rows:
        return None
    fields: list[str] = []
    for r in rows:
        fields.extend(k for k in r if k not in fields)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Parquet is typed data, not a spreadsheet: no formula neutralising, the text as is.
        # A column's type is inferred from all its values (None is null).
        table = pa.table({f: pa.array([r.get(f) for r in rows]) for f in fields})
        path = path.with_suffix(".parquet")
        pq.write_table(table, path)
        return path
    rows = [{k: neutralise(v) for k, v in r.items()} for r in rows]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return path


def _ci(ci: Interval | None) -> tuple[float | None, float | None]:
    return (None, None) if ci is None else ci


def _term_row(name: str, outcome: str, term: str, e: Term, *, p_adjusted: float | None = None,
              supported: bool | None = None, univariate: Term | None = None,
              unit: str | None = None) -> dict[str, Any]:
    lo, hi = _ci(e.ci)
    return {
        "hypothesis": name,
        "outcome": outcome,
        "term": term,
        "estimate": e.estimate,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": e.p_value,
        "p_adjusted": p_adjusted,
        "direction": e.direction,
        "supported": supported,
        "univariate_estimate": None if univariate is None else univariate.estimate,
        "univariate_p": None if univariate is None else univariate.p_value,
        "unit": unit,
    }


def _by_outcome(hypotheses: HypothesesBlock) -> Iterable[tuple[str, str, Effect]]:
    for name, by_outcome in hypotheses.items():
        for outcome in OUTCOME_COUNTS:
            if outcome in by_outcome:
                yield name, outcome, by_outcome[outcome]


def _effect_rows(hypotheses: HypothesesBlock) -> Iterable[dict[str, Any]]:
    for name, outcome, eff in _by_outcome(hypotheses):
        # an Effect is a Term plus the Holm-adjusted answer; its sub-terms are plain Terms
        main = Term(estimate=eff.estimate, ci=eff.ci, p_value=eff.p_value,
                    direction=eff.direction)
        yield _term_row(name, outcome, "main", main, p_adjusted=eff.p_adjusted,
                        supported=eff.supported, univariate=eff.univariate, unit=eff.unit)
        for term, sub in (("short", eff.short), ("long", eff.long)):
            if sub is not None:
                yield _term_row(name, outcome, term, sub)
        if eff.brand is not None:
            yield _term_row(name, outcome, "brand", eff.brand, unit=eff.brand.unit)


def _curve_rows(hypotheses: HypothesesBlock) -> Iterable[dict[str, Any]]:
    for name, outcome, eff in _by_outcome(hypotheses):
        for group, curve in (("irrelevant", eff.curve), ("relevant", eff.curve_relevant)):
            for point in curve or []:
                lo, hi = _ci(point.ci)
                yield {
                    "hypothesis": name,
                    "outcome": outcome,
                    "offers_judged": group,
                    "bin": point.bin,
                    "offers": point.offers,
                    "rate": point.rate,
                    "ci_low": lo,
                    "ci_high": hi,
                }


def _strategy_rows(strategies: StrategiesBlock) -> Iterable[dict[str, Any]]:
    for outcome, block in (("purchase", strategies.purchase),
                           ("engagement", strategies.engagement)):
        values = {"optimal": block.optimal, "relevant": block.relevant,
                  "irrelevant": block.irrelevant, "random": block.random, "worst": block.worst}
        for name, value in values.items():
            lo, hi = _ci(block.ci.get(name))
            yield {
                "outcome": outcome,
                "strategy": name,
                "level_vs_optimal": value,
                "ci_low": lo,
                "ci_high": hi,
                "n_queries": block.n_queries,
            }


def _tradeoff_rows(tradeoff: TradeoffBlock) -> Iterable[dict[str, Any]]:
    for outcome, block in (("purchase", tradeoff.purchase), ("engagement", tradeoff.engagement)):
        for method, points in (("fusion", block.fusion), ("joint", block.joint or [])):
            for p in points:
                yield {"outcome": outcome, "method": method, "weight": p.weight,
                       "relevance_at_1": p.relevance_at_1, f"{outcome}_level_at_1": p.level_at_1,
                       "ndcg_at_k": p.ndcg_at_k, "on_frontier": p.on_frontier}


def _off_policy_rows(block: OffPolicyBlock) -> Iterable[dict[str, Any]]:
    for objective, rankers in block.items():
        for ranker, estimates in rankers.items():
            for estimator, e in estimates.items():
                lo, hi = _ci(e.ci)
                yield {"objective": objective, "ranker": ranker, "estimator": estimator,
                       "value": e.value, "ci_low": lo, "ci_high": hi, "ess": e.ess}


def _example_rows(examples: ExamplesBlock) -> Iterable[dict[str, Any]]:
    for outcome, rows in examples.items():
        for r in rows:
            yield {
                "outcome": outcome,
                **r.model_dump(exclude={"relevant_titles"}),
                "relevant_titles": " | ".join(r.relevant_titles or []),
            }


#: rejudge.csv's leading columns (the rest follow RejudgeRow's fields)
_REJUDGE_FIRST = ("query", "product_id", "label", "posterior_wrong")


def _rejudge_rows(labels: LabelsBlock) -> Iterable[dict[str, Any]]:
    """Both queues in one table, most likely wrong first (the label column tells them
    apart); equal posteriors keep each queue's order."""
    rows = [r.model_dump() for r in (*labels.queue, *labels.reverse_queue)]
    rows.sort(key=lambda r: -r["posterior_wrong"])  # stable
    for r in rows:
        yield {**{k: r[k] for k in _REJUDGE_FIRST},
               **{k: v for k, v in r.items() if k not in _REJUDGE_FIRST}}


def _quarantine_rows(data: DataBlock) -> Iterable[dict[str, Any]]:
    for table, rows in data.quarantined.items():
        if rows:
            yield {"table": table, "rows": rows}


def write_tables(
    store: StoreLike, settings: AnalysisSettings, results: Results, out_dir: str | Path,
    rankings: tuple[dict[str, pd.DataFrame], list[float]] | None = None, fmt: str = "csv",
) -> tuple[Path, ...]:
    """Write every table the study has; returns the paths written (empty blocks are skipped).

    ``fmt`` is ``"csv"`` (text starting like a spreadsheet formula gets a leading ``'``) or
    ``"parquet"`` (the same columns and values, typed, text unchanged).

    ``rankings`` (the trade-off's held-out candidates with raw scores per objective, and the
    weights swept) adds ``trec/``: the query-id table, qrels and one TREC run per weight and
    objective (:func:`seemingly.ranking.evaluate.write_study_trec`).
    """
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"tables format {fmt!r}: use one of {', '.join(TABLE_FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path | None] = []
    if store.has("offers"):
        from seemingly.explain.measures import levels

        # Per-pair levels can be large: the engine writes the file, nothing goes through pandas.
        lv = levels(store, settings)
        if fmt == "parquet":
            path = out / "levels.parquet"
            store.con.to_parquet(lv.order_by(["query", "product_id"]), path)
        else:
            lv = lv.mutate(**{c: _neutral_text(lv[c]) for c, t in lv.schema().items()
                              if t.is_string()}).order_by(["query", "product_id"])
            path = out / "levels.csv"
            store.con.to_csv(lv, path)
        written.append(path)
    r = results
    if r.hypotheses is not None:
        written.append(_write(out / "hypothesis_effects.csv", _effect_rows(r.hypotheses), fmt))
        written.append(_write(out / "hypothesis_curves.csv", _curve_rows(r.hypotheses), fmt))
    if r.strategies is not None:
        written.append(_write(out / "strategies.csv", _strategy_rows(r.strategies), fmt))
    if r.tradeoff is not None:
        written.append(_write(out / "tradeoff.csv", _tradeoff_rows(r.tradeoff), fmt))
    if r.off_policy is not None:  # ranked-list logs only
        written.append(_write(out / "off_policy.csv", _off_policy_rows(r.off_policy), fmt))
    if r.examples is not None:
        written.append(_write(out / "examples.csv", _example_rows(r.examples), fmt))
    if r.labels is not None:
        written.append(_write(out / "rejudge.csv", _rejudge_rows(r.labels), fmt))
    if r.data is not None:
        written.append(_write(out / "quarantine.csv", _quarantine_rows(r.data), fmt))
    if rankings is not None and rankings[0]:
        from seemingly.ranking.evaluate import write_study_trec

        held_out, weights = rankings
        written.extend(write_study_trec(held_out, weights, settings.models.normalization,
                                        out / "trec"))
    return tuple(p for p in written if p is not None)
