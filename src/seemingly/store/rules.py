"""Row rules of the data contract, compiled to DuckDB SQL.

Each source file becomes one SELECT that parses its columns into the store types and names the
problems of each row in ``_problems``: ``'rule:column'`` tokens joined by ``;`` in column
order (empty when the row is fine). The first token is the rule the row is quarantined for.
Rules that need other tables (unknown product, blank query after normalisation, duplicates)
are added later, in :mod:`seemingly.store.build`.
"""

from __future__ import annotations

from dataclasses import dataclass

from seemingly.contract import ColumnSpec, TableSpec
from seemingly.errors import ContractError
from seemingly.store.sources import Source

__all__ = ["RULES", "parse_select"]

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
}

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
    return f"({text} IS NULL OR trim({text}) = '')"


def _parse_column(spec: ColumnSpec, col: str, typ: str, label: str, table: str) -> _Parsed:
    text = f"CAST({col} AS VARCHAR)"
    kind = spec.kind
    if kind in ("string", "label"):
        if kind == "label":
            return _Parsed(f"NULLIF(trim({text}), '')", text, (("null_label", _blank(text)),))
        if spec.name == "query":  # blank_query is decided after normalisation
            return _Parsed(text, text, ())
        if not spec.nullable:
            rule = "null_id" if spec.name.endswith("_id") else "null_value"
            return _Parsed(text, text, ((rule, _blank(text)),))
        return _Parsed(f"CASE WHEN {_blank(text)} THEN NULL ELSE {text} END", text, ())
    if kind in ("number", "integer"):
        if _is_numeric(typ):
            num = f"CAST({col} AS DOUBLE)"
            checks: list[tuple[str, str]] = []
        else:
            num = f"TRY_CAST(trim({text}) AS DOUBLE)"
            checks = [("unparseable_number", f"(NOT {_blank(text)} AND {num} IS NULL)")]
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
            checks = [("invalid_boolean", f"(NOT {_blank(text)} AND ({value}) IS NULL)")]
        checks.insert(0, ("null_value", _blank(text)))
        return _Parsed(value, text, tuple(checks))
    if kind == "timestamp":
        if typ in _TIMESTAMPS:
            return _Parsed(f"CAST({col} AS TIMESTAMP)", text, (("null_value", f"({col} IS NULL)"),))
        if typ.startswith("TIMESTAMP WITH TIME ZONE"):
            # The store connection runs in UTC, so this is the UTC wall-clock time.
            return _Parsed(f"CAST({col} AS TIMESTAMP)", text, (("null_value", f"({col} IS NULL)"),))
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
                ("null_value", _blank(text)),
                ("unparseable_timestamp", f"(NOT {_blank(text)} AND {value} IS NULL)"),
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


def parse_select(spec: TableSpec, source: Source, file_idx: int, types: dict[str, str]) -> str:
    """SELECT turning one source into typed contract columns plus _file_idx, _row, _problems,
    _detail (the first problem's raw value) and _present (which optional columns exist)."""
    items = [f"{file_idx} AS _file_idx", "_row"]
    tokens: list[str] = []
    details: list[str] = []
    for c in spec.columns:
        if c.name not in types:
            items.append(f"CAST(NULL AS {c.store_type}) AS {_q(c.name)}")
            continue
        p = _parse_column(c, _q(c.name), types[c.name].upper(), source.label, spec.name)
        items.append(f"{p.value} AS {_q(c.name)}")
        for rule, cond in p.checks:
            tokens.append(f"CASE WHEN {cond} THEN '{rule}:{c.name}' END")
            details.append(f"WHEN {cond} THEN '{c.name}=' || coalesce({p.text}, 'NULL')")
    problems = f"concat_ws(';', {', '.join(tokens)})" if tokens else "''"
    detail = f"CASE {' '.join(details)} END" if details else "CAST(NULL AS VARCHAR)"
    items += [f"{problems} AS _problems", f"{detail} AS _detail"]
    return f"SELECT {', '.join(items)} FROM {source.relation}"
