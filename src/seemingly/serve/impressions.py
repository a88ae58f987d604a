"""The impression and feedback log: what the service served, and what customers did with it.

Each served ranking becomes offers rows (the data contract's columns, see
docs/data-contract.md, "Service logs"); each ``POST /v1/feedback`` becomes one feedback row.
The request path only appends a request's rows to a bounded in-memory queue (a lock and a
list append, a few microseconds); one writer thread per table drains it into Parquet files,
rotated by rows or seconds. So a slow disk delays files, never answers, and a full queue drops
rows (counted, see :attr:`TableLog.dropped`) instead of growing without bound.

Files appear atomically: each is written as ``.part-...parquet.tmp`` and renamed to
``part-<start>-<pid>-<n>.parquet`` when complete, so a reader never sees half a file. On a
graceful stop (:meth:`TableLog.close`, which the app's lifespan calls on SIGTERM) every queued
row is written. A SIGKILL loses what was not yet in a renamed file: at most the queue
(``queue_rows``) plus the writer's buffer (``rotate_rows`` rows, or ``rotate_seconds`` of
traffic).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["IMPRESSION_SCHEMA", "FEEDBACK_SCHEMA", "LogOptions", "TableLog", "ServeLog"]

log = logging.getLogger("seemingly.serve.impressions")

_TS = pa.timestamp("us", tz="UTC")
IMPRESSION_SCHEMA = pa.schema([
    ("offer_id", pa.string()),
    ("request_id", pa.string()),
    ("timestamp", _TS),
    ("user_id", pa.string()),
    ("query", pa.string()),
    ("product_id", pa.string()),
    ("position", pa.int32()),
    ("propensity", pa.float64()),
    # not contract columns: what the policy was asked, so a logged weight can be evaluated
    ("weight", pa.float64()),
    ("objective", pa.string()),
    ("policy", pa.string()),
])
FEEDBACK_SCHEMA = pa.schema([
    ("request_id", pa.string()),
    ("product_id", pa.string()),
    ("engaged", pa.bool_()),
    ("purchased", pa.bool_()),
    ("timestamp", _TS),
])


@dataclass(frozen=True)
class LogOptions:
    """How often files rotate and how many rows may wait in memory."""

    rotate_rows: int = 100_000
    rotate_seconds: float = 60.0
    queue_rows: int = 200_000

    def __post_init__(self) -> None:
        for name in ("rotate_rows", "rotate_seconds", "queue_rows"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0; got {getattr(self, name)}")


class TableLog:
    """One table's queue, writer thread and files under ``directory``.

    ``append(item, n)`` queues one item worth ``n`` rows and returns whether it was queued;
    the writer turns a file's items into a table with ``build(items)`` (off the request path,
    so the request pays for a tuple, not for per-row objects).
    """

    def __init__(self, directory: Path, schema: pa.Schema, options: LogOptions,
                 build: Callable[[list[Any]], pa.Table]) -> None:
        self.directory = directory
        self.schema = schema
        self.build = build
        self.options = options
        self.dropped = 0  # rows refused because the queue was full (or the log closed)
        self.written = 0  # rows in renamed files
        self.files = 0
        self._pending: list[tuple[Any, int]] = []
        self._pending_rows = 0
        self._cond = threading.Condition()
        self._closed = False
        self._stem = f"part-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}"
        self._thread: threading.Thread | None = None

    @property
    def queued(self) -> int:
        """Rows waiting for the writer thread (the queue depth)."""
        return self._pending_rows

    def start(self) -> None:
        """Start the writer (again, after a close: an app's lifespan may run more than once,
        as test clients do)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._cond:
            self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"log-{self.directory.name}",
                                        daemon=True)
        self._thread.start()

    def append(self, item: Any, n: int) -> bool:
        with self._cond:
            if self._closed or self._pending_rows + n > self.options.queue_rows:
                self.dropped += n
                return False
            self._pending.append((item, n))
            self._pending_rows += n
            self._cond.notify()
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking rows, write every queued one, and wait for the writer."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("the %s log writer did not finish in %.0f s; rows may be lost",
                          self.directory.name, timeout)

    def _run(self) -> None:
        buffer: list[Any] = []
        rows = 0
        opened = time.monotonic()
        while True:
            with self._cond:
                if not self._pending and not self._closed:
                    wait = self.options.rotate_seconds - (time.monotonic() - opened)
                    self._cond.wait(max(wait, 0.0) if buffer else None)
                batch, self._pending = self._pending, []
                taken = sum(n for _, n in batch)
                self._pending_rows -= taken
                closing = self._closed and not self._pending
            if batch and not buffer:
                opened = time.monotonic()  # a file's age counts from its first row
            buffer.extend(item for item, _ in batch)
            rows += taken
            due = time.monotonic() - opened >= self.options.rotate_seconds
            if buffer and (rows >= self.options.rotate_rows or due or closing):
                self._write(buffer, rows)
                buffer, rows = [], 0
            if closing:
                return

    def _write(self, items: list[Any], rows: int) -> None:
        name = f"{self._stem}-{self.files:06d}.parquet"
        tmp = self.directory / f".{name}.tmp"
        try:
            pq.write_table(self.build(items), tmp)
            os.replace(tmp, self.directory / name)
        except Exception:
            # A full or read-only disk (or a bad value) must not kill the writer thread: the
            # rows are lost and counted, later files may still succeed.
            log.exception("could not write %s; %d rows dropped", self.directory / name, rows)
            self.dropped += rows
            return
        self.files += 1
        self.written += rows


class ServeLog:
    """The service's two logs under ``log_dir``: ``impressions/`` and ``feedback/``."""

    def __init__(self, log_dir: Path, options: LogOptions | None = None) -> None:
        options = options or LogOptions()
        self.log_dir = log_dir
        self.impressions = TableLog(log_dir / "impressions", IMPRESSION_SCHEMA, options,
                                    _impressions)
        self.feedback = TableLog(log_dir / "feedback", FEEDBACK_SCHEMA, options, _feedback)

    def start(self) -> None:
        self.impressions.start()
        self.feedback.start()

    def close(self) -> None:
        self.impressions.close()
        self.feedback.close()

    def served(self, *, request_id: str, timestamp: float, user_id: str | None, query: str,
               product_ids: Sequence[str], propensities: Sequence[float], weight: float,
               objective: str, policy: str) -> bool:
        """Queue one ranking's rows, positions 1..n in served order."""
        n = len(product_ids)
        if n == 0:
            return True
        return self.impressions.append((request_id, timestamp, user_id, query, product_ids,
                                        propensities, weight, objective, policy), n)

    def answered(self, *, request_id: str, product_id: str, engaged: bool, purchased: bool,
                 timestamp: float) -> bool:
        """Queue one feedback row."""
        return self.feedback.append((request_id, product_id, engaged, purchased, timestamp), 1)


def _timestamps(seconds: Sequence[float]) -> pa.Array:
    micros = np.round(np.asarray(seconds, np.float64) * 1e6).astype(np.int64)
    return pa.array(micros, pa.int64()).cast(_TS)


def _impressions(items: list[Any]) -> pa.Table:
    """One row per served product from per-request tuples: the request's own columns are
    taken once per request and repeated in Arrow, not built per row in Python."""
    (request_id, timestamp, user_id, query, products, propensities, weight, objective,
     policy) = zip(*items, strict=True)
    n = np.fromiter((len(p) for p in products), np.int64, len(items))
    repeat = pa.array(np.repeat(np.arange(len(items)), n))
    starts = np.cumsum(n) - n
    position = pa.array((np.arange(int(n.sum())) - np.repeat(starts, n) + 1).astype(np.int32))
    rid = pa.array(request_id, pa.string()).take(repeat)
    return pa.Table.from_arrays([
        pc.binary_join_element_wise(rid, pc.cast(position, pa.string()), "-"),
        rid,
        _timestamps(timestamp).take(repeat),
        pa.array(user_id, pa.string()).take(repeat),
        pa.array(query, pa.string()).take(repeat),
        pa.array([p for ps in products for p in ps], pa.string()),
        position,
        pa.array(np.concatenate([np.asarray(p, np.float64) for p in propensities])),
        pa.array(weight, pa.float64()).take(repeat),
        pa.array(objective, pa.string()).take(repeat),
        pa.array(policy, pa.string()).take(repeat),
    ], schema=IMPRESSION_SCHEMA)


def _feedback(items: list[Any]) -> pa.Table:
    request_id, product_id, engaged, purchased, timestamp = zip(*items, strict=True)
    return pa.Table.from_arrays([
        pa.array(request_id, pa.string()), pa.array(product_id, pa.string()),
        pa.array(engaged, pa.bool_()), pa.array(purchased, pa.bool_()), _timestamps(timestamp),
    ], schema=FEEDBACK_SCHEMA)
