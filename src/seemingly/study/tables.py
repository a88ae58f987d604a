"""``DIR/tables/*.csv``: the study's numbers as flat tables for spreadsheets and notebooks."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seemingly.config import AnalysisSettings

__all__ = ["write_tables"]

_OUTCOMES = ("purchase", "engagement")


def _write(path: Path, rows: Iterable[dict[str, Any]]) -> Path | None:
    rows = list(rows)
    if not rows:
        return None
    fields: list[str] = []
    for r in rows:
        fields.extend(k for k in r if k not in fields)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return path


def _ci(ci: Any) -> tuple[Any, Any]:
    return (ci[0], ci[1]) if isinstance(ci, list | tuple) and len(ci) == 2 else (None, None)


def _effect_rows(hypotheses: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for name, by_outcome in hypotheses.items():
        for outcome in _OUTCOMES:
            eff = (by_outcome or {}).get(outcome)
            if not isinstance(eff, dict):
                continue
            terms = [("", eff)] + [
                (k, eff[k]) for k in ("short", "long", "brand") if isinstance(eff.get(k), dict)
            ]
            for term, e in terms:
                lo, hi = _ci(e.get("ci"))
                uni = e.get("univariate") or {}
                yield {
                    "hypothesis": name,
                    "outcome": outcome,
                    "term": term or "main",
                    "estimate": e.get("estimate"),
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": e.get("p_value"),
                    "p_adjusted": e.get("p_adjusted"),
                    "direction": e.get("direction"),
                    "supported": e.get("supported"),
                    "univariate_estimate": uni.get("estimate"),
                    "univariate_p": uni.get("p_value"),
                    "unit": e.get("unit"),
                }


def _curve_rows(hypotheses: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for name, by_outcome in hypotheses.items():
        for outcome in _OUTCOMES:
            eff = (by_outcome or {}).get(outcome) or {}
            for group, key in (("irrelevant", "curve"), ("relevant", "curve_relevant")):
                for point in eff.get(key) or []:
                    lo, hi = _ci(point.get("ci"))
                    yield {
                        "hypothesis": name,
                        "outcome": outcome,
                        "offers_judged": group,
                        "bin": point.get("bin"),
                        "offers": point.get("offers"),
                        "rate": point.get("rate"),
                        "ci_low": lo,
                        "ci_high": hi,
                    }


def _strategy_rows(strategies: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for outcome, block in strategies.items():
        if not isinstance(block, dict):
            continue
        cis = block.get("ci") or {}
        for name in ("optimal", "relevant", "irrelevant", "random", "worst"):
            if name in block:
                lo, hi = _ci(cis.get(name))
                yield {
                    "outcome": outcome,
                    "strategy": name,
                    "level_vs_optimal": block[name],
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_queries": block.get("n_queries"),
                }


def _tradeoff_rows(tradeoff: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for outcome, block in tradeoff.items():
        if not isinstance(block, dict):
            continue
        for method in ("fusion", "joint"):
            for point in block.get(method) or []:
                if isinstance(point, dict):
                    yield {"outcome": outcome, "method": method, **point}


def _example_rows(examples: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for outcome, rows in examples.items():
        for r in rows or []:
            yield {
                "outcome": outcome,
                **{k: v for k, v in r.items() if k != "relevant_titles"},
                "relevant_titles": " | ".join(r.get("relevant_titles") or []),
            }


def _quarantine_rows(data: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for table, t in (data.get("ingest") or {}).items():
        for rule, count in (t.get("rules") or {}).items():
            yield {"table": table, "rule": rule, "rows": count}


def write_tables(
    store: Any, settings: AnalysisSettings, results: dict[str, Any], out_dir: str | Path
) -> tuple[Path, ...]:
    """Write every table the study has; returns the paths written (empty blocks are skipped)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path | None] = []
    if store.has("offers"):
        from seemingly.explain.measures import levels

        # Per-pair levels can be large: the engine writes the file, nothing goes through pandas.
        lv = levels(store, settings).order_by(["query", "product_id"])
        path = out / "levels.csv"
        store.con.to_csv(lv, path)
        written.append(path)
    hyp = results.get("hypotheses") or {}
    written.append(_write(out / "hypothesis_effects.csv", _effect_rows(hyp)))
    written.append(_write(out / "hypothesis_curves.csv", _curve_rows(hyp)))
    written.append(_write(out / "strategies.csv", _strategy_rows(results.get("strategies") or {})))
    written.append(_write(out / "tradeoff.csv", _tradeoff_rows(results.get("tradeoff") or {})))
    written.append(_write(out / "examples.csv", _example_rows(results.get("examples") or {})))
    written.append(_write(out / "quarantine.csv", _quarantine_rows(results.get("data") or {})))
    return tuple(p for p in written if p is not None)
