"""Atomic ingest: build the store under a temporary name, then ``os.replace`` it into place.

A crash or kill mid-ingest leaves the previous store untouched; a stale temporary file of a
dead process is removed by the next ingest. :func:`open_data` is the usual way in: it opens a
store file, or ingests a folder and reuses the result while the input is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from seemingly.config import IngestSettings
from seemingly.errors import ContractError
from seemingly.outputs import check_file_target, output_lock
from seemingly.store.build import build
from seemingly.store.core import Store, default_memory_limit, open_store
from seemingly.store.frames import FrameLike, as_pandas
from seemingly.store.ingest_report import IngestReport
from seemingly.store.sources import DB_SUFFIXES, discover, fingerprint_files, frame_sources, sql_str

__all__ = ["ingest", "open_data", "validate", "store_from_frames"]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _cleanup_stale(db: Path) -> None:
    """Remove ``<db>.tmp-<pid>`` leftovers of processes that no longer run."""
    for p in db.parent.glob(f"{db.name}.tmp-*"):
        pid = p.name[len(db.name) + 5 :].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            _remove(p)


def _atomic_build(
    db: Path,
    settings: IngestSettings | None,
    fill: Callable[[duckdb.DuckDBPyConnection], IngestReport],
    inputs: tuple[Path, ...] = (),
) -> IngestReport:
    # Only a store this package wrote is ever replaced: --db pointed at a user's CSV (or
    # into the data folder, where the next read would take it for a table) is refused.
    db = check_file_target(db, what="store", is_owned=_is_store, inputs=inputs)
    with output_lock(db):
        return _build_locked(db, settings or IngestSettings(), fill)


def _build_locked(
    db: Path,
    settings: IngestSettings,
    fill: Callable[[duckdb.DuckDBPyConnection], IngestReport],
) -> IngestReport:
    _cleanup_stale(db)
    tmp = db.with_name(f"{db.name}.tmp-{os.getpid()}")
    scratch = [tmp, Path(f"{tmp}.wal"), Path(f"{tmp}.spill")]
    for p in scratch:
        _remove(p)
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"SET temp_directory = {sql_str(str(scratch[2]))}")
            # DuckDB's own bar would write into the caller's stdout (CLI JSON, test output).
            con.execute("SET enable_progress_bar = false")
            limit = settings.memory_limit or default_memory_limit()
            con.execute(f"SET memory_limit = {sql_str(limit)}")
            if settings.threads:
                con.execute(f"SET threads = {int(settings.threads)}")
            report = fill(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _remove(scratch[2])
        # A WAL left by an unclean close of the old store would be replayed onto the new file.
        Path(f"{db}.wal").unlink(missing_ok=True)
        os.replace(tmp, db)
    except BaseException:
        for p in scratch:
            _remove(p)
        raise
    return report


def ingest(
    data: str | os.PathLike[str],
    db_path: str | os.PathLike[str],
    settings: IngestSettings | None = None,
) -> IngestReport:
    """Validate a data folder (or a DuckDB database of contract tables) into a store file.

    Parameters
    ----------
    data
        Folder with ``products.*`` and optionally ``offers.*``, ``judgments.*``, ``orders.*``
        (Parquet, CSV or JSON Lines; ``offers/part-*.parquet`` folders allowed), or a DuckDB
        file holding tables with those names.
    db_path
        Store file to write. An existing store is replaced only when the ingest succeeds.
    settings
        DuckDB memory/thread limits.

    Raises
    ------
    ContractError
        For structural problems (missing products or required column, unreadable file,
        unknown table). Row-level problems go to the ``quarantine`` table instead.

    Examples
    --------
    >>> report = ingest("data/", "work/store.duckdb")  # doctest: +SKIP
    >>> report.tables["offers"].quarantined  # doctest: +SKIP
    0
    """
    return _ingest(data, db_path, settings, derived=True)


def _ingest(data: str | os.PathLike[str], db_path: str | os.PathLike[str],
            settings: IngestSettings | None, *, derived: bool) -> IngestReport:
    src = Path(data)
    sources, ignored = discover(src)
    fp = fingerprint_files(src, sources)
    db = Path(db_path)
    if src.is_file() and src.resolve() == db.resolve():
        raise ContractError(f"{src}: input and store are the same file; pass another --db path.")

    earliest = (settings or IngestSettings()).earliest_timestamp

    def fill(con: duckdb.DuckDBPyConnection) -> IngestReport:
        if src.is_file():
            con.execute(f"ATTACH {sql_str(str(src))} AS src (READ_ONLY)")
        return build(con, sources, source_name=str(src), fingerprint=fp, ignored=ignored,
                     earliest_timestamp=earliest, derived=derived)

    return _atomic_build(db, settings, fill, inputs=(src,))


def validate(data: str | os.PathLike[str], settings: IngestSettings | None = None) -> IngestReport:
    """Run every check of :func:`ingest` and return the report, keeping no store (so not
    deriving the analysis' history cells either)."""
    with tempfile.TemporaryDirectory(prefix="seemingly-validate-") as d:
        return _ingest(data, Path(d) / "store.duckdb", settings, derived=False)


def open_data(
    data: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    settings: IngestSettings | None = None,
) -> Store:
    """Open ``data`` as a store: a seemingly store file directly, a folder (or a DuckDB
    database of raw contract tables) by ingesting it into ``work_dir/store.duckdb``.

    An existing ``work_dir/store.duckdb`` built from the same unchanged input is reused.

    Examples
    --------
    >>> with open_data("data/", "work/") as store:  # doctest: +SKIP
    ...     store.has("offers")
    True
    """
    src = Path(data)
    if src.is_file() and _is_store(src):
        return open_store(src)
    db = Path(work_dir) / "store.duckdb"
    if db.exists() and _is_store(db):
        sources, _ = discover(src)
        current = fingerprint_files(src, sources)
        try:
            existing: Store | None = open_store(db)
        except ContractError:
            existing = None
        if existing is not None and existing.report.fingerprint == current:
            return existing
        if existing is not None:
            existing.close()
    ingest(src, db, settings)
    return open_store(db)


def _is_store(path: Path) -> bool:
    """Whether ``path`` is a DuckDB file holding a store's ``seemingly_meta`` table."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        rows = con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = 'seemingly_meta'"
        ).fetchall()
    finally:
        con.close()
    return bool(rows)


def _frame_to_arrow(df: pd.DataFrame) -> pa.Table:
    df = df.reset_index(drop=True)
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed-type object columns (e.g. labels 1 and "E"): hand them over as text.
        fixed = {
            c: df[c].map(lambda v: None if v is None or v is pd.NA else str(v))
            if df[c].dtype == object
            else df[c]
            for c in df.columns
        }
        table = pa.Table.from_pandas(pd.DataFrame(fixed), preserve_index=False)
    return table.append_column("_row", pa.array(np.arange(1, len(df) + 1, dtype=np.int64)))


def store_from_frames(
    path: str | os.PathLike[str],
    products: FrameLike,
    offers: FrameLike | None = None,
    judgments: FrameLike | None = None,
    orders: FrameLike | None = None,
    settings: IngestSettings | None = None,
) -> Store:
    """Ingest in-memory tables (pandas, Arrow or Polars) through the same validation as
    files and open the store.

    Examples
    --------
    >>> import pandas as pd
    >>> products = pd.DataFrame({"product_id": ["p1"], "title": ["milk"],
    ...                          "category": ["grocery"], "price": [1.5]})
    >>> store = store_from_frames(tmp / "s.duckdb", products=products)  # doctest: +SKIP
    """
    frames = {"products": products, "offers": offers, "judgments": judgments, "orders": orders}
    given = {k: as_pandas(v, k) for k, v in frames.items() if v is not None}
    db = Path(path)
    if db.suffix.lower() not in DB_SUFFIXES:
        raise ValueError(f"path={str(db)!r}: a store file should end in .duckdb")
    h = hashlib.sha256()
    for name, df in given.items():
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        h.update(",".join(map(str, df.columns)).encode())

    def fill(con: duckdb.DuckDBPyConnection) -> IngestReport:
        views = {}
        for name, df in given.items():
            con.register(f"_frame_{name}", _frame_to_arrow(df))
            views[name] = f"_frame_{name}"
        return build(
            con, frame_sources(views), source_name="<frames>", fingerprint=h.hexdigest(),
            ignored=[], earliest_timestamp=(settings or IngestSettings()).earliest_timestamp,
        )

    _atomic_build(db, settings, fill)
    return open_store(db)
