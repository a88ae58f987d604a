"""Validate sources and write the accepted and quarantined rows into an open DuckDB connection.

All row work happens inside DuckDB. Only the distinct raw queries visit Python (the contract's
normalisation is a Python function); they are joined back, so offers never leave the engine.
"""

from __future__ import annotations

import json
from collections import defaultdict

import duckdb
import pyarrow as pa

from seemingly.contract import CONTRACT_VERSION, TABLES, normalize_query, query_length
from seemingly.errors import ContractError
from seemingly.store.report import IngestReport, TableReport
from seemingly.store.rules import missing_columns_error, parse_select
from seemingly.store.sources import Source, describe, sql_str

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


def _result_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """_res_<table>: typed rows with the final list of problems in ``_final``."""
    spec = TABLES[table]
    has_query = "query" in spec.column_names
    has_product_ref = table != "products"
    joins, extra, cols = [], [], []
    for n in spec.column_names:
        cols.append(
            "q.norm AS query, q.qlen AS query_length, s.query AS _raw_query"
            if (n == "query")
            else f's."{n}"'
        )
    if has_query:
        qmap = _register_queries(con, table)
        joins.append(f"LEFT JOIN {qmap} q ON s.query = q.raw")
        extra.append(
            (
                "blank_query:query",
                "(q.norm IS NULL OR q.norm = '')",
                "'query=' || coalesce(s.query, 'NULL')",
            )
        )
    if has_product_ref:
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
    stage = (
        f"SELECT s._file_idx, s._row, {', '.join(cols)}, {p2} AS _p2, {d2} AS _d2 "
        f"FROM _src_{table} s {' '.join(joins)}"
    )
    if spec.key:
        k = spec.key
        final = (
            f"CASE WHEN _p2 = '' AND row_number() OVER (PARTITION BY _p2 = '', \"{k}\" "
            f"ORDER BY _file_idx, _row) > 1 THEN 'duplicate_id:{k}' ELSE _p2 END"
        )
        detail = f"CASE WHEN _p2 = '' THEN '{k}=' || \"{k}\" ELSE _d2 END"
    else:
        final, detail = "_p2", "_d2"
    con.execute(
        f"CREATE TEMP TABLE _res_{table} AS SELECT * EXCLUDE (_p2, _d2), {final} AS _final, "
        f"{detail} AS _detail FROM ({stage})"
    )


def _load_table(
    con: duckdb.DuckDBPyConnection, table: str, sources: list[Source], warnings: list[str]
) -> TableReport:
    spec = TABLES[table]
    selects = []
    absent_optional: set[str] = set(spec.column_names)
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
        selects.append(parse_select(spec, src, i, types))
    con.execute(f"CREATE TEMP VIEW _src_{table} AS {' UNION ALL '.join(selects)}")
    try:
        _result_table(con, table)
    except duckdb.Error as exc:
        raise ContractError(
            f"table {table!r} ({', '.join(s.label for s in sources)}): could not be read: {exc}. "
            f"Check the files are valid and UTF-8 encoded."
        ) from exc

    cols = ", ".join(f'"{n}" {t}' for n, t in _store_columns(table))
    con.execute(f'CREATE TABLE main."{table}" ({cols})')
    con.execute(
        f'INSERT INTO main."{table}" SELECT {_accepted_select(table)} FROM _res_{table} '
        f"WHERE _final = '' ORDER BY _file_idx, _row"
    )
    labels = ", ".join(f"({i}, {sql_str(s.label)})" for i, s in enumerate(sources))
    first = "split_part(_final, ';', 1)"
    rules = "list_transform(string_split(_final, ';'), lambda x: split_part(x, ':', 1))"
    con.execute(
        f"INSERT INTO quarantine SELECT {sql_str(table)}, f.label, r._row, "
        f"split_part({first}, ':', 1), split_part({first}, ':', 2), "
        f"r._detail || CASE WHEN len({rules}) > 1 THEN ' (all rules: ' || "
        f"array_to_string({rules}, ', ') || ')' ELSE '' END "
        f"FROM _res_{table} r JOIN (VALUES {labels}) f(idx, label) ON r._file_idx = f.idx "
        f"WHERE r._final <> '' ORDER BY r._file_idx, r._row"
    )

    counts = dict(
        con.execute(
            f"SELECT split_part({first}, ':', 1), count(*) FROM _res_{table} GROUP BY 1"
        ).fetchall()
    )
    accepted = int(counts.pop("", 0))
    read = accepted + sum(int(v) for v in counts.values())
    repairs: dict[str, int] = {}
    for name, cond, text in _REPAIRS.get(table, ()):
        (n,) = con.execute(
            f"SELECT count(*) FROM _res_{table} WHERE _final = '' AND {cond}"
        ).fetchone()  # type: ignore[misc]
        repairs[name] = int(n)
        if n and _DEFAULT_WHEN_ABSENT.get(name) not in absent_optional:
            warnings.append(f"{table}: {n} {text}")
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
    con.execute(f"DROP TABLE _res_{table}")
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
) -> IngestReport:
    """Validate ``sources`` and write the store tables and ``seemingly_meta`` into ``con``."""
    con.execute("SET TimeZone = 'UTC'")
    by_table: dict[str, list[Source]] = defaultdict(list)
    for s in sources:
        by_table[s.table].append(s)
    if not by_table.get("products"):
        found = ", ".join(sorted(by_table)) or "no contract tables"
        raise ContractError(
            f"{source_name}: the products table is missing (found: {found}). Every analysis "
            f"needs it: add products.parquet, products.csv or products.jsonl with columns "
            f"{', '.join(TABLES['products'].required_columns)}."
        )
    warnings: list[str] = []
    if ignored:
        warnings.append(f"ignored files that are not contract tables: {', '.join(ignored)}")
    con.execute(_QUARANTINE_DDL)
    reports = {}
    for table in TABLES:  # products first: the other tables check product_id against it
        if by_table.get(table):
            reports[table] = _load_table(con, table, by_table[table], warnings)
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
