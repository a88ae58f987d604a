"""The contract's row rules as Spark column expressions (the Spark twin of ``rules.py``).

Every rule name and its meaning come from :data:`seemingly.store.rules.RULES`; this module only
restates each check in Spark's dialect, column by column, in the same order as the DuckDB
compiler, so the first broken rule (the one a row is quarantined for) is the same on both
engines. Values that Spark and DuckDB print differently (a double as text, a timestamp) only
change the free-text ``detail`` of a quarantine row, never its rule or column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column
from pyspark.sql import functions as F

from seemingly.contract import ColumnSpec, TableSpec
from seemingly.errors import ContractError
from seemingly.store.rules import _LATEST, MAX_TEXT_BYTES, RULES

__all__ = ["parse_columns"]

_NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double", "byte", "short", "long")
_TIMESTAMPS = ("timestamp", "timestamp_ntz", "date")
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]
# Spark cannot hold an infinite timestamp; DuckDB parses these words as +-infinity (and 'epoch'
# as 1970-01-01), which the range rule then quarantines. Mapped here so both engines agree.
_INFINITE_WORDS = ["infinity", "-infinity", "inf", "-inf"]
_BOOL_WORDS = ["true", "false", "t", "f", "yes", "no", "y", "n"]
# What DuckDB's TRY_CAST(... AS DOUBLE) accepts; Spark's cast also takes '1d', '0x1p3', etc.
_DECIMAL_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_SPECIAL_DOUBLE = ["inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"]
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


def _duck_double(text: Column) -> Column:
    """DuckDB's TRY_CAST(trim(text) AS DOUBLE): NULL unless a plain decimal or inf/nan word."""
    t = F.trim(text)
    ok = t.rlike(_DECIMAL_TEXT) | F.lower(t).isin(_SPECIAL_DOUBLE)
    return F.when(ok, _try_cast(t, "double"))


def label_kind(text: Column) -> Column:
    """'esci', 'boolean', 'numeric' or 'binary' (0/1, both a grade and a boolean) of a label,
    as :func:`seemingly.store.rules.label_kind` decides it."""
    t = F.trim(text)
    num = _duck_double(text)
    return (
        F.when(F.upper(t).isin(["E", "S", "C", "I"]), F.lit("esci"))
        .when(F.lower(t).isin(_BOOL_WORDS), F.lit("boolean"))
        .when(num.isin(0.0, 1.0), F.lit("binary"))
        .when(num.isNotNull(), F.lit("numeric"))
    )


def _too_long(text: Column) -> Column:
    return F.coalesce(F.octet_length(text) > MAX_TEXT_BYTES, F.lit(False))


def _out_of_range(ts: Column, earliest: date, infinite: Column | None = None) -> Column:
    """The (non-null) timestamp is infinite or outside [earliest, 2100), as on DuckDB."""
    low = F.lit(earliest.isoformat()).cast("timestamp")
    bad = (ts < low) | (ts >= F.lit(_LATEST).cast("timestamp"))
    if infinite is not None:
        bad = infinite | bad
    return F.coalesce(bad, F.lit(False))


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
    spec: ColumnSpec, col: Column, text: Column, typ: str, label: str, table: str,
    earliest: date,
) -> Parsed:
    if typ in _TIMESTAMPS:
        # The session runs in UTC, so a zoned timestamp becomes its UTC wall-clock time.
        ts = col.cast("timestamp")
        return Parsed(ts, text, (("null_value", col.isNull()),
                                 ("timestamp_out_of_range", _out_of_range(ts, earliest))))
    if typ not in ("string", "void"):
        raise ContractError(
            f"{label}: column {spec.name!r} of table {table!r} has Spark type {typ}; the contract "
            f"wants a timestamp or an ISO-8601 string. Convert it before ingesting, e.g. "
            f"`timestamp_seconds({spec.name})` for epoch seconds."
        )
    low = F.lower(F.trim(text))
    infinite = low.isin(_INFINITE_WORDS)
    parsed = F.when(low == "epoch", F.lit("1970-01-01").cast("timestamp")).otherwise(
        _try_cast(F.trim(text), "timestamp"))
    # An infinite value parses (so it is not unparseable) but has no Spark timestamp: its row
    # is quarantined as out of range before the value is ever used.
    unparseable = ~_blank(text) & parsed.isNull() & ~infinite
    return Parsed(
        parsed,
        text,
        (
            ("null_value", _blank(text)),
            ("unparseable_timestamp", unparseable),
            ("timestamp_out_of_range", _out_of_range(parsed, earliest, infinite)),
        ),
    )


def _is_nested(typ: str) -> bool:
    return typ.startswith(("array<", "struct<", "map<"))


def _json_container(text: Column) -> Column:
    """A string that is a JSON array or object: what Spark's JSON reader makes of a list or
    object in a column whose other rows hold plain values (DuckDB types that column JSON)."""
    t = F.trim(text)
    looks = (t.startswith("[") & t.endswith("]")) | (t.startswith("{") & t.endswith("}"))
    # from_json gives NULL for text that is not a JSON array (of anything) or object.
    arr = F.from_json(t, "array<string>")
    obj = F.from_json(t, "map<string,string>")
    return F.coalesce(looks & (arr.isNotNull() | obj.isNotNull()), F.lit(False))


def parse_column(
    spec: ColumnSpec, typ: str, label: str, table: str, earliest: date = date(2000, 1, 1),
    json_source: bool = False,
) -> Parsed:
    """Typed value and checks of one contract column whose input has Spark type ``typ``;
    a list or object (nested type, or JSON text in a JSON Lines string column) is the rule
    non_scalar_value and is otherwise read as a missing value, as on DuckDB."""
    col = F.col(f"`{spec.name}`")
    if _is_nested(typ):
        p = _parse_scalar(spec, F.lit(None).cast("string"), "string", label, table, earliest)
        return Parsed(p.value, F.to_json(col), (("non_scalar_value", col.isNotNull()), *p.checks))
    if json_source and typ == "string":
        nested = _json_container(col)
        p = _parse_scalar(spec, F.when(~nested, col), typ, label, table, earliest)
        return Parsed(p.value, col, (("non_scalar_value", nested), *p.checks))
    return _parse_scalar(spec, col, typ, label, table, earliest)


def _parse_scalar(
    spec: ColumnSpec, col: Column, typ: str, label: str, table: str, earliest: date
) -> Parsed:
    text = col.cast("string")
    kind = spec.kind
    if kind == "label":
        value = F.when(~_blank(text), F.trim(text))
        num = _duck_double(text)
        bad = (~_blank(text) & label_kind(text).isNull()) | ~_finite(num) | (num < 0) | (num > 100)
        return Parsed(value, text, (
            ("null_label", _blank(text)),
            ("invalid_label", F.coalesce(bad, F.lit(False))),
            ("value_too_long", F.octet_length(text) > MAX_TEXT_BYTES),
        ))
    if kind == "string":
        long = ("value_too_long", _too_long(text))
        if spec.name == "query":  # blank_query is decided after normalisation
            return Parsed(text, text, (long,))
        if not spec.nullable:
            rule = "null_id" if spec.name.endswith("_id") else "null_value"
            return Parsed(text, text, ((rule, _blank(text)), long))
        return Parsed(F.when(~_blank(text), text), text, (long,))
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
        return _timestamp(spec, col, text, typ, label, table, earliest)
    raise AssertionError(f"unknown column kind {kind}")


def parse_columns(
    spec: TableSpec, types: dict[str, str], label: str, earliest: date = date(2000, 1, 1),
    json_source: bool = False,
) -> list[Column]:
    """Typed contract columns plus ``_problems`` ('rule:column' tokens joined by ';', in
    column order) and ``_detail`` (the first problem's raw value) for one input schema."""
    items: list[Column] = []
    tokens: list[Column] = []
    details: list[Column] = []
    for c in spec.columns:
        if c.name not in types:
            items.append(F.lit(None).cast(spark_type(c.store_type)).alias(c.name))
            continue
        p = parse_column(c, types[c.name], label, spec.name, earliest, json_source)
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
