"""The store on Spark: the :class:`~seemingly.store.base.StoreLike` protocol, with ``con`` an
Ibis PySpark backend.

Two ways in, both through :func:`open_spark_store`:

- a folder (or storage URL) of contract files: validated with Spark in the session (the rules,
  repairs and report of a DuckDB ingest), accepted tables cached in the cluster;
- a *Spark store folder* written by :func:`write_spark_store` (``seemingly ingest DATA --db OUT
  --backend spark``): accepted tables, quarantine and report as Parquet, opened without
  validating again.

Nothing of the offers reaches the driver: the analysis code is Ibis expressions, and only
their aggregates are collected.

>>> store = open_spark_store("data/")  # doctest: +SKIP
>>> analyze(store)["overview"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field

from seemingly.contract import CONTRACT_VERSION
from seemingly.errors import ContractError
from seemingly.store.base import missing_table
from seemingly.store.ingest_report import IngestReport

__all__ = ["SparkSettings", "open_spark_store", "write_spark_store"]

_META = "seemingly_meta"
# Settings every seemingly session needs: contract timestamps are UTC wall-clock times, and
# ANSI mode off gives DuckDB's NULL-on-failure casts and divisions that the Ibis code expects.
_REQUIRED_CONF = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "false"}


class SparkSettings(BaseModel):
    """How to get a SparkSession when the caller does not pass one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    master: str | None = Field(
        default=None,
        description="local[N], spark://host:7077, yarn, k8s://...; None: $SPARK_MASTER or local[2]",
    )
    app_name: str = "seemingly"
    conf: Mapping[str, str] = Field(
        default_factory=dict, description="extra Spark settings, e.g. spark.executor.memory"
    )


def spark_session(settings: SparkSettings | None = None) -> Any:
    """Get or create a SparkSession (``local[2]`` unless settings or $SPARK_MASTER say else).

    An already running session is reused as is (Spark allows one per driver); only the
    required UTC and non-ANSI settings are then applied to it.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ImportError(
            "the Spark backend needs pyspark and Java 17: pip install 'seemingly[spark]'"
        ) from exc
    s = settings or SparkSettings()
    master = s.master or os.environ.get("SPARK_MASTER") or "local[2]"
    conf: dict[str, str] = {
        "spark.ui.showConsoleProgress": "false",
        # Arrow moves Ibis' aggregates to pandas (and small lookup tables back) in bulk.
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **_REQUIRED_CONF,
    }
    if master.startswith("local"):
        # A laptop's worth of data: Spark's default of 200 shuffle partitions is pure overhead.
        conf["spark.sql.shuffle.partitions"] = "4"
    conf.update(s.conf)
    builder = SparkSession.builder.master(master).appName(s.app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _session(spark: Any, settings: SparkSettings | None) -> tuple[Any, bool]:
    """(session, whether closing the store should stop it): only a session made here."""
    if spark is not None:
        return spark, False
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    return spark_session(settings), running is None


def _prepare(spark: Any) -> None:
    for key, value in _REQUIRED_CONF.items():
        spark.conf.set(key, value)


class SparkStore:
    """The Spark engine's :class:`~seemingly.store.base.StoreLike`: tables are Spark
    DataFrames behind temporary views, ``con`` an Ibis PySpark backend.

    Views are named per store (``_seemingly_<id>_<table>``), so several stores can share one
    session; :meth:`close` drops them and frees the cache, and stops the session only when
    the store created it.
    """

    def __init__(
        self,
        path: str,
        con: Any,
        report: IngestReport,
        frames: Mapping[str, Any],
        *,
        cached: tuple[Any, ...] = (),
        owns_session: bool,
    ) -> None:
        self.path = path
        self.con = con
        self.report = report
        self.spark = con._session
        self._owns_session = owns_session
        self._frames = dict(frames)
        self._cached = cached
        prefix = f"_seemingly_{uuid.uuid4().hex[:10]}_"
        self._views = {name: prefix + name for name in self._frames}
        for name, df in self._frames.items():
            df.createOrReplaceTempView(self._views[name])

    def has(self, name: str) -> bool:
        """Whether the store holds table ``name`` (offers, judgments, orders are optional)."""
        return name in self._views

    def table(self, name: str) -> ir.Table:
        """The Ibis table ``name``; a ContractError says how to add a missing one."""
        if not self.has(name):
            raise missing_table(self.path, name)
        return self.con.table(self._views[name])

    def close(self) -> None:
        """Drop the views, free the cache, and stop the session if this store started it."""
        for view in self._views.values():
            self.spark.catalog.dropTempView(view)
        for df in (*self._frames.values(), *self._cached):
            df.unpersist()
        self._views.clear()
        if self._owns_session:
            self.spark.stop()

    def __enter__(self) -> SparkStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SparkStore({self.path!r})"


def _meta_frame(spark: Any, report: IngestReport) -> Any:
    meta = {
        "report": report.to_dict(),
        "contract_version": CONTRACT_VERSION,
        "fingerprint": report.fingerprint,
    }
    rows = [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()]
    return spark.createDataFrame(rows, "key string, value string")


def _path_exists(spark: Any, path: str) -> bool:
    if "://" not in path:
        return os.path.exists(path)
    jvm = spark._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return bool(p.getFileSystem(spark._jsc.hadoopConfiguration()).exists(p))


def _open_written(spark: Any, path: str) -> tuple[dict[str, Any], IngestReport]:
    base = path.rstrip("/")
    rows = dict(spark.read.parquet(f"{base}/{_META}").collect())
    if "report" not in rows:
        raise ContractError(
            f"{path}: an unfinished Spark store (its write was interrupted). Run "
            f"`seemingly ingest DATA --db {path} --backend spark` again."
        )
    report = IngestReport.from_dict(json.loads(rows["report"]))
    if report.contract_version != CONTRACT_VERSION:
        raise ContractError(
            f"{path}: Spark store written for contract v{report.contract_version}, this "
            f"seemingly speaks v{CONTRACT_VERSION}. Ingest the data again."
        )
    frames = {t: spark.read.parquet(f"{base}/{t}") for t in (*report.tables, "quarantine")}
    return frames, report


def open_spark_store(
    data_dir: str | os.PathLike[str],
    spark: Any = None,
    settings: SparkSettings | None = None,
    earliest_timestamp: date | None = None,
) -> SparkStore:
    """Open contract files (or a Spark store folder) as a store on Spark.

    Parameters
    ----------
    data_dir
        A folder or storage URL (``s3a://bucket/logs``, ``hdfs:///logs``, ``abfss://...``)
        of contract files (``products.*``, ``offers/part-*.parquet``, ...), validated now; or
        a folder written by :func:`write_spark_store`, opened as is.
    spark
        A SparkSession to use (and keep running on close); None uses the active session or
        creates one from ``settings`` (stopped on close). Its time zone is set to UTC and ANSI
        mode off.
    settings
        Master and Spark settings for a new session.
    earliest_timestamp
        Timestamps before this day are quarantined (``IngestSettings.earliest_timestamp``;
        None keeps its default, 2000-01-01).

    Raises
    ------
    ContractError
        For the structural problems a DuckDB ingest reports (no products table, a missing
        required column, an unreadable file, an unknown table).

    Examples
    --------
    >>> with open_spark_store("s3a://shop/logs/2026-11") as store:  # doctest: +SKIP
    ...     results = analyze(store)
    """
    session, owns = _session(spark, settings)
    _prepare(session)
    path = os.fspath(data_dir)
    try:
        cached: tuple[Any, ...] = ()
        if _path_exists(session, f"{path.rstrip('/')}/{_META}"):
            frames, report = _open_written(session, path)
        else:
            from seemingly.store.spark.build import build_spark

            built = build_spark(session, path, *_earliest(earliest_timestamp))
            frames, report, cached = built.frames, built.report, built.cached
    except BaseException:
        if owns:
            session.stop()
        raise
    frames[_META] = _meta_frame(session, report)
    con = ibis.pyspark.connect(session)
    return SparkStore(path, con, report, frames, cached=cached, owns_session=owns)


def write_spark_store(
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    spark: Any = None,
    settings: SparkSettings | None = None,
    earliest_timestamp: date | None = None,
) -> IngestReport:
    """Validate contract files with Spark and write a Spark store folder (Parquet).

    ``out_dir`` gets one Parquet folder per accepted table, ``quarantine/`` and
    ``seemingly_meta/`` (written last: a folder without it is an unfinished write).
    :func:`open_spark_store` opens it without validating again.
    """
    out = os.fspath(out_dir).rstrip("/")
    if "://" not in out:
        # A local store folder is written beside its target and swapped in (seemingly.outputs):
        # never over a folder of the user's files, never half-new.
        from seemingly.contract import TABLES
        from seemingly.outputs import output_dir

        with output_dir(out, writer="ingest", inputs=(data_dir,),
                        own_names=(*TABLES, "quarantine", _META)) as tmp:
            return _write_spark_store(data_dir, str(tmp), spark, settings, earliest_timestamp)
    return _write_spark_store(data_dir, out, spark, settings, earliest_timestamp)


def _earliest(day: date | None) -> tuple[date, ...]:
    """build_spark's earliest_timestamp argument: none given keeps the contract's default."""
    return () if day is None else (day,)


def _write_spark_store(
    data_dir: str | os.PathLike[str], out: str, spark: Any, settings: SparkSettings | None,
    earliest_timestamp: date | None = None,
) -> IngestReport:
    session, owns = _session(spark, settings)
    try:
        _prepare(session)
        from seemingly.store.spark.build import build_spark

        built = build_spark(session, os.fspath(data_dir), *_earliest(earliest_timestamp))
        if _path_exists(session, f"{out}/{_META}"):
            # Overwriting tables under a live marker would leave a half-new store that opens.
            _meta_frame(session, built.report).limit(0).write.mode("overwrite").parquet(
                f"{out}/{_META}"
            )
        for name, df in built.frames.items():
            df.write.mode("overwrite").parquet(f"{out}/{name}")
        built.unpersist()
        _meta_frame(session, built.report).coalesce(1).write.mode("overwrite").parquet(
            f"{out}/{_META}"
        )
        return built.report
    finally:
        if owns:
            session.stop()
