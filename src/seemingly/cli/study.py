"""``seemingly study``: the whole job in one command, ending in an HTML report."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from seemingly.cli._extras import require_extra
from seemingly.cli._settings import command_settings, config_option
from seemingly.cli.app import LabelAggregation, Normalization, TablesFormat, World, app, error_line


@app.command("study")
def study_cmd(
    data: Path | None = typer.Argument(
        None, help="folder of contract tables or a DuckDB store; omit to simulate the default world"
    ),
    out: Path = typer.Option(
        Path("out/study"), "--out", "-o", help="folder for results, tables, models, report "
        "(written beside it and swapped in when complete)"
    ),
    config: Path | None = config_option(),
    world: World = typer.Option("default", "--world",
                                help="simulated world when DATA is omitted"),
    offers: int = typer.Option(
        200_000, "--offers", min=1_000, help="simulated offers when DATA is omitted"
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="seed for simulation, splits, bootstrap and models (default 7)"),
    min_offers: int | None = typer.Option(
        None, "--min-offers", min=1, help="offers a (query, product) level needs (default 5)"
    ),
    relevant_at: float | None = typer.Option(
        None, "--relevant-at", help="numeric grade from which a judgment is relevant "
        "[default: 1, or what DATA/dataset.json records]"
    ),
    label_aggregation: LabelAggregation | None = typer.Option(
        None, "--label-aggregation",
        help="how several judgments of a pair become one label (default majority)",
    ),
    normalization: Normalization | None = typer.Option(
        None, "--normalization",
        help="how the ranker's scores are put on one scale before fusion (default min-max)",
    ),
    joint: bool | None = typer.Option(
        None, "--joint/--no-joint",
        help="also fit the joint model per relevance weight (slow; see docs/joint-vs-fusion.md)"
        " (default no)",
    ),
    tables_format: TablesFormat = typer.Option(
        "csv", "--tables-format", help="format of OUT/tables/ (parquet keeps types, "
        "and a levels table of millions of rows small)"),
    mlflow: bool = typer.Option(
        False, "--mlflow", help="log the study to MLflow afterwards, as `seemingly track` does "
        "(needs the mlflow extra)"),
    mlflow_uri: str | None = typer.Option(
        None, "--mlflow-uri", help="MLflow tracking URI for --mlflow, e.g. file:./mlruns "
        "(default: MLflow's own, or $MLFLOW_TRACKING_URI)"),
) -> None:
    """Validate -> ingest -> analyze -> strategies -> trade-off -> save its models -> report.

    Example: seemingly study data/esci -o out/esci --config study.toml --mlflow
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from seemingly.errors import ContractError
    from seemingly.study.run import STAGES, StageError, run_study

    console = Console()
    started: dict[str, float] = {}

    def fail(exc: BaseException) -> typer.Exit:
        # one line, never folded (a fold would split the file path the message names), and
        # the message's own brackets are text, not Rich markup
        console.print(f"[red]{escape(error_line(exc))}[/red]", soft_wrap=True,
                      highlight=False)
        return typer.Exit(code=1)

    def on_stage(stage: str, state: str) -> None:
        if state == "start":
            started[stage] = time.perf_counter()
            console.print(f"[bold]{stage}[/bold] ...")
        elif state == "done":
            console.print(f"  {stage} done in {time.perf_counter() - started[stage]:.1f} s")
        else:
            console.print(f"[dim]{stage}: skipped[/dim]")

    if mlflow or mlflow_uri is not None:
        # checked before the study runs, not after an hour of it
        require_extra("mlflow", "seemingly study --mlflow")
    try:
        settings = command_settings(config, {
            "seed": seed, "min_offers": min_offers,
            "labels": {"relevant_at": relevant_at, "aggregation": label_aggregation},
            "models": {"joint": joint, "normalization": normalization},
        })
    except (ContractError, FileNotFoundError) as exc:
        raise fail(exc) from None
    t0 = time.perf_counter()
    try:
        with console.status("running the study"):
            result = run_study(
                data,
                out,
                settings=settings,
                world=world,
                n_offers=offers,
                seed=settings.seed,
                on_stage=on_stage,
                tables_format=tables_format,
            )
    except (StageError, FileNotFoundError, ValueError) as exc:
        raise fail(exc) from None
    table = Table(title="time per stage")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage in STAGES:
        if stage in result.timings:
            table.add_row(stage, f"{result.timings[stage]:.1f}")
    table.add_row("total", f"{time.perf_counter() - t0:.1f}")
    console.print(table)
    console.print(f"results: {result.results_path}\nreport:  {result.report_path}")
    if mlflow or mlflow_uri is not None:
        from seemingly.results import ResultsFileError
        from seemingly.study.tracking import log_study

        try:
            run_id = log_study(result.out_dir, tracking_uri=mlflow_uri)
        except (ResultsFileError, OSError, ImportError) as exc:
            raise fail(exc) from None
        except Exception as exc:  # MLflow's own errors (a bad URI, a refused store): the
            # study is written; say why it was not logged, in one line
            raise fail(RuntimeError(f"the study is in {result.out_dir} but was not logged to "
                                    f"MLflow: {type(exc).__name__}: {exc}")) from None
        console.print(f"mlflow:  run {run_id}", highlight=False)
