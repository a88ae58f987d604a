"""The whole job in one call: data -> store -> analysis -> models -> trade-off -> report.

``run_study`` is what ``seemingly study`` and ``make demo`` run. Each stage is timed; a failure
names the stage that failed. With no data it simulates the default world first (the embedded
default), so a newcomer sees everything work with one command.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seemingly.config import AnalysisSettings, LabelSettings

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
    "train",
    "tradeoff",
    "tables",
    "report",
)

# analysis.BLOCKS name -> the study stage it belongs to (unknown blocks count as "overview").
_BLOCK_STAGE = {
    **{name: name for name in ("hypotheses", "examples", "relations", "strategies", "tradeoff")},
    "models": "tradeoff",  # the models block reports the models the trade-off stage trained
}


class StageError(RuntimeError):
    """A stage of the study failed; the message names the stage and the cause."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"stage '{stage}' failed: {type(cause).__name__}: {cause}")
        self.stage = stage
        self.cause = cause


@dataclass(frozen=True)
class StudyResult:
    """Where a study wrote its outputs, and how long each stage took (seconds)."""

    out_dir: Path
    results_path: Path
    report_path: Path
    tables: tuple[Path, ...]
    models_dir: Path | None
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "results": str(self.results_path),
            "report": str(self.report_path),
            "tables": [str(t) for t in self.tables],
            "models": str(self.models_dir) if self.models_dir else None,
            "timings": dict(self.timings),
        }


StageHook = Callable[[str], Any]


def dataset_label_settings(data: Path) -> LabelSettings | None:
    """Label settings a converter recorded in ``DATA/dataset.json`` (``seemingly convert``)."""
    path = data / "dataset.json" if data.is_dir() else None
    if path is None or not path.is_file():
        return None
    labels = json.loads(path.read_text()).get("labels")
    return LabelSettings(**labels) if labels else None


def run_study(
    data: str | Path | None,
    out: str | Path,
    *,
    settings: AnalysisSettings | None = None,
    world: str = "default",
    n_offers: int = 200_000,
    seed: int = 7,
    on_stage: Callable[[str, str], None] | None = None,
) -> StudyResult:
    """Run every stage and write ``out/results.json``, ``out/report.html``, ``out/tables``,
    ``out/models``.

    Parameters
    ----------
    data
        A folder of contract tables or a DuckDB store; ``None`` simulates ``world`` into
        ``out/data`` with ``n_offers`` offers and ``seed``.
    on_stage
        Called as ``on_stage(stage, "start" | "done" | "skipped")``, for progress display.

    Examples
    --------
    >>> result = run_study(None, "out/demo", n_offers=50_000, seed=7)  # doctest: +SKIP
    >>> result.timings["hypotheses"]  # doctest: +SKIP
    """
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = settings or AnalysisSettings(seed=seed)
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

    run_info: dict[str, Any] = {"seed": settings.seed, "world": None}
    if data is None:
        with stage("simulate"):
            from seemingly.simulate import simulate

            data_path = out_dir / "data"
            simulate(data_path, world, n_offers=n_offers, seed=seed)
        run_info.update(world=world, n_offers=n_offers)
    else:
        notify("simulate", "skipped")
        data_path = Path(data)
        labels = dataset_label_settings(data_path)
        if labels is not None and settings.labels == LabelSettings():
            settings = settings.model_copy(update={"labels": labels})

    with stage("ingest"):
        from seemingly.store import Store

        store = Store.for_data(data_path, out_dir)

    try:
        results = _analyze_in_stages(store, settings, stage)
        models_dir: Path | None = None
        if store.has("offers") and store.has("judgments"):
            with stage("train"):
                from seemingly.ranking.models import train

                models_dir = out_dir / "models"
                trained = train(store, settings, models_dir)
                models_block = _models_block(trained)
                if models_block:
                    results.setdefault("models", models_block)
        elif store.has("judgments"):  # no offers: the relevance model alone (issue 9)
            with stage("train"):
                from seemingly.ranking.models.relevance_only import train_relevance

                models_dir = out_dir / "models"
                trained = train_relevance(store, settings, models_dir)
                results.setdefault("models", trained.to_dict())
                skipped = results.get("skipped", {})
                skipped.pop("models", None)
                if not skipped:
                    results.pop("skipped", None)
                results.setdefault("data", {}).setdefault("warnings", []).append(
                    "models: purchase and engagement models skipped, the data has no offers "
                    "table; the relevance model is trained on judgments alone"
                )
        else:
            notify("train", "skipped")
        with stage("tables"):
            from seemingly.study.tables import write_tables

            tables = write_tables(store, settings, results, out_dir / "tables")
    finally:
        store.close()

    from seemingly import __version__
    from seemingly.study.analysis import write_results

    run_info.update(version=__version__, timings=dict(timings), settings=settings.model_dump())
    results["run"] = run_info
    results_path = write_results(results, out_dir)
    with stage("report"):
        from seemingly.report import render_report

        report_path = render_report(out_dir)
    # The report stage's own time is known only now; keep results.json and the result in step.
    results["run"]["timings"] = dict(timings)
    write_results(results, out_dir)
    return StudyResult(out_dir, results_path, report_path, tables, models_dir, dict(timings))


def _analyze_in_stages(store: Any, settings: AnalysisSettings, stage: Any) -> dict[str, Any]:
    """Run analysis.BLOCKS one by one so each is timed under its study stage."""
    from seemingly.study.analysis import BLOCKS, Context, assemble, skipped_blocks

    ctx = Context(store, settings)
    blocks: dict[str, Any] = {}
    for name, build in BLOCKS.items():
        if name == "data":
            continue
        with stage(_BLOCK_STAGE.get(name, "overview")):
            block = build(ctx)
        if block is not None:
            blocks[name] = block
    blocks["data"] = BLOCKS["data"](ctx)
    return assemble({**blocks, "skipped": skipped_blocks(ctx, blocks) or None})


def _models_block(trained: Any) -> dict[str, Any] | None:
    """Metrics and gain importances of the served models, if the trainer exposes them."""
    to_dict = getattr(trained, "summary", None) or getattr(trained, "to_dict", None)
    if to_dict is None:
        return None
    block = to_dict()
    return block if isinstance(block, dict) else None
