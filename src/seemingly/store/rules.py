"""Row rules of the data contract, compiled to DuckDB SQL.

Each source file becomes one SELECT that parses its columns into the store types and names the
problems of each row in ``_problems``: ``'rule:column'`` tokens joined by ``;`` in column
order (empty when the row is fine). The first token is the rule the row is quarantined for.
Rules that need other tables (unknown product, blank query after normalisation, duplicates)
are added later, in :mod:`seemingly.store.build`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from seemingly.contract import ColumnSpec, TableSpec
from seemingly.errors import ContractError
from seemingly.store.sources import Source

__all__ = ["MAX_TEXT_BYTES", "RULES", "label_kind", "parse_select"]

#: Longest text value (UTF-8 bytes) of any column; a 1 MB title is a broken export, and it
#: would flow into every result and the service's memory.
MAX_TEXT_BYTES = 16_384

# Rule name -> what it means (shown by `seemingly validate` and in docs).
RULES: dict[str, str] = {
    "null_id": "an id column is null or blank",
    "null_value": "a required value is null or blank",
    "duplicate_id": "the id was already accepted earlier in file order",
    "unparseable_number": "a number column holds text that is not a number",
    "non_finite_price": "price is NaN or infinite",
    "negative_price": "price is below 0",
    "invalid_position": "position is not a whole number >= 1",
    "invalid_propensity": "propensity is outside (0, 1]",
    "invalid_boolean": "not one of true/false, t/f, yes/no, y/n, 1/0",
    "unparseable_timestamp": "timestamp is not a timestamp or ISO-8601 string",
    "blank_query": "query is empty after normalisation",
    "null_label": "label is null or blank",
    "unknown_product": "product_id is not among the accepted products",
    "timestamp_out_of_range": "timestamp is infinite, before the earliest allowed day (default "
    "2000-01-01, IngestSettings.earliest_timestamp) or after 2100",
    "invalid_label": "label is not an ESCI letter (E/S/C/I), a boolean, or a number in [0, 100]",
    "non_scalar_value": "a list or object where the contract wants one value",
    "value_too_long": f"a text value is longer than {MAX_TEXT_BYTES:,} bytes",
}

_LATEST = "2100-01-01"
_BOOL_WORDS = "('true', 'false', 't', 'f', 'yes', 'no', 'y', 'n')"


def label_kind(label: str) -> str:
    """SQL: 'esci', 'boolean', 'numeric' or 'binary' (0/1, compatible with both) of a label."""
    t = f"trim({label})"
    return (
        f"(CASE WHEN upper({t}) IN ('E', 'S', 'C', 'I') THEN 'esci' "
        f"WHEN lower({t}) IN {_BOOL_WORDS} THEN 'boolean' "
        f"WHEN TRY_CAST({t} AS DOUBLE) IN (0, 1) THEN 'binary' "
        f"WHEN TRY_CAST({t} AS DOUBLE) IS NOT NULL THEN 'numeric' END)"
    )

_NUMERIC = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL",
)  # fmt: skip
_TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE")
_TRUE = "('true', 't', 'yes', 'y', '1')"
_FALSE = "('false', 'f', 'no', 'n', '0')"


def _is_numeric(t: str) -> bool:
    return t in _NUMERIC or t.startswith("DECIMAL")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Parsed:
    value: str  # SQL for the typed value
    text: str  # SQL for the raw value as text (for quarantine details)
    checks: tuple[tuple[str, str], ...]  # (rule, condition) in order


def _blank(text: str) -> str:
    """Null, empty or only spaces (what DuckDB's ``trim`` removes).

    A CASE, so ``trim`` (which copies the string) runs only on values starting with a space:
    four times cheaper than ``trim(x) = ''`` on every row of an id column.
    """
    return (
        f"(CASE WHEN {text} IS NULL THEN true WHEN starts_with({text}, ' ') "
        f"THEN trim({text}) = '' ELSE {text} = '' END)"
    )


def _never_blank_text(typ: str) -> bool:
    """Types whose text form is never empty, so "blank" is just NULL (no cast per row)."""
    return _is_numeric(typ) or typ == "BOOLEAN" or typ.startswith(("TIMESTAMP", "DATE", "TIME"))


def _out_of_range(ts: str, earliest: date) -> str:
    """SQL: the (non-null) timestamp is infinite or outside [earliest, 2100)."""
    # DuckDB reads 'infinity' as the largest timestamp: the upper bound catches both.
    return (
        f"coalesce(isinf({ts}) OR {ts} < TIMESTAMP '{earliest.isoformat()}' "
        f"OR {ts} >= TIMESTAMP '{_LATEST}', false)"
    )


def _is_nested(typ: str) -> bool:
    return typ.endswith("]") or typ.startswith(("STRUCT", "MAP", "UNION"))


def _parse_column(
    spec: ColumnSpec, col: str, typ: str, label: str, table: str, earliest: date
) -> _Parsed:
    """The typed value and row rules of one column; a JSON or nested column is first reduced
    to its scalar values (a list or object is the rule non_scalar_value)."""
    if typ == "JSON" or _is_nested(typ):
        nested = (
            f"(json_type({col}) IN ('ARRAY', 'OBJECT'))" if typ == "JSON"
            else f"({col} IS NOT NULL)"
        )
        scalar = f"(CASE WHEN {nested} THEN NULL ELSE {col}->>'$' END)" if typ == "JSON" else (
            "CAST(NULL AS VARCHAR)")
        p = _parse_scalar(spec, scalar, "VARCHAR", label, table, earliest)
        return _Parsed(p.value, f"CAST({col} AS VARCHAR)",
                       (("non_scalar_value", f"coalesce({nested}, false)"), *p.checks))
    return _parse_scalar(spec, col, typ, label, table, earliest)


def _parse_scalar(
    spec: ColumnSpec, col: str, typ: str, label: str, table: str, earliest: date
) -> _Parsed:
    text = f"CAST({col} AS VARCHAR)"
    blank = f"({col} IS NULL)" if _never_blank_text(typ) else _blank(text)
    kind = spec.kind
    if kind in ("string", "label"):
        if kind == "label":
            num = f"TRY_CAST(trim({text}) AS DOUBLE)"
            bad = (
                f"(NOT {blank} AND {label_kind(text)} IS NULL) OR "
                f"(NOT isfinite({num}) OR {num} < 0 OR {num} > 100)"
            )
            return _Parsed(f"NULLIF(trim({text}), '')", text, (
                ("null_label", blank), ("invalid_label", f"coalesce({bad}, false)"),
                ("value_too_long", f"(strlen({text}) > {MAX_TEXT_BYTES})"),
            ))
        long = ("value_too_long", f"coalesce(strlen({text}) > {MAX_TEXT_BYTES}, false)")
        if spec.name == "query":  # blank_query is decided after normalisation
            return _Parsed(text, text, (long,))
        if not spec.nullable:
            rule = "null_id" if spec.name.endswith("_id") else "null_value"
            return _Parsed(text, text, ((rule, blank), long))
        return _Parsed(f"CASE WHEN {blank} THEN NULL ELSE {text} END", text, (long,))
    if kind in ("number", "integer"):
        if _is_numeric(typ):
            num = f"CAST({col} AS DOUBLE)"
            checks: list[tuple[str, str]] = []
        else:
            num = f"TRY_CAST(trim({text}) AS DOUBLE)"
            checks = [("unparseable_number", f"(NOT {blank} AND {num} IS NULL)")]
        if spec.name == "price":
            checks += [
                ("non_finite_price", f"(NOT isfinite({num}))"),
                ("negative_price", f"({num} < 0)"),
            ]
            return _Parsed(num, text, tuple(checks))
        if spec.name == "propensity":
            checks.append(
                ("invalid_propensity", f"(NOT ({num} > 0 AND {num} <= 1) OR isnan({num}))")
            )
            return _Parsed(num, text, tuple(checks))
        if spec.name == "position":
            bad = (
                f"(NOT isfinite({num}) OR {num} < 1 OR {num} <> floor({num}) OR {num} > 2147483647)"
            )
            checks.append(("invalid_position", bad))
            return _Parsed(f"TRY_CAST({num} AS INTEGER)", text, tuple(checks))
        raise AssertionError(
            f"no number rule for column {spec.name}"
        )  # contract and rules disagree
    if kind == "boolean":
        if typ == "BOOLEAN":
            value = col
            checks = []
        else:
            low = f"lower(trim({text}))"
            value = f"CASE WHEN {low} IN {_TRUE} THEN true WHEN {low} IN {_FALSE} THEN false END"
            checks = [("invalid_boolean", f"(NOT {blank} AND ({value}) IS NULL)")]
        checks.insert(0, ("null_value", blank))
        return _Parsed(value, text, tuple(checks))
    if kind == "timestamp":
        if typ in _TIMESTAMPS or typ.startswith("TIMESTAMP WITH TIME ZONE"):
            # (with a zone: the store connection runs in UTC, so this is UTC wall-clock time)
            ts = f"CAST({col} AS TIMESTAMP)"
            return _Parsed(ts, text, (("null_value", f"({col} IS NULL)"),
                                      ("timestamp_out_of_range", _out_of_range(ts, earliest))))
        if typ != "VARCHAR" and typ != "NULL":
            raise ContractError(
                f"{label}: column {spec.name!r} of table {table!r} has type {typ}; the contract "
                f"wants a timestamp or an ISO-8601 string. Convert it before ingesting, e.g. "
                f"in DuckDB `to_timestamp({spec.name})` for epoch seconds."
            )
        # Through TIMESTAMPTZ so '...+02:00' and '...Z' become UTC instead of losing the offset.
        value = f"CAST(TRY_CAST(trim({text}) AS TIMESTAMPTZ) AS TIMESTAMP)"
        return _Parsed(
            value,
            text,
            (
                ("null_value", blank),
                ("unparseable_timestamp", f"(NOT {blank} AND {value} IS NULL)"),
                ("timestamp_out_of_range", _out_of_range(value, earliest)),
            ),
        )
    raise AssertionError(f"unknown column kind {kind}")


def missing_columns_error(
    source: Source, spec: TableSpec, present: list[str], missing: list[str], example: str
) -> ContractError:
    import difflib

    hints = []
    for m in missing:
        close = difflib.get_close_matches(m, present, n=1, cutoff=0.6)
        if close:
            hints.append(f"rename {close[0]!r} to {m!r}")
    fix = "; ".join(hints) if hints else f"add the column(s) {', '.join(missing)}"
    return ContractError(
        f"{source.label}: table {spec.name!r} is missing required column(s) "
        f"{', '.join(repr(m) for m in missing)}. Columns found: {', '.join(present) or '(none)'}. "
        f"First rows: {example}. Required columns: {', '.join(spec.required_columns)}. Fix: {fix}."
    )


def parse_select(
    spec: TableSpec, source: Source, file_idx: int | str, types: dict[str, str],
    earliest: date = date(2000, 1, 1),
) -> str:
    """SELECT turning one source into typed contract columns plus _file_idx, _row, _problems
    and _detail (the first problem's raw value).

    All rules of a row are evaluated in this one projection, so a file is read once.
    ``file_idx`` is the file's number, or a SQL column of the relation that holds it (a
    multi-file scan).
    """
    inner = [f"{file_idx} AS _file_idx", "_row"]
    outer = ["_file_idx", "_row"]
    flags: list[tuple[str, str, str]] = []  # (flag column, problem token, detail SQL)
    for j, c in enumerate(spec.columns):
        name = _q(c.name)
        outer.append(name)
        if c.name not in types:
            inner.append(f"CAST(NULL AS {c.store_type}) AS {name}")
            continue
        p = _parse_column(c, name, types[c.name].upper(), source.label, spec.name, earliest)
        inner.append(f"{p.value} AS {name}")
        if not p.checks:
            continue
        # The raw value rides along; it becomes text only for the detail of a bad row.
        inner.append(f"{name} AS _r{j}")
        for rule, cond in p.checks:
            flag = f"_f{len(flags)}"
            inner.append(f"{cond} AS {flag}")
            text = f"CAST(_r{j} AS VARCHAR)"
            flags.append((flag, f"{rule}:{c.name}", f"'{c.name}=' || coalesce({text}, 'NULL')"))
    # Each rule is evaluated once, as a boolean column; the strings are built only for rows
    # that broke at least one rule (CASE evaluates a branch only for the rows that take it).
    if flags:
        tokens = ", ".join(f"CASE WHEN {f} THEN '{tok}' END" for f, tok, _ in flags)
        anyf = " OR ".join(f for f, _, _ in flags)
        problems = f"CASE WHEN {anyf} THEN concat_ws(';', {tokens}) ELSE '' END"
        detail = "CASE " + " ".join(f"WHEN {f} THEN {d}" for f, _, d in flags) + " END"
    else:
        problems, detail = "''", "CAST(NULL AS VARCHAR)"
    outer += [f"{problems} AS _problems", f"{detail} AS _detail"]
    return f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source.relation})"
