"""``seemingly study``: the whole job in one command, ending in an HTML report."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from seemingly.cli.app import app, error_line


@app.command("study")
def study_cmd(
    data: Path | None = typer.Argument(
        None, help="folder of contract tables or a DuckDB store; omit to simulate the default world"
    ),
    out: Path = typer.Option(
        Path("out/study"), "--out", "-o", help="folder for results, tables, models, report "
        "(written beside it and swapped in when complete)"
    ),
    world: str = typer.Option("default", help="simulated world when DATA is omitted"),
    offers: int = typer.Option(
        200_000, "--offers", min=1_000, help="simulated offers when DATA is omitted"
    ),
    seed: int = typer.Option(7, help="seed for simulation, splits, bootstrap and models"),
    min_offers: int = typer.Option(
        5, "--min-offers", min=1, help="offers a (query, product) level needs"
    ),
    label_aggregation: str = typer.Option(
        "majority", "--label-aggregation",
        help="how several judgments of a pair become one label: majority, dawid_skene, mace",
    ),
    joint: bool = typer.Option(
        False, "--joint",
        help="also fit the joint model per relevance weight (slow; see docs/joint-vs-fusion.md)",
    ),
) -> None:
    """Validate -> ingest -> analyze -> strategies -> trade-off -> save its models -> report."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from seemingly.config import AnalysisSettings, ModelSettings
    from seemingly.study.run import STAGES, StageError, run_study

    console = Console()
    started: dict[str, float] = {}

    def on_stage(stage: str, state: str) -> None:
        if state == "start":
            started[stage] = time.perf_counter()
            console.print(f"[bold]{stage}[/bold] ...")
        elif state == "done":
            console.print(f"  {stage} done in {time.perf_counter() - started[stage]:.1f} s")
        else:
            console.print(f"[dim]{stage}: skipped[/dim]")

    from seemingly.config import LabelSettings

    if label_aggregation not in ("majority", "dawid_skene", "mace"):
        console.print(f"[red]error:[/red] --label-aggregation {escape(label_aggregation)!s} is "
                      "not one of majority, dawid_skene, mace", highlight=False)
        raise typer.Exit(code=2)
    settings = AnalysisSettings(seed=seed, min_offers=min_offers,
                                labels=LabelSettings(aggregation=label_aggregation),  # type: ignore[arg-type]
                                models=ModelSettings(joint=joint))
    t0 = time.perf_counter()
    try:
        with console.status("running the study"):
            result = run_study(
                data,
                out,
                settings=settings,
                world=world,
                n_offers=offers,
                seed=seed,
                on_stage=on_stage,
            )
    except (StageError, FileNotFoundError, ValueError) as exc:
        # one line, never folded (a fold would split the file path the message names), and
        # the message's own brackets are text, not Rich markup
        console.print(f"[red]{escape(error_line(exc))}[/red]", soft_wrap=True,
                      highlight=False)
        raise typer.Exit(code=1) from None
    table = Table(title="time per stage")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage in STAGES:
        if stage in result.timings:
            table.add_row(stage, f"{result.timings[stage]:.1f}")
    table.add_row("total", f"{time.perf_counter() - t0:.1f}")
    console.print(table)
    console.print(f"results: {result.results_path}\nreport:  {result.report_path}")
