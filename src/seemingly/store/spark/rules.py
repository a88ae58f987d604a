"""The contract's row rules as Spark column expressions (the Spark twin of ``rules.py``).

Every rule name and its meaning come from :data:`seemingly.store.rules.RULES`; this module only
restates each check in Spark's dialect, column by column, in the same order as the DuckDB
compiler, so the first broken rule (the one a row is quarantined for) is the same on both
engines. Values that Spark and DuckDB print differently (a double as text, a timestamp) only
change the free-text ``detail`` of a quarantine row, never its rule or column.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from seemingly.contract import ColumnSpec, TableSpec
from seemingly.errors import ContractError
from seemingly.store.rules import RULES

__all__ = ["parse_columns"]

_NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double", "byte", "short", "long")
_TIMESTAMPS = ("timestamp", "timestamp_ntz", "date")
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]
_SPARK_TYPES = {
    "VARCHAR": "string",
    "DOUBLE": "double",
    "INTEGER": "int",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}


def spark_type(store_type: str) -> str:
    """Spark SQL type of a contract store type (DuckDB name)."""
    return _SPARK_TYPES[store_type]


def _is_numeric(t: str) -> bool:
    return t in _NUMERIC or t.startswith("decimal")


@dataclass(frozen=True)
class Parsed:
    """One column: its typed value, its raw text and its (rule, condition) checks in order."""

    value: Column
    text: Column
    checks: tuple[tuple[str, Column], ...]


def _try_cast(col: Column, typ: str) -> Column:
    """NULL where the cast fails (Column.try_cast is PySpark >= 4; before, the session runs
    with ANSI mode off, where a plain cast already gives NULL)."""
    cast = getattr(col, "try_cast", None)
    return cast(typ) if cast is not None else col.cast(typ)


def _blank(text: Column) -> Column:
    return text.isNull() | (F.trim(text) == "")


def _finite(x: Column) -> Column:
    # Spark has no isfinite(); NULL in gives NULL out, as DuckDB's isfinite does.
    return ~F.isnan(x) & (F.abs(x) != float("inf"))


def _number(spec: ColumnSpec, col: Column, text: Column, typ: str) -> Parsed:
    if _is_numeric(typ):
        num = col.cast("double")
        checks: list[tuple[str, Column]] = []
    else:
        num = _try_cast(F.trim(text), "double")
        checks = [("unparseable_number", ~_blank(text) & num.isNull())]
    if spec.name == "price":
        checks += [("non_finite_price", ~_finite(num)), ("negative_price", num < 0)]
        return Parsed(num, text, tuple(checks))
    if spec.name == "propensity":
        checks.append(("invalid_propensity", ~((num > 0) & (num <= 1)) | F.isnan(num)))
        return Parsed(num, text, tuple(checks))
    if spec.name == "position":
        # floor() only where finite: Spark's floor returns BIGINT and would saturate on inf.
        whole = F.when(_finite(num), num != F.floor(num).cast("double"))
        bad = ~_finite(num) | (num < 1) | whole | (num > 2147483647)
        checks.append(("invalid_position", bad))
        return Parsed(_try_cast(num, "int"), text, tuple(checks))
    raise AssertionError(f"no number rule for column {spec.name}")  # contract and rules disagree


def _timestamp(
    spec: ColumnSpec, col: Column, text: Column, typ: str, label: str, table: str
) -> Parsed:
    if typ in _TIMESTAMPS:
        # The session runs in UTC, so a zoned timestamp becomes its UTC wall-clock time.
        return Parsed(col.cast("timestamp"), text, (("null_value", col.isNull()),))
    if typ not in ("string", "void"):
        raise ContractError(
            f"{label}: column {spec.name!r} of table {table!r} has Spark type {typ}; the contract "
            f"wants a timestamp or an ISO-8601 string. Convert it before ingesting, e.g. "
            f"`timestamp_seconds({spec.name})` for epoch seconds."
        )
    value = _try_cast(F.trim(text), "timestamp")
    return Parsed(
        value,
        text,
        (("null_value", _blank(text)), ("unparseable_timestamp", ~_blank(text) & value.isNull())),
    )


def parse_column(spec: ColumnSpec, typ: str, label: str, table: str) -> Parsed:
    """Typed value and checks of one contract column whose input has Spark type ``typ``."""
    col = F.col(f"`{spec.name}`")
    text = col.cast("string")
    kind = spec.kind
    if kind == "label":
        value = F.when(~_blank(text), F.trim(text))
        return Parsed(value, text, (("null_label", _blank(text)),))
    if kind == "string":
        if spec.name == "query":  # blank_query is decided after normalisation
            return Parsed(text, text, ())
        if not spec.nullable:
            rule = "null_id" if spec.name.endswith("_id") else "null_value"
            return Parsed(text, text, ((rule, _blank(text)),))
        return Parsed(F.when(~_blank(text), text), text, ())
    if kind in ("number", "integer"):
        return _number(spec, col, text, typ)
    if kind == "boolean":
        if typ == "boolean":
            value, checks = col, []
        else:
            low = F.lower(F.trim(text))
            value = F.when(low.isin(_TRUE), F.lit(True)).when(low.isin(_FALSE), F.lit(False))
            checks = [("invalid_boolean", ~_blank(text) & value.isNull())]
        return Parsed(value, text, (("null_value", _blank(text)), *checks))
    if kind == "timestamp":
        return _timestamp(spec, col, text, typ, label, table)
    raise AssertionError(f"unknown column kind {kind}")


def parse_columns(spec: TableSpec, types: dict[str, str], label: str) -> list[Column]:
    """Typed contract columns plus ``_problems`` ('rule:column' tokens joined by ';', in
    column order) and ``_detail`` (the first problem's raw value) for one input schema."""
    items: list[Column] = []
    tokens: list[Column] = []
    details: list[Column] = []
    for c in spec.columns:
        if c.name not in types:
            items.append(F.lit(None).cast(spark_type(c.store_type)).alias(c.name))
            continue
        p = parse_column(c, types[c.name], label, spec.name)
        items.append(p.value.cast(spark_type(c.store_type)).alias(c.name))
        for rule, cond in p.checks:
            assert rule in RULES, rule  # every rule is documented once, in rules.py
            tokens.append(F.when(cond, F.lit(f"{rule}:{c.name}")))
            details.append(
                F.when(cond, F.concat(F.lit(f"{c.name}="), F.coalesce(p.text, F.lit("NULL"))))
            )
    problems = F.concat_ws(";", *tokens) if tokens else F.lit("")
    detail = F.coalesce(*details) if details else F.lit(None).cast("string")
    return [*items, problems.alias("_problems"), detail.alias("_detail")]
