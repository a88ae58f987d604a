"""Validate contract files with Spark: accepted tables, quarantine and the ingest report.

The Spark twin of ``build.py``: the same rules (``spark_rules.py``), repairs, normalisation and
first-occurrence duplicates, and the same :class:`IngestReport`. Rows stay in Spark; only the
distinct raw queries (normalised in Python, as on DuckDB), the per-file block sizes and the
per-rule counts reach the driver.

File order (first-occurrence duplicates, quarantine rows) comes from ``spark_files.py``.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from seemingly.contract import CONTRACT_VERSION, TABLES, normalize_query, query_length
from seemingly.errors import ContractError
from seemingly.store.build import _DEFAULT_WHEN_ABSENT, _KINDS
from seemingly.store.ingest_report import IngestReport, TableReport
from seemingly.store.rules import missing_columns_error
from seemingly.store.sources import Source, ignored_warnings, require_products
from seemingly.store.spark.files import file_format, list_sources, read_files, with_rows
from seemingly.store.spark.rules import label_kind, parse_columns, spark_type
from seemingly.store.stage import REPAIRS as _REPAIRS
from seemingly.store.stage import store_columns

__all__ = ["SparkTables", "build_spark"]


@dataclass(frozen=True)
class SparkTables:
    """Accepted tables and the quarantine as (persisted) DataFrames, plus the report."""

    frames: dict[str, DataFrame]
    report: IngestReport
    cached: tuple[DataFrame, ...] = ()  # intermediate results to unpersist when done

    def unpersist(self) -> None:
        for df in (*self.frames.values(), *self.cached):
            df.unpersist()


def _source_frame(spark: SparkSession, table: str, sources: list[tuple[int, Source]],
                  warnings: list[str], absent: set[str], earliest: date) -> DataFrame:
    """Typed rows of all files of one table with _file_idx, _row, _problems, _detail."""
    spec = TABLES[table]
    by_fmt: dict[str, list[tuple[int, Source]]] = defaultdict(list)
    for i, s in sources:
        by_fmt[file_format(posixpath.basename(s.label))[1] or "parquet"].append((i, s))
    frames = []
    for fmt, group in by_fmt.items():
        labels = ", ".join(s.label for _, s in group)
        paths = [s.relation for _, s in group]
        try:
            raw = read_files(spark, fmt, paths)
        except Exception as exc:  # Spark raises its own hierarchy; name the files and the fix
            raise ContractError(
                f"{labels}: cannot read as table {table!r}: {_first_line(exc)}. Check the "
                f"files are valid {fmt} (UTF-8, header row for CSV)."
            ) from exc
        types = {f.name: f.dataType.simpleString() for f in raw.schema.fields}
        missing = [c for c in spec.required_columns if c not in types]
        if missing:
            first = [tuple(r) for r in raw.limit(2).collect()]
            example = repr(first) if first else "(file has no rows)"
            raise missing_columns_error(group[0][1], spec, list(types), missing, example)
        unknown = sorted(set(types) - set(spec.column_names) - {"_corrupt_record"})
        for _, s in group:
            if unknown:
                warnings.append(
                    f"{s.label}: ignored column(s) not in the contract: {', '.join(unknown)}"
                )
        absent &= set(spec.column_names) - set(types)
        idx = {"/" + s.label: i for i, s in group}
        try:  # the first pass over every row: a malformed line (FAILFAST) surfaces here
            rows = with_rows(spark, raw, fmt, idx)
        except ContractError:
            raise
        except Exception as exc:
            raise ContractError(
                f"{labels}: cannot read as table {table!r}: {_first_line(exc)}. Check the "
                f"files are valid {fmt} (UTF-8, header row for CSV)."
            ) from exc
        frames.append(
            rows.select("_file_idx", "_row", *parse_columns(
                spec, types, group[0][1].label, earliest, json_source=fmt == "json"))
        )
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _normalised_queries(spark: SparkSession, src: DataFrame) -> DataFrame:
    """raw -> norm, qlen for the distinct raw queries (normalised in Python, the contract's)."""
    import pandas as pd

    raw = src.select("query").distinct().filter(F.col("query").isNotNull()).toPandas()["query"]
    norm = [normalize_query(q) for q in raw]
    frame = pd.DataFrame({"_raw": raw.astype(object), "_norm": norm,
                          "_qlen": pd.Series([query_length(n) for n in norm], dtype="int32")})
    return spark.createDataFrame(frame, "_raw string, _norm string, _qlen int")


def _result(spark: SparkSession, table: str, src: DataFrame, products: DataFrame | None
            ) -> DataFrame:
    """Typed rows with the final problem list ``_final`` ('' when accepted) and ``_detail``."""
    spec = TABLES[table]
    tokens, details = [], []
    s = src
    if "query" in spec.column_names:
        qmap = _normalised_queries(spark, src)
        s = s.withColumn("_rawq", F.col("query"))
        # No broadcast hint: with tens of millions of distinct queries the map is big too.
        s = s.join(qmap, s["query"] == qmap["_raw"], "left")
        blank = F.col("_norm").isNull() | (F.col("_norm") == "")
        tokens.append(F.when(blank, F.lit("blank_query:query")))
        details.append(F.when(blank, F.concat(F.lit("query="), F.coalesce("_rawq", F.lit("NULL")))))
        s = s.withColumn("query", F.col("_norm")).withColumn("query_length", F.col("_qlen"))
    if products is not None:
        known = products.select(F.col("product_id").alias("_known"))
        s = s.join(known, s["product_id"] == known["_known"], "left")
        unknown = F.col("product_id").isNotNull() & F.col("_known").isNull()
        tokens.append(F.when(unknown, F.lit("unknown_product:product_id")))
        details.append(F.when(unknown, F.concat(F.lit("product_id="), F.col("product_id"))))
    problems = F.concat_ws(";", F.when(F.col("_problems") != "", F.col("_problems")), *tokens)
    if details:
        s = s.withColumn("_detail", F.coalesce(F.col("_detail"), *details))
    helpers = ("_problems", "_raw", "_rawq", "_norm", "_qlen", "_known")
    s = s.withColumn("_final", problems).drop(*helpers)
    if not spec.key:
        return s
    k = spec.key
    # Duplicates are ranked among clean rows only, so a mass of null ids is not one hot key.
    clean = s.filter(F.col("_final") == "")
    rank = F.row_number().over(Window.partitionBy(k).orderBy("_file_idx", "_row"))
    clean = clean.withColumn(
        "_final", F.when(rank > 1, F.lit(f"duplicate_id:{k}")).otherwise(F.lit(""))
    ).withColumn("_detail", F.concat(F.lit(f"{k}="), F.col(k)))
    return clean.unionByName(s.filter(F.col("_final") != ""))


def _accepted(table: str, res: DataFrame) -> DataFrame:
    exprs = {n: F.col(n) for n, _ in store_columns(table)}
    if table == "products":
        exprs["category"] = F.coalesce("category", F.lit("unknown"))
    if table == "offers":
        exprs["request_id"] = F.coalesce("request_id", "offer_id")
        exprs["position"] = F.coalesce("position", F.lit(1))
        exprs["engaged"] = F.col("engaged") | F.col("purchased")
    return res.filter(F.col("_final") == "").select(
        *(exprs[n].cast(spark_type(t)).alias(n) for n, t in store_columns(table))
    )


def _quarantine(table: str, res: DataFrame, labels: dict[int, str], spark: SparkSession
                ) -> DataFrame:
    names = spark.createDataFrame(list(labels.items()), "_file_idx int, source_file string")
    rules = "transform(split(_final, ';'), x -> split_part(x, ':', 1))"
    return (
        res.filter(F.col("_final") != "")
        .join(F.broadcast(names), "_file_idx")
        .select(
            F.lit(table).alias("table_name"),
            "source_file",
            F.col("_row").alias("source_row"),
            F.expr("split_part(split_part(_final, ';', 1), ':', 1)").alias("rule"),
            F.expr("split_part(split_part(_final, ';', 1), ':', 2)").alias("column_name"),
            F.expr(
                f"concat(_detail, CASE WHEN size({rules}) > 1 THEN "
                f"concat(' (all rules: ', array_join({rules}, ', '), ')') ELSE '' END)"
            ).alias("detail"),
        )
    )


def _check_label_kinds(res: DataFrame, labels: dict[int, str]) -> None:
    """Refuse judgments whose accepted labels mix ESCI letters, booleans and grades, naming
    the first row of each kind (the twin of ``build._check_label_kinds``)."""
    first = F.min(F.struct("_file_idx", "_row", "label")).alias("_first")
    rows = (
        res.filter(F.col("_final") == "").withColumn("_kind", label_kind(F.col("label")))
        .filter(F.col("_kind").isin(list(_KINDS))).groupBy("_kind").agg(first)
        .orderBy("_kind").collect()
    )
    if len(rows) > 1:
        shown = "; ".join(
            f"{r['_kind']} {r['_first']['label']!r} at {labels[int(r['_first']['_file_idx'])]} "
            f"row {r['_first']['_row']}" for r in rows
        )
        raise ContractError(
            f"judgments: labels mix kinds ({shown}); rule one_label_kind: every label of a "
            f"table is an ESCI letter, a boolean, or a numeric grade. Map them to one kind."
        )


def _load_table(spark: SparkSession, table: str, sources: list[tuple[int, Source]],
                products: DataFrame | None, warnings: list[str], earliest: date
                ) -> tuple[DataFrame, DataFrame, DataFrame, TableReport]:
    absent = set(TABLES[table].column_names)
    src = _source_frame(spark, table, sources, warnings, absent, earliest)
    res = _result(spark, table, src, products).persist()
    if table == "judgments":
        try:
            _check_label_kinds(res, {i: s.label for i, s in sources})
        except ContractError:
            res.unpersist()
            raise
    first = F.split(F.col("_final"), ";").getItem(0)
    agg: list[Any] = [F.count("*").alias("_n")]
    repairs = _REPAIRS.get(table, ())
    agg += [F.sum(F.when(F.expr(cond), 1).otherwise(0)).alias(name) for name, cond, _ in repairs]
    by_rule = res.withColumn("_rule", F.split(first, ":").getItem(0)).groupBy("_rule")
    counts = {r["_rule"]: r for r in by_rule.agg(*agg).collect()}
    ok = counts.pop("", None)
    accepted_n = int(ok["_n"]) if ok else 0
    rules = {k: int(v["_n"]) for k, v in sorted(counts.items())}
    fixed: dict[str, int] = {}
    for name, _, text in repairs:
        n = int(ok[name]) if ok else 0
        fixed[name] = n
        if n and _DEFAULT_WHEN_ABSENT.get(name) not in absent:
            warnings.append(f"{table}: {n} {text}")
    accepted = _accepted(table, res)
    quarantine = _quarantine(table, res, {i: s.label for i, s in sources}, spark)
    # Both are cached on first use; ``res`` stays cached until then (closing the store frees
    # it). Counting them here to reconcile would cost two more passes over the data.
    accepted, quarantine = accepted.persist(), quarantine.persist()
    report = TableReport(
        table=table,
        files=tuple(s.label for _, s in sources),
        read=accepted_n + sum(rules.values()),
        accepted=accepted_n,
        quarantined=sum(rules.values()),
        rules=rules,
        repairs=fixed,
    )
    return accepted, quarantine, res, report


def build_spark(spark: SparkSession, data: str, earliest_timestamp: date = date(2000, 1, 1)
                ) -> SparkTables:
    """Validate the contract files under ``data`` (a folder or a storage URL) with Spark.

    The accepted tables and the per-table quarantines are cached (memory, spilling to disk) so
    later queries do not re-run the validation; unpersist them when done.
    """
    sources, ignored, fingerprint = list_sources(spark, data)
    by_table: dict[str, list[tuple[int, Source]]] = defaultdict(list)
    for s in sources:
        by_table[s.table].append((len(by_table[s.table]), s))
    require_products((t for t, srcs in by_table.items() if srcs), data)
    warnings = ignored_warnings(ignored)
    frames: dict[str, DataFrame] = {}
    reports: dict[str, TableReport] = {}
    quarantines, cached = [], []
    for table in TABLES:  # products first: the other tables check product_id against it
        if by_table.get(table):
            acc, quar, res, rep = _load_table(
                spark, table, by_table[table], frames.get("products"), warnings,
                earliest_timestamp,
            )
            frames[table], reports[table] = acc, rep
            quarantines.append(quar)
            cached.append(res)
    quarantine = quarantines[0]
    for q in quarantines[1:]:
        quarantine = quarantine.unionByName(q)
    frames["quarantine"] = quarantine
    report = IngestReport(
        contract_version=CONTRACT_VERSION,
        source=data,
        fingerprint=fingerprint,
        tables=reports,
        warnings=tuple(warnings),
        ignored_files=tuple(ignored),
    )
    return SparkTables(frames, report, tuple(cached))
