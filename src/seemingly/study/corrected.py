"""The hypotheses re-run with corrected labels, beside the original verdicts.

The corrected labels (likely-wrong labels flipped, :meth:`LabelQuality.corrected`) replace
the judgments through a thin store wrapper: one judgment per pair, ``'1'`` or ``'0'``, read by
majority with ``relevant_at = 1``. Every other table and every stage stay as they are, so the
two fits differ in the labels alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import ibis
import pandas as pd

from seemingly.config import AnalysisSettings, LabelSettings
from seemingly.contract import OUTCOME_COUNTS
from seemingly.results import HypothesesBlock
from seemingly.results.labels import Verdict

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from seemingly.store import StoreLike

__all__ = ["CorrectedStore", "corrected_verdicts"]


class CorrectedStore:
    """A :class:`~seemingly.store.StoreLike` whose judgments are the corrected labels."""

    def __init__(self, store: StoreLike, labels: pd.DataFrame) -> None:
        self._store = store
        frame = pd.DataFrame({
            "query": labels["query"].astype(str),
            "product_id": labels["product_id"].astype(str),
            "label": labels["relevant"].map({True: "1", False: "0"}).astype(str),
            "annotator_id": "corrected",
        })
        self._judgments = ibis.memtable(frame)

    @property
    def path(self) -> str | Path:
        return self._store.path

    @property
    def con(self) -> Any:
        return self._store.con

    @property
    def report(self) -> Any:
        return self._store.report

    def has(self, name: str) -> bool:
        return self._store.has(name)

    def table(self, name: str) -> ir.Table:
        return self._judgments if name == "judgments" else self._store.table(name)

    def history_cells(self) -> ir.Table | None:
        """The wrapped store's purchase-history cells: they come from offers, orders and
        products, none of which the corrected labels touch."""
        from seemingly.store.history import stored_history_cells

        return stored_history_cells(self._store)

    def close(self) -> None:  # the wrapped store belongs to the caller
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def corrected_verdicts(store: StoreLike, settings: AnalysisSettings,
                       original: HypothesesBlock, corrected: pd.DataFrame) -> list[Verdict]:
    """Each hypothesis on each outcome: the original verdict and the one on corrected labels."""
    from seemingly.explain.hypotheses import fit_hypotheses

    plain = settings.model_copy(update={"labels": LabelSettings(relevant_at=1.0)})
    redo = fit_hypotheses(CorrectedStore(store, corrected), plain).to_block()  # type: ignore[arg-type]
    out = []
    for name, by_outcome in original.items():
        for outcome in OUTCOME_COUNTS:
            if outcome not in by_outcome:
                continue
            e = by_outcome[outcome]
            c = redo[name][outcome] if name in redo and outcome in redo[name] else None
            out.append(Verdict(
                hypothesis=name, outcome=outcome,  # type: ignore[arg-type]
                estimate=e.estimate, direction=e.direction, supported=e.supported,
                corrected_estimate=None if c is None else c.estimate,
                corrected_direction=None if c is None else c.direction,
                corrected_supported=None if c is None else c.supported))
    return out
