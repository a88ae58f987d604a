"""The lookup table FORMAT name -> converter, and ``convert`` which runs one and writes it."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seemingly.adapters.conversion import ConversionReport

if TYPE_CHECKING:
    from seemingly.adapters._common import Converted

__all__ = ["FORMATS", "Adapter", "convert"]


@dataclass(frozen=True)
class Adapter:
    """One public data format: its converter, what it yields, and its options."""

    name: str
    module: str  # seemingly.adapters.<module>; imported on first use, so the CLI starts fast
    summary: str
    tables: tuple[str, ...]

    @property
    def function(self) -> Callable[..., Converted]:
        module = importlib.import_module(f"seemingly.adapters.{self.module}")
        fn: Callable[..., Converted] = getattr(module, f"convert_{self.module}")
        return fn

    @property
    def options(self) -> tuple[str, ...]:
        """Keyword options the converter takes (e.g. ``locale`` for ESCI)."""
        params = inspect.signature(self.function).parameters.values()
        return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


FORMATS: dict[str, Adapter] = {
    a.name: a for a in (
        Adapter("esci", "esci", "Amazon Shopping Queries (ESCI) Parquet release "
                "(or, autodetected, the OpenSearch judgments JSON)", ("products", "judgments")),
        Adapter("esci-judgments", "esci_judgments", "ESCI judgments JSON of the "
                "OpenSearch tools (ratings 100/10/1/0)", ("products", "judgments")),
        Adapter("wands", "wands", "Wayfair WANDS product/query/label files",
                ("products", "judgments")),
        Adapter("homedepot", "homedepot", "Kaggle Home Depot search relevance "
                "train.csv", ("products", "judgments")),
        Adapter("crowdflower", "crowdflower", "Kaggle CrowdFlower search results "
                "relevance train.csv", ("products", "judgments")),
        Adapter("online-retail", "online_retail", "UCI Online Retail invoice lines",
                ("products", "orders")),
        Adapter("groceries", "groceries", "grocery baskets (member, date, item)",
                ("products", "orders")),
    )
}


# What each absent table rules out (the contract: a folder without offers is still valid).
_SKIPPED_WITHOUT = {
    "offers": "no offers: purchase and engagement analyses (levels, hypotheses, strategies, "
    "trade-off) are skipped; there is no logged search traffic in this data set",
    "judgments": "no judgments: annotator agreement, the relevance model and the semantic "
    "relation to judged-relevant products are skipped; there are no relevance labels",
    "orders": "no orders: the co-purchase relation and purchase history are skipped; there "
    "are no baskets",
}


def skipped_analyses(tables: set[str]) -> list[str]:
    """One sentence per optional contract table missing from ``tables``: what is skipped, why."""
    return [text for name, text in _SKIPPED_WITHOUT.items() if name not in tables]


def convert(
    format: str, source: str | Path, out_dir: str | Path, *, force: bool = False,
    **options: Any,
) -> ConversionReport:
    """Convert a public data set in ``format`` at ``source`` into contract tables in ``out_dir``.

    Writes ``products.parquet`` plus ``judgments.parquet`` and/or ``orders.parquet``,
    ``conversion.json`` (the returned report) and ``dataset.json`` (the recommended label
    settings, read by the analyses).

    Parameters
    ----------
    format : one of ``FORMATS`` (e.g. ``"homedepot"``).
    source : the folder holding the data set's files as released (or its main file).
    out_dir : folder to write to; refused when it already holds tables unless ``force``.
    **options : format options, e.g. ``locale="us"`` for ``esci``; ``None`` means default.

    Examples
    --------
    >>> report = convert("crowdflower", "data/crowdflower", "out/cf")  # doctest: +SKIP
    >>> report.rows_written["judgments"]  # doctest: +SKIP
    10158
    """
    adapter = FORMATS.get(format)
    if adapter is None:
        raise ValueError(f"unknown format {format!r}; choose one of {sorted(FORMATS)}")
    given = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(given) - set(adapter.options))
    if unknown:
        accepted = ", ".join(f"--{o}" for o in adapter.options) or "none"
        raise ValueError(f"format {format!r} takes no option(s) {unknown}; it accepts: {accepted}")
    source_path = Path(source)
    if not source_path.exists():
        raise FileNotFoundError(f"SOURCE {source_path} does not exist")
    from seemingly.adapters._common import OWN_NAMES, null_counts, write_tables
    from seemingly.outputs import output_dir

    out = Path(out_dir)
    # Refused before the (possibly long) conversion: a folder of someone else's files, the
    # source itself, or an earlier conversion without --force.
    with output_dir(out, writer="convert", inputs=(source_path,), own_names=OWN_NAMES,
                    force=force, record_files=True) as tmp:
        converted = adapter.function(source_path, **given)
        write_tables(tmp, converted.tables)
        notes = list(converted.notes) + skipped_analyses(set(converted.tables))
        report = ConversionReport(
            format=format, source=str(source_path), out_dir=str(out),
            rows_read=dict(converted.rows_read),
            rows_written={name: len(frame) for name, frame in converted.tables.items()},
            dropped=tuple(converted.dropped), nulls=null_counts(converted.tables),
            labels=converted.labels, notes=tuple(notes), language=converted.language,
        )
        report.save(tmp)
    return report
