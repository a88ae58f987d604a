"""Validate sources and write the accepted and quarantined rows into an open DuckDB connection.

All row work happens inside DuckDB. Only the distinct raw queries visit Python (the contract's
normalisation is a Python function); they are joined back, so offers never leave the engine.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

import duckdb
import pyarrow as pa

from seemingly.contract import CONTRACT_VERSION, TABLES, normalize_query, query_length
from seemingly.errors import ContractError
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

__all__ = ["build"]

_QUARANTINE_DDL = (
    "CREATE TABLE quarantine (table_name VARCHAR, source_file VARCHAR, source_row BIGINT, "
    "rule VARCHAR, column_name VARCHAR, detail VARCHAR)"
)
# Repairs applied to accepted rows, as (name, SQL condition, warning text).
_REPAIRS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "products": (
        ("category_unknown", "category IS NULL", "products with no category, read as 'unknown'"),
        ("price_missing", "price IS NULL", "products with no price, left out of price analyses"),
    ),
    "offers": (
        (
            "purchase_read_as_engagement",
            "purchased AND NOT engaged",
            "offers with purchased=true and engaged=false, read as engaged=true",
        ),
        (
            "request_id_defaulted",
            "request_id IS NULL",
            "offers with no request_id, set to offer_id",
        ),
        ("position_defaulted", "position IS NULL", "offers with no position, set to 1"),
    ),
}
# Columns a multi-file Parquet scan adds (see sources.parquet_parts).
_VIRTUAL = {"file_index", "file_row_number", "_file_idx", "_row"}
# Repairs that are a documented default when the whole column is absent: no warning then.
_DEFAULT_WHEN_ABSENT = {"request_id_defaulted": "request_id", "position_defaulted": "position"}


def _store_columns(table: str) -> list[tuple[str, str]]:
    cols = [(c.name, c.store_type) for c in TABLES[table].columns]
    if table == "offers":
        i = [n for n, _ in cols].index("query")
        cols.insert(i + 1, ("query_length", "INTEGER"))
    return cols


def _accepted_select(table: str) -> str:
    """Final column expressions of accepted rows, applying the counted repairs."""
    exprs = {n: f'"{n}"' for n, _ in _store_columns(table)}
    if table == "products":
        exprs["category"] = "coalesce(category, 'unknown')"
    if table == "offers":
        exprs["request_id"] = "coalesce(request_id, offer_id)"
        exprs["position"] = "coalesce(position, 1)"
        exprs["engaged"] = "(engaged OR purchased)"
    return ", ".join(
        f'CAST({e} AS {t}) AS "{n}"'
        for (n, t), e in zip(_store_columns(table), exprs.values(), strict=True)
    )


def _example_rows(con: duckdb.DuckDBPyConnection, source: Source) -> str:
    try:
        rows = con.execute(f"SELECT * EXCLUDE (_row) FROM {source.relation} LIMIT 2").fetchall()
    except duckdb.Error:
        return "(unreadable)"
    return repr(rows) if rows else "(file has no rows)"


def _register_queries(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Normalise the distinct raw queries in Python and register the map; return its name."""
    raw = [r[0] for r in con.execute(f"SELECT DISTINCT query FROM _src_{table}").fetchall()]
    raw = [q for q in raw if q is not None]
    norm = [normalize_query(q) for q in raw]
    qmap = pa.table(
        {
            "raw": pa.array(raw, pa.string()),
            "norm": pa.array(norm, pa.string()),
            "qlen": pa.array([query_length(n) for n in norm], pa.int32()),
        }
    )
    name = f"_qmap_{table}"
    con.register(name, qmap)
    return name


def _ord(alias: str = "") -> str:
    """One BIGINT ordering rows in file order: file number in the high bits, row in the low."""
    return f"((CAST({alias}_file_idx AS BIGINT) << 40) + {alias}_row)"


def _stage(con: duckdb.DuckDBPyConnection, table: str, res: str) -> None:
    """``res``: typed rows with the list of problems in ``_p2``, duplicates included.

    One pass over the input: parse, every row rule, the normalised query and the product check
    (hash joins against small tables: the distinct queries, the accepted products).
    """
    spec = TABLES[table]
    joins, extra, cols = [], [], []
    for n in spec.column_names:
        cols.append("q.norm AS query, q.qlen AS query_length" if n == "query" else f's."{n}"')
    if "query" in spec.column_names:
        qmap = _register_queries(con, table)
        joins.append(f"LEFT JOIN {qmap} q ON s.query = q.raw")
        extra.append(
            (
                "blank_query:query",
                "(q.norm IS NULL OR q.norm = '')",
                "'query=' || coalesce(s.query, 'NULL')",
            )
        )
    if table != "products":
        joins.append("LEFT JOIN main.products p ON s.product_id = p.product_id")
        extra.append(
            (
                "unknown_product:product_id",
                "(s.product_id IS NOT NULL AND p.product_id IS NULL)",
                "'product_id=' || s.product_id",
            )
        )
    tokens = ", ".join(f"CASE WHEN {c} THEN '{tok}' END" for tok, c, _ in extra)
    det = " ".join(f"WHEN {c} THEN {d}" for _, c, d in extra)
    p2 = f"concat_ws(';', NULLIF(s._problems, ''){', ' + tokens if tokens else ''})"
    d2 = f"coalesce(s._detail, CASE {det} END)" if det else "s._detail"
    con.execute(
        f"CREATE TEMP TABLE {res} AS SELECT s._file_idx, s._row, {', '.join(cols)}, "
        f"{p2} AS _p2, {d2} AS _d2 FROM _src_{table} s {' '.join(joins)}"
    )
    if spec.key:
        _mark_duplicates(con, res, spec.key)


def _mark_duplicates(con: duckdb.DuckDBPyConnection, res: str, key: str) -> None:
    """Mark every valid row whose key an earlier valid row (in file order) already has.

    First a hash aggregate over 64-bit hashes of the key (cheaper and smaller than one over
    the strings) finds candidate keys; the exact keys and their first row are then found among
    the candidates only, and only those rows are updated. Cheaper than a window over all rows,
    which sorts the whole table with its payload.
    """
    k = f'"{key}"'
    valid = f"FROM {res} WHERE _p2 = ''"
    con.execute(
        f"CREATE TEMP TABLE _duph AS SELECT hash({k}) AS h {valid} GROUP BY 1 HAVING count(*) > 1"
    )
    (n,) = con.execute("SELECT count(*) FROM _duph").fetchone()  # type: ignore[misc]
    if n:
        con.execute(
            f"CREATE TEMP TABLE _dup AS SELECT {k} AS k, min({_ord()}) AS keep {valid} "
            f"AND hash({k}) IN (SELECT h FROM _duph) GROUP BY {k} HAVING count(*) > 1"
        )
        # An UPDATE keeps the rows where they are, so the file order of res survives.
        con.execute(
            f"UPDATE {res} SET _p2 = 'duplicate_id:{key}', _d2 = '{key}=' || {res}.{k} "
            f"FROM _dup d WHERE {res}.{k} = d.k AND {res}._p2 = '' "
            f"AND {_ord(res + '.')} <> d.keep"
        )
        con.execute("DROP TABLE _dup")
    con.execute("DROP TABLE _duph")


# Label kinds (rules.LABEL_KIND): 0 and 1 read as both a grade and a boolean, so only
# these three conflict.
_KINDS = ("esci", "boolean", "numeric")


def _check_label_kinds(con: duckdb.DuckDBPyConnection, res: str, sources: list[Source]) -> None:
    """Refuse judgments whose labels mix ESCI letters, booleans and grades: which scale
    would decide relevance? One example row of each kind names the conflict."""
    rows = con.execute(
        f"SELECT kind, arg_min(_file_idx, {_ord()}), arg_min(_row, {_ord()}), "
        f"arg_min(label, {_ord()}) FROM (SELECT *, {label_kind('label')} AS kind FROM {res} "
        f"WHERE _p2 = '') WHERE kind IN {_KINDS} GROUP BY kind ORDER BY kind"
    ).fetchall()
    if len(rows) > 1:
        shown = "; ".join(
            f"{kind} {label!r} at {sources[int(f)].label} row {r}" for kind, f, r, label in rows
        )
        raise ContractError(
            f"judgments: labels mix kinds ({shown}); rule one_label_kind: every label of a "
            f"table is an ESCI letter, a boolean, or a numeric grade. Map them to one kind."
        )


def _in_file_order(con: duckdb.DuckDBPyConnection, res: str, n_files: int) -> bool:
    """Whether ``res`` is stored in file order, so writing its rows needs no sort.

    Each file's rows are numbered 1..n, so in file order row ``_row`` of file ``i`` sits at
    rowid ``offset[i] + _row - 1``. A scan with projections keeps the order (products); the
    hash joins of the other tables let DuckDB write in parallel out of order, and then the
    final write sorts. Two cheap scans instead of always sorting.
    """
    per_file = con.execute(
        f"SELECT _file_idx, count(*), min(_row), max(_row) FROM {res} GROUP BY 1"
    ).fetchall()
    sizes = [0] * n_files
    for idx, n, lo, hi in per_file:
        if lo != 1 or hi != n:
            return False
        sizes[int(idx)] = int(n)
    offsets, total = [], 0
    for n in sizes:
        offsets.append(total)
        total += n
    (bad,) = con.execute(
        f"SELECT count(*) FROM {res} WHERE rowid <> {offsets}[_file_idx + 1] + _row - 1"
    ).fetchone()  # type: ignore[misc]
    return int(bad) == 0


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
    res = f"_res_{table}"
    try:
        _stage(con, table, res)
    except duckdb.Error as exc:
        raise ContractError(
            f"table {table!r} ({', '.join(s.label for s in sources)}): could not be read: {exc}. "
            f"Check the files are valid and UTF-8 encoded."
        ) from exc

    if table == "judgments":
        _check_label_kinds(con, res, sources)
    first = "split_part(_p2, ';', 1)"
    # Rule counts and repair counts in one scan of the staged rows.
    repairs_def = _REPAIRS.get(table, ())
    counts_sql = ", ".join(["count(*)", *(f"count_if({cond})" for _, cond, _ in repairs_def)])
    counts: dict[str, int] = {}
    repairs: dict[str, int] = {name: 0 for name, _, _ in repairs_def}
    for rule, n, *fixed in con.execute(
        f"SELECT split_part({first}, ':', 1), {counts_sql} FROM {res} GROUP BY 1"
    ).fetchall():
        counts[rule] = int(n)
        if rule == "":
            repairs = {name: int(f) for (name, _, _), f in zip(repairs_def, fixed, strict=True)}
    accepted = int(counts.pop("", 0))
    read = accepted + sum(counts.values())
    for name, _, text in repairs_def:
        n = repairs[name]
        if n and _DEFAULT_WHEN_ABSENT.get(name) not in absent_optional:
            warnings.append(f"{table}: {n} {text}")

    labels = "[" + ", ".join(sql_str(s.label) for s in sources) + "]"
    rules = "list_transform(string_split(_p2, ';'), lambda x: split_part(x, ':', 1))"
    con.execute(
        f"INSERT INTO quarantine SELECT {sql_str(table)}, {labels}[_file_idx + 1], _row, "
        f"split_part({first}, ':', 1), split_part({first}, ':', 2), "
        f"_d2 || CASE WHEN len({rules}) > 1 THEN ' (all rules: ' || "
        f"array_to_string({rules}, ', ') || ')' ELSE '' END "
        f"FROM {res} WHERE _p2 <> '' ORDER BY _file_idx, _row"
    )
    # Accepted rows in file order: a plain filter of res keeps its order, so sort only if the
    # staging pass did not keep it.
    order = "" if _in_file_order(con, res, len(sources)) else " ORDER BY _file_idx, _row"
    con.execute(
        f'CREATE TABLE main."{table}" AS SELECT {_accepted_select(table)} FROM {res} '
        f"WHERE _p2 = ''{order}"
    )

    # Reconcile against what actually landed, not against the counts we just derived.
    (stored,) = con.execute(f'SELECT count(*) FROM main."{table}"').fetchone()  # type: ignore[misc]
    (quarantined,) = con.execute(
        f"SELECT count(*) FROM quarantine WHERE table_name = {sql_str(table)}"
    ).fetchone()  # type: ignore[misc]
    if stored != accepted or stored + quarantined != read:
        raise RuntimeError(
            f"internal error: {table} read {read} rows but stored {stored} and quarantined "
            f"{quarantined}; please report this with the input"
        )
    con.execute(f"DROP TABLE {res}")
    con.execute(f"DROP VIEW _src_{table}")
    return TableReport(
        table=table,
        files=tuple(s.label for s in sources),
        read=int(read),
        accepted=accepted,
        quarantined=int(quarantined),
        rules={k: int(v) for k, v in sorted(counts.items())},
        repairs=repairs,
    )


def build(
    con: duckdb.DuckDBPyConnection,
    sources: list[Source],
    *,
    source_name: str,
    fingerprint: str,
    ignored: list[str],
    earliest_timestamp: date = date(2000, 1, 1),
) -> IngestReport:
    """Validate ``sources`` and write the store tables and ``seemingly_meta`` into ``con``.

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
    }
    con.executemany(
        "INSERT INTO seemingly_meta VALUES (?, ?)",
        [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()],
    )
    return report
