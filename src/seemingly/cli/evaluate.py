"""`seemingly evaluate RUN [RUN ...] --data DATA --out DIR`: any ranker on the study's frontier."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seemingly.cli._settings import command_settings, with_dataset_language
from seemingly.cli.app import app

if TYPE_CHECKING:
    from seemingly.results.evaluate import EvaluationResults

_RUNS_HELP = ("run files: TREC ('qid Q0 product_id rank score tag', needs --queries) or "
              ".csv / .parquet with columns query, product_id, score")


_SHORT = {"relevance_at_1": "relevance@1", "purchase_level_at_1": "purchase@1",
          "engagement_level_at_1": "engagement@1", "ndcg_at_k": "NDCG@k"}


@app.command("evaluate")
def evaluate_cmd(
    runs: list[Path] = typer.Argument(..., help=_RUNS_HELP),
    data: Path = typer.Option(..., "--data", help="folder of contract tables or a DuckDB store"
                              " (the data the judgments and levels come from)"),
    out: Path = typer.Option(..., "--out", "-o", help="writes DIR/results.json and "
                             "DIR/report.html"),
    queries: Path | None = typer.Option(
        None, "--queries", help="query-id table of TREC runs (a study's tables/trec/queries.tsv)"),
    study: Path | None = typer.Option(
        None, "--study", help="a study's folder or results.json: draw the runs on its frontier "
        "and measure with its settings"),
    judged_only: bool = typer.Option(
        False, "--judged-only", help="drop products outside the judged candidates first"),
    k: int | None = typer.Option(None, "--k", min=1, help="NDCG cut-off (default the study's)"),
    seed: int | None = typer.Option(
        None, "--seed", help="bootstrap seed (default 7; with --study: the study's)"),
    config: Path | None = typer.Option(
        None, "--config", metavar="FILE", help="TOML file of analysis settings to measure with "
        "(without --study; `seemingly config` prints them all)"),
) -> None:
    """Measure rankers' runs with the study's metrics: relevance@1, purchase and engagement
    level@1, NDCG@k, with query-bootstrap intervals and Holm-corrected paired tests.

    Example: seemingly evaluate bm25.trec --queries out/study/tables/trec/queries.tsv --data
    data/esci --study out/study -o out/eval
    """
    from seemingly.config import LabelSettings
    from seemingly.errors import ContractError
    from seemingly.ranking.evaluate import evaluate_store, read_query_table, read_run
    from seemingly.report.evaluate import render_evaluation
    from seemingly.results import Results, ResultsFileError
    from seemingly.store import dataset_label_settings, open_data

    if study is not None and config is not None:
        raise typer.BadParameter("give --study (its settings) or --config, not both")
    try:
        study_results = Results.from_json(study) if study is not None else None
        if study_results and study_results.run:
            settings = study_results.run.settings
        else:
            settings = with_dataset_language(
                command_settings(config, {"seed": seed}), data)
        # read and check every run before building the store: a bad file fails fast
        qids = read_query_table(queries) if queries is not None else None
        for path in runs:
            read_run(path, queries=qids)
        labels = dataset_label_settings(data)
        if labels is not None and settings.labels == LabelSettings():
            settings = settings.model_copy(update={"labels": labels})
        out.mkdir(parents=True, exist_ok=True)
        with open_data(data, out) as store:
            ev = evaluate_store(store, runs, settings, queries_table=queries,
                                judged_only=judged_only, k=k)
    except (ContractError, ResultsFileError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    path = ev.write(out)
    report = render_evaluation(ev, out, study=study_results)
    _print(ev)
    for tag, r in ev.runs.items():
        c = r.coverage
        if c.queries_ranked < 0.9 * c.queries or (c.judged_at_k or 0) < 0.5:
            # unjudged products and unranked queries score 0: say so next to the numbers
            typer.echo(f"note: {tag} ranks {c.queries_ranked} of {c.queries} evaluated "
                       f"queries; {c.judged_at_k or 0:.0%} of its top k are judged "
                       "(--judged-only measures the judged ones alone)")
    typer.echo(f"wrote {path} and {report}")


def _print(ev: EvaluationResults) -> None:
    from rich.console import Console
    from rich.table import Table

    from seemingly.results.evaluate import EVALUATION_METRICS

    table = Table(title=f"Runs (mean [{ev.settings.confidence:.0%} query-bootstrap interval])")
    table.add_column("run")
    for m in EVALUATION_METRICS:
        table.add_column(_SHORT[m], justify="right")
    table.add_column("judged@k", justify="right")
    for tag, r in ev.runs.items():
        cells = [f"{getattr(r, m).value:.3f} [{getattr(r, m).ci[0]:.3f}, "
                 f"{getattr(r, m).ci[1]:.3f}]" for m in EVALUATION_METRICS]
        jk = r.coverage.judged_at_k
        table.add_row(tag, *cells, "-" if jk is None else f"{jk:.0%}")
    Console().print(table)
