"""Validate sources and write the accepted and quarantined rows into an open DuckDB connection.

All row work happens inside DuckDB, in the streaming passes of :mod:`seemingly.store.stage`.
Only the distinct raw queries visit Python (the contract's normalisation is a Python
function), so offers never leave the engine.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

import duckdb

from seemingly.contract import CONTRACT_VERSION, TABLES
from seemingly.errors import ContractError
from seemingly.store import stage
from seemingly.store.history import HISTORY_TABLE, HISTORY_VERSION, write_history_cells
from seemingly.store.ingest_report import IngestReport, TableReport
from seemingly.store.rules import label_kind, missing_columns_error, parse_select
from seemingly.store.sources import (
    Source,
    describe,
    ignored_warnings,
    parquet_parts,
    require_products,
    sql_str,
)
from seemingly.store.stage import ord_sql

__all__ = ["build"]

_QUARANTINE_DDL = (
    "CREATE TABLE quarantine (table_name VARCHAR, source_file VARCHAR, source_row BIGINT, "
    "rule VARCHAR, column_name VARCHAR, detail VARCHAR)"
)
# Columns a multi-file Parquet scan adds (see sources.parquet_parts).
_VIRTUAL = {"file_index", "file_row_number", "_file_idx", "_row"}
# Repairs that are a documented default when the whole column is absent: no warning then.
_DEFAULT_WHEN_ABSENT = {"request_id_defaulted": "request_id", "position_defaulted": "position"}


def _example_rows(con: duckdb.DuckDBPyConnection, source: Source) -> str:
    try:
        rows = con.execute(f"SELECT * EXCLUDE (_row) FROM {source.relation} LIMIT 2").fetchall()
    except duckdb.Error:
        return "(unreadable)"
    return repr(rows) if rows else "(file has no rows)"


# Label kinds (rules.LABEL_KIND): 0 and 1 read as both a grade and a boolean, so only
# these three conflict.
_KINDS = ("esci", "boolean", "numeric")


def _check_label_kinds(con: duckdb.DuckDBPyConnection, stg: str, sources: list[Source]) -> None:
    """Refuse judgments whose labels mix ESCI letters, booleans and grades: which scale
    would decide relevance? One example row of each kind names the conflict."""
    rows = con.execute(
        f"SELECT kind, arg_min(_file_idx, {ord_sql()}), arg_min(_row, {ord_sql()}), "
        f"arg_min(label, {ord_sql()}) FROM (SELECT *, {label_kind('label')} AS kind FROM {stg} "
        f"WHERE _rule = '') WHERE kind IN {_KINDS} GROUP BY kind ORDER BY kind"
    ).fetchall()
    if len(rows) > 1:
        shown = "; ".join(
            f"{kind} {label!r} at {sources[int(f)].label} row {r}" for kind, f, r, label in rows
        )
        raise ContractError(
            f"judgments: labels mix kinds ({shown}); rule one_label_kind: every label of a "
            f"table is an ESCI letter, a boolean, or a numeric grade. Map them to one kind."
        )


def _selects(
    con: duckdb.DuckDBPyConnection, table: str, sources: list[Source], warnings: list[str],
    earliest: date,
) -> tuple[list[str], set[str]]:
    """Parse SELECTs of a table's sources (runs of same-schema Parquet parts share one scan),
    and the optional columns no source has."""
    spec = TABLES[table]
    selects: list[str] = []
    absent_optional: set[str] = set(spec.column_names)
    run: list[tuple[int, Source]] = []
    run_types: list[tuple[str, str]] = []

    def flush() -> None:
        if len(run) == 1:
            selects.append(parse_select(spec, run[0][1], run[0][0], dict(run_types), earliest))
        elif run:
            paths = [str(s.parquet_path) for _, s in run]
            merged = Source(table, run[0][1].label, parquet_parts(paths, run[0][0]))
            selects.append(parse_select(spec, merged, "_file_idx", dict(run_types), earliest))
        run.clear()

    for i, src in enumerate(sources):
        types = describe(con, src)
        missing = [c for c in spec.required_columns if c not in types]
        if missing:
            raise missing_columns_error(src, spec, list(types), missing, _example_rows(con, src))
        unknown = sorted(set(types) - set(spec.column_names))
        if unknown:
            warnings.append(
                f"{src.label}: ignored column(s) not in the contract: {', '.join(unknown)}"
            )
        absent_optional &= set(spec.column_names) - set(types)
        # A user column named like a scan's virtual column would shadow it: read alone then.
        mergeable = src.parquet_path is not None and not _VIRTUAL & set(types)
        if mergeable and run and list(types.items()) == run_types:
            run.append((i, src))
            continue
        flush()
        if mergeable:
            run.append((i, src))
            run_types[:] = list(types.items())
        else:
            selects.append(parse_select(spec, src, i, types, earliest))
    flush()
    return selects, absent_optional


def _load_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sources: list[Source],
    warnings: list[str],
    earliest: date,
) -> TableReport:
    selects, absent_optional = _selects(con, table, sources, warnings, earliest)
    con.execute(f"CREATE TEMP VIEW _src_{table} AS {' UNION ALL '.join(selects)}")
    labels = "[" + ", ".join(sql_str(s.label) for s in sources) + "]"
    try:
        lk = stage.lookups(con, table)
        stg = stage.stage_view(con, table, lk)
        # Order matters only in the final write (and the quarantine, which sorts its rows).
        con.execute("SET preserve_insertion_order = false")
        summary = stage.summarise(con, table, stg)
        if table == "judgments":
            _check_label_kinds(con, stg, sources)
        bad = None
        if any(rule != "" for rule in summary.counts):
            bad = stage.bad_rows(con, stg)
            summary.excluded.append(bad)
        con.execute("SET preserve_insertion_order = true")
        stage.write_accepted(con, table, lk, summary)
        dups = stage.duplicate_rows(con, table, stg, summary)
        stage.quarantine_rows(con, table, labels, bad, dups)
        stage.drop_positions(con, table)
    except duckdb.Error as exc:
        raise ContractError(
            f"table {table!r} ({', '.join(s.label for s in sources)}): could not be read: {exc}. "
            f"Check the files are valid and UTF-8 encoded."
        ) from exc

    for name, _, text in stage.REPAIRS.get(table, ()):
        n = summary.repairs[name]
        if n and _DEFAULT_WHEN_ABSENT.get(name) not in absent_optional:
            warnings.append(f"{table}: {n} {text}")
    # Reconcile against what actually landed, not against the counts we just derived.
    (stored,) = con.execute(f'SELECT count(*) FROM main."{table}"').fetchone()  # type: ignore[misc]
    (quarantined,) = con.execute(
        f"SELECT count(*) FROM quarantine WHERE table_name = {sql_str(table)}"
    ).fetchone()  # type: ignore[misc]
    for t in summary.excluded:
        con.execute(f"DROP TABLE {t}")
    con.execute(f"DROP VIEW {stg}")
    con.execute(f"DROP VIEW _src_{table}")
    if lk.qmap is not None:
        con.unregister(lk.qmap)
    return stage.report(table, [s.label for s in sources], summary, int(stored), int(quarantined))


def build(
    con: duckdb.DuckDBPyConnection,
    sources: list[Source],
    *,
    source_name: str,
    fingerprint: str,
    ignored: list[str],
    earliest_timestamp: date = date(2000, 1, 1),
    derived: bool = True,
) -> IngestReport:
    """Validate ``sources`` and write the store tables and ``seemingly_meta`` into ``con``;
    with ``derived``, also the history cells the analysis reads (:mod:`.history`).

    Rows are staged in temp tables (kept in memory, spilled to the connection's
    ``temp_directory`` beyond ``memory_limit``), so the store file only receives final tables.
    """
    con.execute("SET TimeZone = 'UTC'")
    # The final writes rely on scans and filters keeping the row order (see _in_file_order).
    con.execute("SET preserve_insertion_order = true")
    by_table: dict[str, list[Source]] = defaultdict(list)
    for s in sources:
        by_table[s.table].append(s)
    require_products((t for t, srcs in by_table.items() if srcs), source_name)
    warnings = ignored_warnings(ignored)
    con.execute(_QUARANTINE_DDL)
    reports = {}
    for table in TABLES:  # products first: the other tables check product_id against it
        if by_table.get(table):
            reports[table] = _load_table(con, table, by_table[table], warnings,
                                         earliest_timestamp)
    has_cells = derived and write_history_cells(con)
    report = IngestReport(
        contract_version=CONTRACT_VERSION,
        source=source_name,
        fingerprint=fingerprint,
        tables=reports,
        warnings=tuple(warnings),
        ignored_files=tuple(ignored),
    )
    con.execute("CREATE TABLE seemingly_meta (key VARCHAR, value VARCHAR)")
    meta = {
        "report": report.to_dict(),
        "contract_version": CONTRACT_VERSION,
        "fingerprint": fingerprint,
        **({HISTORY_TABLE: HISTORY_VERSION} if has_cells else {}),
    }
    con.executemany(
        "INSERT INTO seemingly_meta VALUES (?, ?)",
        [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()],
    )
    return report
