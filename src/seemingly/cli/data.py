"""``seemingly validate | ingest | analyze``: check data, build the store, write results.json."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

from seemingly.cli._settings import command_settings, config_option, with_dataset_language
from seemingly.cli.app import Backend, LabelAggregation, app, error_line

_DATA_HELP = "folder of contract tables (products.*, offers.*, ...) or a DuckDB store file"
# --backend spark: DATA may be a storage URL (s3a://, hdfs://, abfss://), so DATA is text.
_BACKEND_HELP = "duckdb (embedded, default) or spark (PySpark; see docs/cluster.md)"
_MASTER_HELP = "Spark master: local[N], spark://host:7077, yarn, k8s://... (default local[2])"
_CONF_HELP = "Spark setting KEY=VALUE, repeatable (e.g. spark.executor.memory=8g)"


def _spark_settings(master: str | None, conf: list[str] | None) -> Any:
    """SparkSettings from the --spark-master / --spark-conf options."""
    from seemingly.store.spark import SparkSettings

    pairs = {}
    for item in conf or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--spark-conf {item!r}: expected KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return SparkSettings(master=master, conf=pairs)


def _fail(exc: Exception) -> typer.Exit:
    """Print a user-caused error without a traceback; exit code 1."""
    typer.echo(error_line(exc), err=True)
    return typer.Exit(code=1)


def _ingest_settings(earliest: str | None) -> Any:
    from datetime import date

    from seemingly.config import IngestSettings

    if earliest is None:
        return IngestSettings()
    try:
        return IngestSettings(earliest_timestamp=date.fromisoformat(earliest))
    except ValueError:
        raise typer.BadParameter(
            f"--earliest-timestamp {earliest!r}: give a day as YYYY-MM-DD") from None


_EARLIEST_HELP = "quarantine timestamps before this day (default 2000-01-01)"


def _quality_problems(report: Any, max_quarantined: float | None) -> list[str]:
    """Why validate exits 1 although the data could be read: a required table with no
    accepted row, or a table quarantining more than the allowed share."""
    from seemingly.contract import TABLES

    problems = []
    for name, spec in TABLES.items():
        t = report.tables.get(name)
        if spec.required and t is not None and t.accepted == 0:
            problems.append(f"{', '.join(t.files)}: required table {name!r} has 0 accepted "
                            f"rows of {t.read:,} read (rules: "
                            f"{', '.join(t.rules) or 'no rows'})")
    if max_quarantined is not None:
        for name, t in report.tables.items():
            share = t.quarantined / t.read if t.read else 0.0
            if share > max_quarantined:
                problems.append(f"{', '.join(t.files)}: table {name!r} quarantined {share:.1%} "
                                f"of its rows, above --max-quarantined {max_quarantined:.1%}")
    return problems


def _print_report(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from seemingly.store import RULES

    table = Table(title=f"Data contract check: {report.source}")
    for col in ("table", "files", "read", "accepted", "quarantined", "reasons"):
        table.add_column(
            col, justify="right" if col in ("read", "accepted", "quarantined") else "left"
        )
    for name, t in report.tables.items():
        reasons = "\n".join(f"{r}: {n:,}" for r, n in t.rules.items()) or "-"
        files = ", ".join(t.files) if len(t.files) <= 3 else f"{len(t.files)} files"
        table.add_row(name, files, f"{t.read:,}", f"{t.accepted:,}", f"{t.quarantined:,}", reasons)
    console = Console()
    console.print(table)
    used = sorted({r for t in report.tables.values() for r in t.rules})
    for r in used:
        console.print(f"  {r}: {RULES.get(r, '')}")
    for w in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")


@app.command("validate")
def validate_cmd(
    data: Path = typer.Argument(..., help=_DATA_HELP),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    max_quarantined: float | None = typer.Option(
        None, "--max-quarantined", min=0.0, max=1.0, metavar="SHARE",
        help="exit 1 when a table quarantines more than this share of its rows (e.g. 0.05)",
    ),
    earliest: str | None = typer.Option(None, "--earliest-timestamp", help=_EARLIEST_HELP),
) -> None:
    """Check DATA against the data contract; rows that break a rule are counted, not fatal.

    Exit code 0 when the data can be ingested; 1 on a structural (hard) error, a malformed
    dataset.json, a required table with no accepted row, or more quarantined rows than
    --max-quarantined allows.

    Example: seemingly validate data/esci --max-quarantined 0.05
    """
    from seemingly.errors import ContractError, OutputError
    from seemingly.store import dataset_label_settings, validate

    settings = _ingest_settings(earliest)
    try:
        dataset_label_settings(data)
        report = validate(data, settings)
    except (ContractError, OutputError, FileNotFoundError) as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    problems = _quality_problems(report, max_quarantined)
    for p in problems:
        typer.echo(f"error: {p}", err=True)
    if problems:
        raise typer.Exit(code=1)


@app.command("ingest")
def ingest_cmd(
    data: str = typer.Argument(..., help=_DATA_HELP),
    out: str | None = typer.Option(
        None, "--out", "-o", help="store file to write (replaced only on success, and only if "
        "it is a store); with --backend spark a folder or storage URL that gets one Parquet "
        "folder per table"
    ),
    db: str | None = typer.Option(None, "--db", hidden=True, help="old name of --out"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    backend: Backend = typer.Option("duckdb", "--backend", help=_BACKEND_HELP),
    spark_master: str | None = typer.Option(None, "--spark-master", help=_MASTER_HELP),
    spark_conf: list[str] | None = typer.Option(None, "--spark-conf", help=_CONF_HELP),
    earliest: str | None = typer.Option(None, "--earliest-timestamp", help=_EARLIEST_HELP),
) -> None:
    """Validate DATA and write the accepted rows and the quarantine into a DuckDB store
    (or, with --backend spark, into a Parquet store folder that `analyze` opens directly).

    Example: seemingly ingest data/esci -o data/esci.duckdb
    """
    from rich.console import Console

    from seemingly.errors import ContractError, OutputError
    from seemingly.store import ingest

    if out is not None and db is not None and out != db:
        raise typer.BadParameter("give the store path once, with -o/--out")
    db = out if out is not None else db
    if db is None:
        raise typer.BadParameter("give the store file to write with -o/--out")
    settings = _ingest_settings(earliest)
    start = time.perf_counter()
    try:
        with Console(stderr=True).status(f"ingesting {data} ..."):
            if backend == "spark":
                from seemingly.store.spark import write_spark_store

                report = write_spark_store(data, db, settings=_spark_settings(
                    spark_master, spark_conf), earliest_timestamp=settings.earliest_timestamp)
            else:
                report = ingest(data, db, settings)
    except (ContractError, OutputError, FileNotFoundError) as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print_report(report)
    typer.echo(f"store written to {db} in {time.perf_counter() - start:.1f} s")


@app.command("analyze")
def analyze_cmd(
    data: str = typer.Argument(..., help=_DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o",
                             help="folder for results.json (and store.duckdb)"),
    config: Path | None = config_option(),
    min_offers: int | None = typer.Option(
        None, "--min-offers", min=1, help="offers a (query, product) needs to count as a level"
    ),
    relevant_at: float | None = typer.Option(
        None, "--relevant-at", help="numeric grade from which a judgment is relevant (default 1)"
    ),
    label_aggregation: LabelAggregation | None = typer.Option(
        None, "--label-aggregation",
        help="how several judgments of a pair become one label (default majority)",
    ),
    backend: Backend = typer.Option("duckdb", "--backend", help=_BACKEND_HELP),
    spark_master: str | None = typer.Option(None, "--spark-master", help=_MASTER_HELP),
    spark_conf: list[str] | None = typer.Option(None, "--spark-conf", help=_CONF_HELP),
) -> None:
    """Ingest DATA (a folder) or open it (a store file), measure, and write OUT/results.json.

    Settings: the defaults, then --config FILE, then the options given here; what
    DATA/dataset.json records (label scale, language) fills in what neither set.

    Example: seemingly analyze data/esci -o out/esci-analysis --config study.toml
    """
    from rich.console import Console

    from seemingly.config import LabelSettings
    from seemingly.errors import ContractError
    from seemingly.outputs import output_dir
    from seemingly.store import StoreLike, dataset_label_settings, open_data
    from seemingly.study.analysis import analyze

    try:
        settings = command_settings(config, {
            "min_offers": min_offers,
            "labels": {"relevant_at": relevant_at, "aggregation": label_aggregation}})
        # A converter's dataset.json says how its labels read; what the file or an option
        # set still overrides it.
        recorded = dataset_label_settings(data)
        if recorded is not None:
            chosen = settings.labels.model_dump(exclude_unset=True)
            settings = settings.model_copy(update={
                "labels": LabelSettings.model_validate({**recorded.model_dump(), **chosen})})
        settings = with_dataset_language(settings, data)
    except (ContractError, FileNotFoundError) as exc:
        raise _fail(exc) from None
    console = Console(stderr=True)
    start = time.perf_counter()
    store: StoreLike
    try:
        # Written beside OUT and swapped in (seemingly.outputs); the earlier store is reused.
        with output_dir(out, writer="analyze", inputs=(data,), keep=("store.duckdb",),
                        own_names=("results.json", "store.duckdb")) as tmp:
            with console.status(f"reading {data} ..."):
                if backend == "spark":  # validated in the cluster; only results are written
                    from seemingly.store.spark import open_spark_store

                    store = open_spark_store(
                        data, settings=_spark_settings(spark_master, spark_conf))
                else:
                    store = open_data(data, tmp)
            t_ingest = time.perf_counter() - start
            with store, console.status("measuring ..."):
                results = analyze(store, settings)
            path = out / results.write(tmp).name
    except (ValueError, OSError) as exc:  # ContractError, OutputError, a full disk
        raise _fail(exc) from None
    total = time.perf_counter() - start
    typer.echo(
        f"wrote {path} in {total:.1f} s (store {t_ingest:.1f} s, analysis {total - t_ingest:.1f} s)"
    )
