"""The whole job in one call: data -> store -> analysis -> trade-off and models -> report.

``run_study`` is what ``seemingly study`` and ``make demo`` run. Each stage is timed; a failure
names the stage that failed. With no data it simulates the default world first (the embedded
default), so a newcomer sees everything work with one command.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seemingly.config import AnalysisSettings, LabelSettings
from seemingly.outputs import output_dir
from seemingly.results import Results, RunBlock
from seemingly.study.tables import TABLE_FORMATS

if TYPE_CHECKING:
    from pydantic import BaseModel

    from seemingly.study.analysis import Context

__all__ = ["run_study", "StudyResult", "StageError", "STAGES"]

# Stage names in the order they run; the CLI shows one progress line per stage.
STAGES = (
    "simulate",
    "ingest",
    "overview",
    "hypotheses",
    "examples",
    "relations",
    "strategies",
    "tradeoff",
    "train",
    "labels",
    "tables",
    "report",
)

# analysis.BLOCKS name -> the study stage it belongs to (unknown blocks count as "overview").
_BLOCK_STAGE = {
    **{name: name for name in ("hypotheses", "examples", "relations", "strategies", "tradeoff")},
    "models": "train",  # saves the models the trade-off fitted (or the relevance model alone)
    "labels": "labels",
}


class StageError(RuntimeError):
    """A stage of the study failed; the message names the stage and the cause."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"stage '{stage}' failed: {type(cause).__name__}: {cause}")
        self.stage = stage
        self.cause = cause


@dataclass(frozen=True)
class StudyResult:
    """The study's typed results, where it wrote its outputs, and each stage's seconds.

    The blocks of :class:`~seemingly.results.Results` read straight off it as well:
    ``r.hypotheses`` is ``r.results.hypotheses``.

    Examples
    --------
    >>> r = run_study(None, "out/demo", n_offers=20_000, seed=3)  # doctest: +SKIP
    >>> r.hypotheses.price["purchase"].supported  # doctest: +SKIP
    True
    """

    out_dir: Path
    results_path: Path
    report_path: Path
    tables: tuple[Path, ...]
    models_dir: Path | None
    timings: dict[str, float] = field(default_factory=dict)
    results: Results = field(default_factory=Results)

    def __getattr__(self, name: str) -> Any:
        # only reached for names the dataclass lacks: the Results blocks
        if name in Results.model_fields and name != "contract_version":
            return getattr(self.results, name)
        blocks = ", ".join(n for n in Results.model_fields if n != "contract_version")
        raise AttributeError(f"StudyResult has no attribute {name!r}; its results' blocks are "
                             f"{blocks}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(Results.model_fields))

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "results": str(self.results_path),
            "report": str(self.report_path),
            "tables": [str(t) for t in self.tables],
            "models": str(self.models_dir) if self.models_dir else None,
            "timings": dict(self.timings),
        }


def run_study(
    data: str | Path | Mapping[str, Any] | None,
    out: str | Path,
    *,
    settings: AnalysisSettings | None = None,
    world: str = "default",
    n_offers: int = 200_000,
    seed: int = 7,
    on_stage: Callable[[str, str], None] | None = None,
    tables_format: str = "csv",
) -> StudyResult:
    """Run every stage and write ``out/results.json``, ``out/report.html``, ``out/tables``,
    ``out/models``.

    Parameters
    ----------
    data
        A folder of contract tables or a DuckDB store; a mapping of table name
        (``products``, ``offers``, ``judgments``, ``orders``) to a pandas, Arrow or Polars
        table; or ``None``, which simulates ``world`` into ``out/data`` with ``n_offers``
        offers and ``seed``.
    on_stage
        Called as ``on_stage(stage, "start" | "done" | "skipped")``, for progress display.
    tables_format
        ``"csv"`` (the default) or ``"parquet"``: the format of ``out/tables/`` (TREC files
        under ``tables/trec/`` are text either way).

    Examples
    --------
    >>> result = run_study(None, "out/demo", n_offers=50_000, seed=7)  # doctest: +SKIP
    >>> result.results.hypotheses["price"]["purchase"].supported  # doctest: +SKIP
    >>> result.timings["hypotheses"]  # doctest: +SKIP
    >>> run_study({"products": products_df, "offers": offers_table}, "out/mine")  # doctest: +SKIP
    """
    target = Path(out)
    settings = settings or AnalysisSettings(seed=seed)
    if tables_format not in TABLE_FORMATS:
        raise ValueError(f"tables_format {tables_format!r}: use one of {', '.join(TABLE_FORMATS)}")
    # Written into a sibling folder and swapped in at the end (seemingly.outputs): a failed or
    # killed run leaves the previous output whole, never old and new files side by side. The
    # previous store is carried over, so an unchanged input is not ingested again.
    inputs = () if isinstance(data, Mapping) else (data,)
    with output_dir(target, writer="study", inputs=inputs, own_names=OWN_NAMES,
                    keep=("store.duckdb",)) as tmp:
        result = _run(data, tmp, settings, world, n_offers, seed, on_stage, tables_format)

    def moved(p: Path) -> Path:
        return target / p.relative_to(tmp)

    return StudyResult(
        target, moved(result.results_path), moved(result.report_path),
        tuple(moved(t) for t in result.tables),
        moved(result.models_dir) if result.models_dir is not None else None,
        result.timings, result.results,
    )


#: What a study folder holds: an older one without a marker is replaced only if it holds
#: nothing else.
OWN_NAMES = ("results.json", "report.html", "tables", "models", "store.duckdb", "data")


def _run(
    data: str | Path | Mapping[str, Any] | None,
    out_dir: Path,
    settings: AnalysisSettings,
    world: str,
    n_offers: int,
    seed: int,
    on_stage: Callable[[str, str], None] | None,
    tables_format: str = "csv",
) -> StudyResult:
    timings: dict[str, float] = {}
    notify = on_stage or (lambda stage, state: None)

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        notify(name, "start")
        t0 = time.perf_counter()
        try:
            yield
        except StageError:
            raise
        except Exception as exc:
            raise StageError(name, exc) from exc
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        notify(name, "done")

    simulated: dict[str, Any] = {"world": None}
    frames = dict(data) if isinstance(data, Mapping) else None
    if isinstance(data, Mapping):
        notify("simulate", "skipped")
        data_path = out_dir
    elif data is None:
        with stage("simulate"):
            from seemingly.simulate import simulate

            data_path = out_dir / "data"
            simulate(data_path, world, n_offers=n_offers, seed=seed)
        simulated = {"world": world, "n_offers": n_offers}
    else:
        notify("simulate", "skipped")
        data_path = Path(data)

    with stage("ingest"):
        from seemingly.store import (
            dataset_label_settings,
            dataset_language,
            open_data,
            store_from_frames,
        )

        if frames is not None:
            unknown = sorted(set(frames) - {"products", "offers", "judgments", "orders"})
            if unknown:
                raise ValueError(f"data: unknown table(s) {unknown}; expected products, offers, "
                                 "judgments, orders")
            store = store_from_frames(out_dir / "store.duckdb", **frames)
        else:
            # A converter's dataset.json says how its labels read, unless the caller said else.
            labels = dataset_label_settings(data_path)
            # (the scale fields only: an aggregation method chosen by the caller is kept). A
            # scale field the caller set (a --config file's, an option's) counts as "said
            # else" even when it equals the default.
            scale = ("relevant_at", "esci_relevant", "tie")
            mine = settings.labels
            chosen = mine.model_fields_set if "labels" in settings.model_fields_set else set()
            if labels is not None and not chosen & set(scale) and all(
                    getattr(mine, f) == getattr(LabelSettings(), f) for f in scale):
                merged = mine.model_copy(update={f: getattr(labels, f) for f in scale})
                settings = settings.model_copy(update={"labels": merged})
            # and its language picks the stemmer, unless the caller set one
            language = dataset_language(data_path)
            if language is not None and "language" not in settings.model_fields_set:
                settings = settings.model_copy(update={"language": language})
            store = open_data(data_path, out_dir)

    from seemingly.study.analysis import Context, assemble

    ctx = Context(store, settings, models_dir=out_dir / "models")
    try:
        blocks = _build_blocks(ctx, stage)
        with stage("tables"):
            from seemingly.study.tables import write_tables

            tables = write_tables(store, settings, assemble(ctx, blocks), out_dir / "tables",
                                  rankings=ctx.rankings, fmt=tables_format)
    finally:
        store.close()

    from seemingly._version import __version__

    def run_block() -> RunBlock:
        return RunBlock(seed=settings.seed, **simulated, version=__version__,
                        timings=dict(timings), settings=settings)

    with stage("report"):
        from seemingly.report import render_report

        report_path = render_report(assemble(ctx, blocks, run_block()), out_dir)
    # The report stage's own time is known only now: results.json records every stage.
    results = assemble(ctx, blocks, run_block())
    results_path = results.write(out_dir)
    models_dir = ctx.models_dir if results.models is not None else None
    return StudyResult(out_dir, results_path, report_path, tables, models_dir, dict(timings),
                       results)


def _build_blocks(ctx: Context, stage: Callable[[str], AbstractContextManager[None]]
                  ) -> dict[str, BaseModel | None]:
    """Run analysis.BLOCKS one by one so each is timed under its study stage."""
    from seemingly.study.analysis import BLOCKS

    blocks: dict[str, BaseModel | None] = {}
    for name, build in BLOCKS.items():
        if name == "data":  # a few counts, built last to carry every stage's warnings
            blocks[name] = ctx.built[name] = build(ctx)
            continue
        with stage(_BLOCK_STAGE.get(name, "overview")):
            blocks[name] = ctx.built[name] = build(ctx)
    return blocks
