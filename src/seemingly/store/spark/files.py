"""Find and read contract files with Spark: local folders and storage URLs, in file order.

File order. A duplicate id is quarantined unless it is the first occurrence "in file order"
(files in name order, rows in file order). Parquet gives the row index directly
(``_metadata.row_index``). CSV and JSON Lines files are numbered from
``monotonically_increasing_id`` (consecutive within one split of one file) plus each split's
start offset (``_metadata.file_block_start``): one small aggregate gives every split's row
count, and its first row number is the count of the rows in earlier splits of that file.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from seemingly.contract import TABLES
from seemingly.errors import ContractError
from seemingly.store.sources import COMPANION_FILES, Source

__all__ = ["list_sources", "read_files", "with_rows"]

_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".ndjson": "json"}
_COMPRESSION = (".gz", ".zst")


def file_format(name: str) -> tuple[str, str | None]:
    """(stem, reader) of a file name; reader None when it is not a data format."""
    for comp in _COMPRESSION:
        if name.endswith(comp):
            name = name[: -len(comp)]
    stem, dot, suffix = name.rpartition(".")
    return (stem, _FORMATS.get("." + suffix.lower())) if dot else (name, None)


def _is_url(data: str) -> bool:
    return "://" in data


def _hadoop_listing(spark: SparkSession, root: str) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime ms) of every file under ``root``, via Hadoop's FileSystem
    (so s3a://, abfss://, gs://, hdfs:// work wherever the cluster can read them)."""
    jvm = spark._jvm  # type: ignore[attr-defined]
    if jvm is None:
        raise ContractError(
            f"{root}: listing a storage URL needs a classic (non-Connect) Spark session"
        )
    path = jvm.org.apache.hadoop.fs.Path(root)
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    if not fs.exists(path):
        raise ContractError(f"{root}: no such folder. Pass the folder holding products.*")
    base = fs.makeQualified(path).toString().rstrip("/")
    out: list[tuple[str, int, int]] = []
    it = fs.listFiles(path, True)
    while it.hasNext():
        st = it.next()
        full = st.getPath().toString()
        out.append((full[len(base) + 1 :], int(st.getLen()), int(st.getModificationTime())))
    return sorted(out)


def list_sources(spark: SparkSession, data: str) -> tuple[list[Source], list[str], str]:
    """(sources, ignored files, fingerprint) of a local folder or a storage URL.

    A local folder goes through :func:`seemingly.store.sources.discover`, so files, errors and
    fingerprint are exactly those of a DuckDB ingest. ``Source.relation`` holds the file's
    path (or URL) here, not SQL.
    """
    if not _is_url(data):
        from seemingly.store.sources import discover, fingerprint_files

        root = Path(data)
        if root.is_file():
            raise ContractError(
                f"{data}: Spark reads a folder of contract files, not a single file or DuckDB "
                f"database. Export the tables to Parquet, or use --backend duckdb."
            )
        sources, ignored = discover(root)
        found = [Source(s.table, s.label, str(root.absolute() / s.label)) for s in sources]
        return found, ignored, fingerprint_files(root, sources)
    sources, ignored = [], []
    h = hashlib.sha256()
    for rel, size, mtime in _hadoop_listing(spark, data):
        parts = rel.split("/")
        if any(p.startswith((".", "_")) for p in parts):
            continue
        stem, fmt = file_format(parts[-1])
        table = parts[0] if len(parts) > 1 else stem
        if fmt is None:
            if rel not in COMPANION_FILES:  # as a local folder's discover() skips them
                ignored.append(rel)
            continue
        if table not in TABLES:
            raise ContractError(
                f"{data}/{rel}: {table!r} is not a table of the data contract. Known tables: "
                f"{', '.join(sorted(TABLES))}. Rename it or move it out of the data folder."
            )
        sources.append(Source(table, rel, data.rstrip("/") + "/" + rel))
        h.update(f"{rel}|{size}|{mtime}\n".encode())
    return sources, ignored, h.hexdigest()


def read_files(spark: SparkSession, fmt: str, paths: list[str]) -> DataFrame:
    reader = spark.read
    if fmt == "parquet":
        return reader.option("mergeSchema", "true").parquet(*paths)
    if fmt == "csv":
        # Everything as text, like DuckDB's all_varchar: ids like "007" stay text and bad values
        # reach the row rules. multiLine keeps quoted newlines inside a field (one task per
        # file; use Parquet for big tables). FAILFAST: a malformed file is an error, as on DuckDB.
        return (
            reader.option("header", "true").option("inferSchema", "false")
            .option("multiLine", "true").option("escape", '"').option("mode", "FAILFAST")
            .csv(paths)
        )
    return reader.option("mode", "FAILFAST").json(paths)


def with_rows(spark: SparkSession, df: DataFrame, fmt: str, idx: dict[str, int]) -> DataFrame:
    """Add ``_file_idx`` (the file's place in name order) and ``_row`` (1-based, file order)."""
    df = df.select(
        "*",
        F.col("_metadata.file_path").alias("_fp"),
        F.col("_metadata.file_block_start").alias("_blk"),
        F.monotonically_increasing_id().alias("_mid"),
        *([F.col("_metadata.row_index").alias("_ri")] if fmt == "parquet" else []),
    )
    blocks = df.groupBy("_fp", "_blk").agg(F.count("*").alias("n"), F.min("_mid").alias("m0"))
    rows = []
    offset: dict[str, int] = defaultdict(int)
    for b in sorted(blocks.collect(), key=lambda r: (r["_fp"], r["_blk"])):
        rows.append((b["_fp"], b["_blk"], _file_index(b["_fp"], idx), offset[b["_fp"]], b["m0"]))
        offset[b["_fp"]] += int(b["n"])
    if not rows:
        return df.withColumn("_file_idx", F.lit(0)).withColumn("_row", F.lit(0).cast("long"))
    meta = spark.createDataFrame(
        rows, "_fp string, _blk long, _file_idx int, _off long, _m0 long"
    )
    df = df.join(F.broadcast(meta), ["_fp", "_blk"])
    row = F.col("_ri") + 1 if fmt == "parquet" else F.col("_off") + F.col("_mid") - F.col("_m0") + 1
    return df.withColumn("_row", row.cast("long"))


def _file_index(file_path: str, idx: dict[str, int]) -> int:
    """Map Spark's file URI back to a source: the longest source path (``/label``) it ends
    with, found by trying the URI's suffixes from the longest down."""
    parts = unquote(file_path).split("/")
    for k in range(1, len(parts)):
        hit = idx.get("/" + "/".join(parts[k:]))
        if hit is not None:
            return hit
    raise RuntimeError(f"internal error: Spark read {file_path}, which no source names")
