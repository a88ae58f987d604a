"""Validate one contract table in a few streaming passes and write its accepted rows in file order.

The rows of a table never sit in a temporary table: each pass re-reads the sources (Parquet
column projection keeps the narrow passes cheap), and only small results are kept.

1. ``lookups``: the distinct raw queries, normalised in Python (the contract's normalisation
   is a Python function).
2. ``summarise``: one aggregate pass over the staged rows (parse, every row rule, hash joins
   against the query map and the accepted products) counting rows per first rule, per source
   file and per repair: a few groups, no materialised rows.
3. Only when some row broke a rule: ``bad_rows`` keeps the quarantined rows.
4. ``write_accepted``: one pass that parses the sources again and writes the valid rows. A
   hash join would let DuckDB's threads write their rows out of order, and restoring file
   order would take a sort of the whole table (spilled to disk at 100M offers). So this pass
   has no join: the rows to leave out are bits of a bitmap indexed by the row's position in
   the input, and a query that needs normalising is found through an ENUM type whose code
   indexes the list of normalised queries; both sit in a one-row table crossed with the rows.
   The written order is checked afterwards, and sorted only if DuckDB did not keep it.
5. ``duplicate_rows``: among the written rows, keys that rise in file order cannot repeat
   (one streaming scan); otherwise a hash aggregate finds the repeated keys, and their later
   copies are deleted (which moves no other row) and quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from seemingly.contract import TABLES, normalize_query, query_length
from seemingly.store.ingest_report import TableReport
from seemingly.store.sources import sql_str

__all__ = ["Lookups", "Summary", "lookups", "stage_view", "summarise", "write_accepted"]

# Repairs applied to accepted rows, as (name, SQL condition, warning text).
REPAIRS: dict[str, tuple[tuple[str, str, str], ...]] = {
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


def ord_sql(alias: str = "") -> str:
    """One BIGINT ordering rows in file order: file number in the high bits, row in the low."""
    return f"((CAST({alias}_file_idx AS BIGINT) << 40) + {alias}_row)"


@dataclass(frozen=True)
class Lookups:
    """How a table's rows find their normalised query and check their product."""

    qmap: str | None  # registered (i, raw, norm, qlen) of the distinct raw queries
    # every raw query that is not blank is already normal and has as many tokens as spaces
    # + 1: the stored query is the raw one and needs no lookup in the final pass
    plain: bool
    products: bool  # product_id is checked against main.products
    # plain, and few raw queries are blank after normalisation: these, so that the rule is
    # an IN list and the staged rows need no join with the query map at all
    blanks: tuple[str, ...] | None = None


# Longest IN list of blank raw queries written into the SQL (beyond it: the join).
_MAX_BLANKS = 256


def _token_count(col: str) -> str:
    """SQL: the tokens of an already normal query (single spaces between tokens)."""
    spaces = f"strlen({col}) - strlen(replace({col}, ' ', ''))"
    return f"CASE WHEN {col} = '' THEN 0 ELSE {spaces} + 1 END"


def lookups(con: duckdb.DuckDBPyConnection, table: str) -> Lookups:
    """Normalise the distinct raw queries in Python and register the map."""
    spec = TABLES[table]
    has_product = table != "products"
    if "query" not in spec.column_names:
        return Lookups(None, True, has_product)
    raw = [r[0] for r in con.execute(f"SELECT DISTINCT query FROM _src_{table}").fetchall()]
    raw = [q for q in raw if q is not None]
    norm = [normalize_query(q) for q in raw]
    qlen = [query_length(n) for n in norm]
    plain = all(
        n == "" or (n == q and k == q.count(" ") + 1)
        for q, n, k in zip(raw, norm, qlen, strict=True)
    )
    name = f"_qmap_{table}"
    con.register(
        name,
        pa.table(
            {
                "i": pa.array(range(1, len(raw) + 1), pa.int64()),
                "raw": pa.array(raw, pa.string()),
                "norm": pa.array(norm, pa.string()),
                "qlen": pa.array(qlen, pa.int32()),
            }
        ),
    )
    blanks = tuple(q for q, n in zip(raw, norm, strict=True) if n == "")
    return Lookups(name, plain, has_product,
                   blanks if plain and len(blanks) <= _MAX_BLANKS else None)


def _direct(lk: Lookups) -> bool:
    """Whether the staged rows read the query straight from the source (no map join)."""
    return lk.qmap is not None and lk.plain and lk.blanks is not None


def _lookup_rules(lk: Lookups) -> list[tuple[str, str, str]]:
    """(problem token, condition, detail SQL) of the rules that need the lookups, in order."""
    rules = []
    if _direct(lk):
        listed = ", ".join(sql_str(b) for b in lk.blanks or ())
        blank = f"(s.query IS NULL OR s.query IN ({listed}))" if listed else "(s.query IS NULL)"
        rules.append(("blank_query:query", blank, "'query=' || coalesce(s.query, 'NULL')"))
    elif lk.qmap is not None:
        rules.append(("blank_query:query", "(q.norm IS NULL OR q.norm = '')",
                      "'query=' || coalesce(s.query, 'NULL')"))
    if lk.products:
        rules.append(("unknown_product:product_id",
                      "(s.product_id IS NOT NULL AND p.product_id IS NULL)",
                      "'product_id=' || s.product_id"))
    return rules


def stage_view(con: duckdb.DuckDBPyConnection, table: str, lk: Lookups) -> str:
    """Create ``_stg_<table>``: typed rows (normalised query), ``_rule`` (the first problem,
    '' if none), and ``_p2`` / ``_d2`` (every problem, the first one's raw value).

    A view, so each pass computes only the columns it reads (``_p2`` only for bad rows).
    """
    spec = TABLES[table]
    joins, cols = [], []
    query = (f"s.query AS query, {_token_count('s.query')} AS query_length" if _direct(lk)
             else "q.norm AS query, q.qlen AS query_length")
    for n in spec.column_names:
        cols.append(query if n == "query" else f's."{n}"')
    if lk.qmap is not None and not _direct(lk):
        joins.append(f"LEFT JOIN {lk.qmap} q ON s.query = q.raw")
    if lk.products:
        joins.append("LEFT JOIN main.products p ON s.product_id = p.product_id")
    extra = _lookup_rules(lk)
    first = "split_part(split_part(s._problems, ';', 1), ':', 1)"
    rule = (
        f"CASE WHEN s._problems <> '' THEN {first} "
        + "".join(f"WHEN {c} THEN '{tok.split(':')[0]}' " for tok, c, _ in extra)
        + "ELSE '' END"
    )
    tokens = ", ".join(f"CASE WHEN {c} THEN '{tok}' END" for tok, c, _ in extra)
    det = " ".join(f"WHEN {c} THEN {d}" for _, c, d in extra)
    p2 = f"concat_ws(';', NULLIF(s._problems, ''){', ' + tokens if tokens else ''})"
    d2 = f"coalesce(s._detail, CASE {det} END)" if det else "s._detail"
    name = f"_stg_{table}"
    con.execute(
        f"CREATE TEMP VIEW {name} AS SELECT s._file_idx, s._row, {', '.join(cols)}, "
        f"{rule} AS _rule, {p2} AS _p2, {d2} AS _d2 FROM _src_{table} s {' '.join(joins)}"
    )
    return name


@dataclass
class Summary:
    """What the aggregate pass found."""

    counts: dict[str, int]  # first rule -> rows ('' = valid, duplicates included)
    repairs: dict[str, int]  # repair -> valid rows it applies to (duplicates included)
    file_rows: dict[int, int]  # file number -> largest _row
    duplicates: int = 0
    excluded: list[str] = field(default_factory=list)  # temp tables of rows left out


def summarise(con: duckdb.DuckDBPyConnection, table: str, stg: str) -> Summary:
    """Counts per first rule and repair, and rows per file, in one aggregate pass (a few
    groups: rules x files)."""
    repairs_def = REPAIRS.get(table, ())
    aggs = ", ".join(["count(*)", "max(_row)",
                      *(f"count_if({c})" for _, c, _ in repairs_def)])
    counts: dict[str, int] = {}
    repairs = {name: 0 for name, _, _ in repairs_def}
    file_rows: dict[int, int] = {}
    for rule, f, n, last, *fixed in con.execute(
        f"SELECT _rule, _file_idx, {aggs} FROM {stg} GROUP BY ALL"
    ).fetchall():
        counts[rule] = counts.get(rule, 0) + int(n)
        file_rows[int(f)] = max(file_rows.get(int(f), 0), int(last))
        if rule == "":
            for (name, _, _), x in zip(repairs_def, fixed, strict=True):
                repairs[name] += int(x)
    return Summary(counts, repairs, file_rows)


def bad_rows(con: duckdb.DuckDBPyConnection, stg: str) -> str:
    """``_bad``: position, every problem and the detail of each quarantined row."""
    con.execute(
        f"CREATE TEMP TABLE _bad AS SELECT _file_idx, _row, _p2, _d2 FROM {stg} WHERE _rule <> ''"
    )
    return "_bad"


def duplicate_rows(
    con: duckdb.DuckDBPyConnection, table: str, stg: str, summary: Summary
) -> str | None:
    """``_duprows``: valid rows whose key an earlier valid row (in file order) already has,
    found among the written rows (``main.<table>``, still with ``_file_idx`` and ``_row``).

    Keys that rise strictly in file order cannot repeat: one streaming scan of the key column
    proves it (ids from a sequence or a clock). Otherwise a hash aggregate over 64-bit key
    hashes finds candidates, and the exact keys decide among those rows only.
    """
    key = TABLES[table].key
    if key is None:
        return None
    k = f'"{key}"'
    (rising,) = con.execute(  # type: ignore[misc]
        f"SELECT count(*) = 0 FROM (SELECT {k} AS k, lag({k}) OVER () AS prev "
        f'FROM main."{table}") WHERE k <= prev'
    ).fetchone()
    if rising:
        return None
    con.execute(
        f'CREATE TEMP TABLE _cand AS SELECT hash({k}) AS h FROM main."{table}" GROUP BY 1 '
        f"HAVING count(*) > 1"
    )
    (n_cand,) = con.execute("SELECT count(*) FROM _cand").fetchone()  # type: ignore[misc]
    if not n_cand:
        con.execute("DROP TABLE _cand")
        return None
    repairs_def = REPAIRS.get(table, ())
    flags = "".join(f", ({c}) AS r{j}" for j, (_, c, _) in enumerate(repairs_def))
    rcols = "".join(f", r{j}" for j in range(len(repairs_def)))
    # The staged rows again (for the raw values the repairs are counted on), only those
    # whose key hash is a candidate; the window is over those few rows.
    con.execute(
        f"CREATE TEMP TABLE _duprows AS SELECT _file_idx, _row, k{rcols} "
        f"FROM (SELECT _file_idx, _row, {k} AS k, {ord_sql()} AS o, "
        f"min({ord_sql()}) OVER (PARTITION BY {k}) AS keep{flags} FROM {stg} "
        f"WHERE _rule = '' AND hash({k}) IN (SELECT h FROM _cand)) WHERE o <> keep"
    )
    con.execute("DROP TABLE _cand")
    sums = ", ".join(["count(*)", *(f"count_if(r{j})" for j in range(len(repairs_def)))])
    n, *fixed = con.execute(f"SELECT {sums} FROM _duprows").fetchone()  # type: ignore[misc]
    if not n:
        con.execute("DROP TABLE _duprows")
        return None
    summary.duplicates = int(n)
    for (name, _, _), f in zip(repairs_def, fixed, strict=True):
        summary.repairs[name] -= int(f or 0)
    # Deleting keeps the other rows where they are, so the file order survives.
    con.execute(
        f'DELETE FROM main."{table}" t USING _duprows d '
        f"WHERE t._file_idx = d._file_idx AND t._row = d._row"
    )
    summary.excluded.append("_duprows")
    return "_duprows"


def quarantine_rows(
    con: duckdb.DuckDBPyConnection, table: str, labels: str, bad: str | None, dups: str | None
) -> None:
    """Append the quarantined rows in file order (a sort of the quarantined rows only)."""
    key = TABLES[table].key
    parts = []
    if bad is not None:
        parts.append(f"SELECT _file_idx, _row, _p2, _d2 FROM {bad}")
    if dups is not None:
        parts.append(
            f"SELECT _file_idx, _row, 'duplicate_id:{key}' AS _p2, '{key}=' || k AS _d2 "
            f"FROM {dups}"
        )
    if not parts:
        return
    first = "split_part(_p2, ';', 1)"
    rules = "list_transform(string_split(_p2, ';'), lambda x: split_part(x, ':', 1))"
    con.execute(
        f"INSERT INTO quarantine SELECT '{table}', {labels}[_file_idx + 1], _row, "
        f"split_part({first}, ':', 1), split_part({first}, ':', 2), "
        f"_d2 || CASE WHEN len({rules}) > 1 THEN ' (all rules: ' || "
        f"array_to_string({rules}, ', ') || ')' ELSE '' END "
        f"FROM ({' UNION ALL '.join(parts)}) ORDER BY _file_idx, _row"
    )


def store_columns(table: str) -> list[tuple[str, str]]:
    """A store table's (column, type) in order: the contract's, plus the offers' derived
    ``query_length`` after ``query`` (both engines write this layout)."""
    cols = [(c.name, c.store_type) for c in TABLES[table].columns]
    if table == "offers":
        i = [n for n, _ in cols].index("query")
        cols.insert(i + 1, ("query_length", "INTEGER"))
    return cols


def _accepted_exprs(table: str, lk: Lookups) -> dict[str, str]:
    """Final column expressions of accepted rows of the raw source, applying the repairs."""
    exprs = {n: f's."{n}"' for n, _ in store_columns(table)}
    if lk.qmap is not None:
        if lk.plain:
            # a normal query's tokens are separated by single spaces (see Lookups.plain)
            exprs["query"] = "s.query"
            qlen = _token_count("s.query")
        else:
            code = f"1 + enum_code(CAST(s.query AS _qenum_{table}))"
            exprs["query"] = f"_lk.norm[{code}]"
            qlen = f"_lk.qlen[{code}]"
        if "query_length" in exprs:
            exprs["query_length"] = qlen
    if table == "products":
        exprs["category"] = "coalesce(s.category, 'unknown')"
    if table == "offers":
        exprs["request_id"] = "coalesce(s.request_id, s.offer_id)"
        exprs["position"] = "coalesce(s.position, 1)"
        exprs["engaged"] = "(s.engaged OR s.purchased)"
    return exprs


def write_accepted(
    con: duckdb.DuckDBPyConnection, table: str, lk: Lookups, summary: Summary
) -> None:
    """``CREATE TABLE main.<table>`` of the valid rows in file order, in one pass, with their
    ``_file_idx`` and ``_row`` (for the order check and the duplicates; see drop_positions)."""
    offsets, total = [], 0
    for f in range(max(summary.file_rows, default=-1) + 1):
        offsets.append(total)
        total += summary.file_rows.get(f, 0)
    lists, where = [], []
    if summary.excluded:
        union = " UNION ALL ".join(f"SELECT _file_idx, _row FROM {t}" for t in summary.excluded)
        # bit i of the bitmap: row i of the input (files one after another, rows from 0)
        lists.append(
            f"(SELECT bitstring_agg(CAST({offsets}[_file_idx + 1] + _row - 1 AS BIGINT), "
            f"0, {max(total - 1, 0)}) FROM ({union})) AS excluded"
        )
        lists.append(f"{offsets} AS offsets")
        where.append("get_bit(_lk.excluded, CAST(_lk.offsets[s._file_idx + 1] + s._row - 1 "
                     "AS INTEGER)) = 0")
    if lk.qmap is not None and not lk.plain:
        con.execute(f"CREATE TYPE _qenum_{table} AS ENUM (SELECT raw FROM {lk.qmap} ORDER BY i)")
        lists.append(f"(SELECT list(norm ORDER BY i) FROM {lk.qmap}) AS norm")
        lists.append(f"(SELECT list(qlen ORDER BY i) FROM {lk.qmap}) AS qlen")
    cross = ""
    if lists:
        con.execute(f"CREATE TEMP TABLE _lk AS SELECT {', '.join(lists)}")
        cross = " CROSS JOIN _lk"
    cols = ", ".join(
        f'CAST({e} AS {t}) AS "{n}"'
        for (n, t), e in zip(store_columns(table), _accepted_exprs(table, lk).values(), strict=True)
    )
    # Every row that broke a rule is in the bitmap (bad_rows keeps them all), so the row
    # rules need not run again here: without a filter on _problems DuckDB drops their columns
    # from the scan's projection.
    filt = f" WHERE {' AND '.join(where)}" if where else ""
    con.execute(
        f'CREATE TABLE main."{table}" AS SELECT {cols}, s._file_idx AS _file_idx, '
        f"s._row AS _row FROM _src_{table} s{cross}{filt}"
    )
    if not _in_file_order(con, table):
        # DuckDB did not keep the input order (it does for this plan today): sort once.
        con.execute(
            f'CREATE TABLE main."_sorted_{table}" AS SELECT * FROM main."{table}" '
            f"ORDER BY _file_idx, _row"
        )
        con.execute(f'DROP TABLE main."{table}"')
        con.execute(f'ALTER TABLE main."_sorted_{table}" RENAME TO "{table}"')
    con.execute("DROP TABLE IF EXISTS _lk")
    if lk.qmap is not None and not lk.plain:
        con.execute(f"DROP TYPE _qenum_{table}")


def drop_positions(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Drop the position columns the checks needed (a catalog change, no rewrite)."""
    con.execute(f'ALTER TABLE main."{table}" DROP COLUMN _file_idx')
    con.execute(f'ALTER TABLE main."{table}" DROP COLUMN _row')


def _in_file_order(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the written rows are in file order: each row's position key is above the one
    before it (a window with an empty OVER clause sees the table in its stored order)."""
    (bad,) = con.execute(  # type: ignore[misc]
        f"SELECT count(*) FROM (SELECT {ord_sql()} AS o, lag({ord_sql()}) OVER () AS prev "
        f'FROM main."{table}") WHERE o <= prev'
    ).fetchone()
    return int(bad) == 0


def report(
    table: str, labels: list[str], summary: Summary, stored: int, quarantined: int
) -> TableReport:
    counts = {k: v for k, v in summary.counts.items() if k != ""}
    if summary.duplicates:
        counts["duplicate_id"] = summary.duplicates
    accepted = summary.counts.get("", 0) - summary.duplicates
    read = accepted + sum(counts.values())
    if stored != accepted or stored + quarantined != read:
        raise RuntimeError(
            f"internal error: {table} read {read} rows but stored {stored} and quarantined "
            f"{quarantined}; please report this with the input"
        )
    return TableReport(
        table=table,
        files=tuple(labels),
        read=int(read),
        accepted=accepted,
        quarantined=int(quarantined),
        rules={k: int(v) for k, v in sorted(counts.items())},
        repairs=dict(summary.repairs),
    )
