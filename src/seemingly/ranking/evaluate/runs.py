"""Reading a ranker's run: TREC run files (with a query-id table) or CSV / Parquet tables.

TREC: ``qid Q0 product_id rank score tag`` per line, whitespace-separated; the ``qid`` is
looked up in a query-id table (``qid<TAB>query`` lines, as the study writes to
``tables/trec/queries.tsv``). As trec_eval does, the order comes from ``score`` (higher
first), not from ``rank``; ties are broken by product_id, ascending (as the study's own
evaluator; trec_eval takes descending), so the result never depends on row order.
CSV / Parquet: columns ``query, product_id, score``; queries are normalised as the data
contract says. A bad row raises :class:`RunFileError` naming the file, the row and the rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seemingly.contract import normalize_query
from seemingly.errors import ContractError

__all__ = ["Run", "RunFileError", "read_run", "read_query_table", "RUN_FORMATS"]

#: file suffix -> format name
RUN_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".txt": "trec",
               ".trec": "trec", ".run": "trec", "": "trec"}
TABLE_COLUMNS = ("query", "product_id", "score")


class RunFileError(ContractError):
    """A run file or query-id table breaks a rule; the message names file, row and rule."""


@dataclass(frozen=True)
class Run:
    """One ranker's scores: ``frame`` has ``query, product_id, score`` (one row per pair)."""

    tag: str
    source: str
    frame: pd.DataFrame


def _fail(path: Path, row: int | None, rule: str) -> RunFileError:
    where = f"{path}" if row is None else f"{path}, row {row}"
    return RunFileError(f"{where}: {rule}")


def _score(path: Path, row: int, text: object) -> float:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _fail(path, row, f"score must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise _fail(path, row, f"score must be finite, got {text!r}")
    return value


def read_query_table(path: str | Path) -> dict[str, str]:
    """``qid<TAB>query`` lines -> {qid: normalised query}."""
    p = Path(path)
    if not p.is_file():
        raise RunFileError(f"{p}: query-id table not found (the study writes "
                           "tables/trec/queries.tsv)")
    out: dict[str, str] = {}
    with p.open(encoding="utf-8") as fh:
        for row, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            qid, sep, query = line.rstrip("\n").partition("\t")
            if not sep or not qid or not query.strip():
                raise _fail(p, row, "a query-id line is 'qid<TAB>query'")
            if qid in out:
                raise _fail(p, row, f"qid {qid!r} appears twice")
            out[qid] = normalize_query(query)
    return out


def _read_trec(p: Path, qids: dict[str, str] | None) -> tuple[str, pd.DataFrame]:
    if qids is None:
        raise RunFileError(f"{p}: a TREC run names queries by id; pass the query-id table "
                           "(--queries tables/trec/queries.tsv)")
    queries, products, scores, tags = [], [], [], set()
    with p.open(encoding="utf-8") as fh:
        for row, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise _fail(p, row, f"a TREC run line has 6 fields 'qid Q0 product_id rank "
                                    f"score tag', got {len(parts)}")
            qid, _q0, pid, rank, score, tag = parts
            if qid not in qids:
                raise _fail(p, row, f"qid {qid!r} is not in the query-id table")
            try:
                int(rank)
            except ValueError:
                raise _fail(p, row, f"rank must be an integer, got {rank!r}") from None
            scores.append(_score(p, row, score))
            queries.append(qids[qid])
            products.append(pid)
            tags.add(tag)
            if len(tags) > 1:
                raise _fail(p, row, f"one run per file: tag {tag!r} after {sorted(tags)[0]!r}")
    if not queries:
        raise _fail(p, None, "the run has no rows")
    frame = pd.DataFrame({"query": queries, "product_id": products, "score": scores})
    return tags.pop(), frame


def _read_table(p: Path, fmt: str) -> pd.DataFrame:
    try:
        df = pd.read_parquet(p) if fmt == "parquet" else pd.read_csv(
            p, dtype={"query": str, "product_id": str}, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure is one line for the user
        raise _fail(p, None, f"cannot read as {fmt}: {type(exc).__name__}: {exc}") from None
    missing = [c for c in TABLE_COLUMNS if c not in df.columns]
    if missing:
        raise _fail(p, None, f"missing column(s) {missing}; a run table has columns "
                             f"{list(TABLE_COLUMNS)}")
    if df.empty:
        raise _fail(p, None, "the run has no rows")
    # row numbers as a user counts them: CSV data starts on line 2 (after the header)
    first = 2 if fmt == "csv" else 1
    for col in ("query", "product_id"):
        bad = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if bad.any():
            raise _fail(p, int(bad.to_numpy().argmax()) + first, f"{col} is empty")
    score = pd.to_numeric(df["score"], errors="coerce")
    bad = score.isna() | ~score.abs().lt(math.inf)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise _fail(p, i + first, f"score must be a finite number, got {df['score'].iloc[i]!r}")
    return pd.DataFrame({"query": [normalize_query(str(q)) for q in df["query"]],
                         "product_id": df["product_id"].astype(str).to_numpy(),
                         "score": score.astype(float).to_numpy()})


def read_run(path: str | Path, *, queries: dict[str, str] | None = None,
             tag: str | None = None) -> Run:
    """Read one run file (format from its suffix: .csv, .parquet, else TREC).

    Parameters
    ----------
    queries : the query-id table (:func:`read_query_table`), needed for TREC runs.
    tag : the run's name; default the TREC tag column, or the file's stem for tables.
    """
    p = Path(path)
    if not p.is_file():
        raise RunFileError(f"{p}: run file not found")
    fmt = RUN_FORMATS.get(p.suffix.lower(), "trec")
    if fmt == "trec":
        file_tag, frame = _read_trec(p, queries)
    else:
        file_tag, frame = p.stem, _read_table(p, fmt)
    dup = frame.duplicated(["query", "product_id"], keep="first")
    if dup.any():
        i = int(dup.to_numpy().argmax())
        row = i + (2 if fmt == "csv" else 1)
        if fmt == "trec":  # blank lines were skipped: count them back in
            row = _line_of(p, i)
        raise _fail(p, row, f"product {frame['product_id'].iloc[i]!r} is ranked twice for "
                            f"query {frame['query'].iloc[i]!r}")
    return Run(tag or file_tag, str(p), frame)


def _line_of(p: Path, index: int) -> int:
    """1-based line number of the ``index``-th non-blank line."""
    seen = -1
    with p.open(encoding="utf-8") as fh:
        for row, line in enumerate(fh, start=1):
            if line.strip():
                seen += 1
                if seen == index:
                    return row
    return index + 1
