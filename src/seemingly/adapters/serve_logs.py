"""The service's logs as contract tables: ``seemingly logs collect LOG_DIR -o OUT``.

``seemingly serve --log-dir DIR`` writes two kinds of Parquet files under DIR (the layout is in
the README's "Closing the loop"): *impressions*, one row per served candidate (offer_id,
request_id, timestamp, user_id, query, product_id, position, propensity), and *feedback*, one
row per answer a client sent to ``POST /v1/feedback`` (request_id, product_id, engaged,
purchased). A file's kind is told by its columns, not its folder, so the service may rotate and
place files as it likes: a file with ``position`` holds impressions, one with ``engaged`` or
``purchased`` and no ``position`` holds feedback.

:func:`collect_logs` joins them into the offers table (an offer without feedback was neither
engaged nor purchased: the customer saw it and did nothing), adds the products table (the
model's catalog snapshot or a given table) and copies judgments and orders from a data folder,
so ``seemingly study OUT`` reads the result like any other data folder. The join runs in DuckDB:
logs of millions of rows never become pandas frames.

>>> report = collect_logs("logs", "collected", model="model")  # doctest: +SKIP
>>> report.offers, report.feedback_unmatched  # doctest: +SKIP
(12000, 0)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from seemingly.errors import ContractError
from seemingly.outputs import output_dir
from seemingly.store.sources import discover, literal_path, sql_str

__all__ = ["CollectReport", "collect_logs", "IMPRESSION_COLUMNS", "FEEDBACK_COLUMNS"]

#: Columns an impression file must hold (propensity may be null: no exploration).
IMPRESSION_COLUMNS: tuple[str, ...] = ("offer_id", "request_id", "timestamp", "user_id",
                                       "query", "product_id", "position", "propensity")
#: Columns a feedback file must hold.
FEEDBACK_COLUMNS: tuple[str, ...] = ("request_id", "product_id", "engaged", "purchased")
#: What collect writes into OUT (its own names: an earlier output may be replaced).
OWN_NAMES = ("offers.parquet", "products.parquet", "judgments.parquet", "orders.parquet",
             "_collect.json")
_PASS_THROUGH = ("judgments", "orders")


@dataclass(frozen=True)
class CollectReport:
    """What :func:`collect_logs` read and wrote."""

    impression_files: int
    feedback_files: int
    offers: int  # rows of the offers table (= impression rows)
    requests: int
    feedback_rows: int
    feedback_matched: int  # (request, product) pairs of feedback that match an impression
    feedback_unmatched: int  # pairs naming no served impression (counted, not written)
    engaged: int
    purchased: int
    products: int
    products_source: str
    passed_through: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "passed_through": list(self.passed_through)}


def _log_files(log_dir: Path) -> tuple[list[Path], list[Path]]:
    """(impression files, feedback files) under ``log_dir``, told apart by their columns."""
    if not log_dir.is_dir():
        raise ContractError(f"{log_dir}: no such folder; pass the --log-dir of seemingly serve")
    impressions: list[Path] = []
    feedback: list[Path] = []
    for path in sorted(log_dir.rglob("*.parquet")):
        rel = path.relative_to(log_dir)
        # a file still being written (hidden or temporary name) is not a log yet
        if any(part.startswith((".", "_")) for part in rel.parts) or not path.is_file():
            continue
        try:
            with duckdb.connect() as con:
                names = {r[0] for r in con.execute(
                    f"SELECT name FROM parquet_schema({sql_str(literal_path(str(path)))})"
                ).fetchall()}
        except duckdb.Error as exc:
            raise ContractError(f"{path}: not a readable Parquet file "
                                f"({str(exc).splitlines()[0]})") from None
        if "position" in names:
            kind, need, into = "impression", IMPRESSION_COLUMNS, impressions
        elif names & {"engaged", "purchased"}:
            kind, need, into = "feedback", FEEDBACK_COLUMNS, feedback
        else:
            raise ContractError(
                f"{path}: neither an impression file (no column 'position') nor a feedback "
                "file (no column 'engaged' or 'purchased'); move it out of the log folder")
        missing = [c for c in need if c not in names]
        if missing:
            raise ContractError(f"{path}: {kind} file lacks column(s) {', '.join(missing)}; "
                                f"an {kind} file needs {', '.join(need)}")
        into.append(path)
    if not impressions:
        raise ContractError(f"{log_dir}: holds no impression files (*.parquet with a "
                            "'position' column); was the service run with --log-dir?")
    return impressions, feedback


def _scan(paths: list[Path], columns: tuple[str, ...]) -> str:
    files = ", ".join(sql_str(literal_path(str(p))) for p in paths)
    cols = ", ".join(columns)
    # file_row_number names the offending row in errors (0-based in DuckDB; shown 1-based)
    return (f"(SELECT {cols}, filename, file_row_number + 1 AS _row FROM read_parquet([{files}], "
            "union_by_name = true, filename = true, file_row_number = true))")


def _first_bad(con: duckdb.DuckDBPyConnection, relation: str, rule_sql: str, rule: str) -> None:
    row = con.execute(f"SELECT filename, _row FROM {relation} WHERE {rule_sql} LIMIT 1").fetchone()
    if row is not None:
        raise ContractError(f"{row[0]}: row {row[1]}: {rule}")


def _check_impressions(con: duckdb.DuckDBPyConnection, imp: str) -> None:
    for col in ("offer_id", "request_id", "query", "product_id", "timestamp", "position"):
        _first_bad(con, imp, f"{col} IS NULL", f"{col} is null; every served row needs it")
    _first_bad(con, imp, "position < 1", "position must be >= 1 (1 = first)")
    _first_bad(con, imp, "propensity IS NOT NULL AND NOT (propensity > 0 AND propensity <= 1)",
               "propensity must be in (0, 1] (or null when the service did not explore)")
    dup = con.execute(f"SELECT offer_id, count(*) AS n, min(filename) AS f FROM {imp} "
                  "GROUP BY offer_id HAVING count(*) > 1 LIMIT 1").fetchone()
    if dup is not None:
        raise ContractError(f"{dup[2]}: offer_id {dup[0]!r} is logged {dup[1]} times; each "
                            "served row has its own id (were the logs copied twice?)")


def _products(con: duckdb.DuckDBPyConnection, model: Path | None, products: Path | None
              ) -> tuple[str, str]:
    """(SQL relation of the products table, where it came from)."""
    if (model is None) == (products is None):
        raise ContractError("give the products either as --model MODEL_DIR (its catalog "
                            "snapshot) or as --products FILE, exactly one of them")
    if products is not None:
        if not products.is_file():
            raise ContractError(f"{products}: no such file; pass a products table "
                                "(.parquet, .csv or .jsonl)")
        fmt = {".parquet": "read_parquet", ".csv": "read_csv_auto", ".jsonl": "read_json_auto"}
        reader = fmt.get(products.suffix.lower())
        if reader is None:
            raise ContractError(f"{products}: unknown format; use .parquet, .csv or .jsonl")
        return f"{reader}({sql_str(literal_path(str(products)))})", str(products)
    assert model is not None
    catalog = model / "catalog.parquet"
    if not catalog.is_file():
        raise ContractError(f"{model}: no catalog snapshot (catalog.parquet); pass the model "
                            "directory the service served, or --products FILE")
    return f"read_parquet({sql_str(literal_path(str(catalog)))})", str(catalog)


def collect_logs(log_dir: str | Path, out: str | Path, *, model: str | Path | None = None,
                 products: str | Path | None = None, data: str | Path | None = None,
                 force: bool | None = None) -> CollectReport:
    """Join the service's impression and feedback logs into contract tables in ``out``.

    Parameters
    ----------
    log_dir : the service's ``--log-dir``.
    out : the output folder (offers, products, optional judgments and orders, _collect.json).
    model : the served model directory; its catalog snapshot becomes the products table.
    products : a products table to use instead of the model's snapshot.
    data : a data folder whose judgments and orders are copied (the logs have none).
    force : see :func:`seemingly.outputs.output_dir`.

    Raises
    ------
    ContractError
        A log file lacks a column or breaks a row rule (file and row named), an offer_id is
        logged twice, or a logged product is missing from the products table.
    """
    log_dir, out = Path(log_dir), Path(out)
    model_p = Path(model) if model is not None else None
    products_p = Path(products) if products is not None else None
    data_p = Path(data) if data is not None else None
    imp_files, fb_files = _log_files(log_dir)
    pass_sources = []
    if data_p is not None:
        sources, _ = discover(data_p)
        pass_sources = [s for s in sources if s.table in _PASS_THROUGH]
    con = duckdb.connect()
    # the service logs UTC instants; the contract's TIMESTAMP is naive UTC, whatever the
    # machine's time zone
    con.execute("SET TimeZone = 'UTC'")
    try:
        prod_rel, prod_from = _products(con, model_p, products_p)
        imp = _scan(imp_files, IMPRESSION_COLUMNS)
        con.execute(f"CREATE TEMP TABLE imp AS SELECT * FROM {imp}")
        _check_impressions(con, "imp")
        if fb_files:
            fb = _scan(fb_files, FEEDBACK_COLUMNS)
            con.execute(f"CREATE TEMP TABLE fb_raw AS SELECT * FROM {fb}")
            for col in ("request_id", "product_id"):
                _first_bad(con, "fb_raw", f"{col} IS NULL", f"{col} is null; feedback names "
                           "the request and the product it answers")
        else:
            con.execute("CREATE TEMP TABLE fb_raw (request_id VARCHAR, product_id VARCHAR, "
                    "engaged BOOLEAN, purchased BOOLEAN)")
        # several answers to one offer are OR-ed; a purchase is an engagement (the contract's
        # engaged = purchased OR engaged otherwise)
        con.execute("CREATE TEMP TABLE fb AS SELECT request_id, product_id, "
                "bool_or(coalesce(engaged, false) OR coalesce(purchased, false)) AS engaged, "
                "bool_or(coalesce(purchased, false)) AS purchased, count(*) AS n "
                "FROM fb_raw GROUP BY request_id, product_id")
        con.execute(f"CREATE TEMP TABLE prod AS SELECT * FROM {prod_rel}")
        missing = con.execute("SELECT imp.product_id, imp.filename, imp._row FROM imp "
                              "ANTI JOIN prod USING (product_id) LIMIT 1").fetchone()
        if missing is not None:
            raise ContractError(f"{missing[1]}: row {missing[2]}: product_id {missing[0]!r} is "
                                f"not in the products table {prod_from}; pass the model that "
                                "served the logs, or --products with every served product")
        # user_id is required by the contract; an anonymous request is its own user, so no
        # two anonymous customers share a purchase history
        offers_sql = (
            "SELECT imp.offer_id, imp.request_id, CAST(imp.timestamp AS TIMESTAMP) AS timestamp, "
            "coalesce(imp.user_id, 'anonymous:' || imp.request_id) AS user_id, imp.query, "
            "imp.product_id, CAST(imp.position AS INTEGER) AS position, "
            "coalesce(fb.engaged, false) AS engaged, coalesce(fb.purchased, false) AS purchased, "
            "CAST(imp.propensity AS DOUBLE) AS propensity FROM imp LEFT JOIN fb "
            "USING (request_id, product_id) ORDER BY imp.timestamp, imp.request_id, imp.position")
        counts = con.execute(
            "SELECT (SELECT count(*) FROM imp), (SELECT count(DISTINCT request_id) FROM imp), "
            "(SELECT count(*) FROM fb_raw), (SELECT count(*) FROM fb SEMI JOIN imp "
            "USING (request_id, product_id)), (SELECT count(*) FROM fb ANTI JOIN imp "
            "USING (request_id, product_id))").fetchone()
        assert counts is not None
        with output_dir(out, writer="logs collect", inputs=(log_dir, model_p, products_p, data_p),
                        own_names=OWN_NAMES, force=force, record_files=True) as tmp:
            con.execute(f"COPY ({offers_sql}) TO {sql_str(str(tmp / 'offers.parquet'))} "
                    "(FORMAT parquet)")
            con.execute(f"COPY (SELECT * FROM prod) TO {sql_str(str(tmp / 'products.parquet'))} "
                    "(FORMAT parquet)")
            passed = []
            for table in _PASS_THROUGH:
                srcs = [s for s in pass_sources if s.table == table]
                if not srcs:
                    continue
                union = " UNION ALL BY NAME ".join(
                    f"SELECT * EXCLUDE (_row) FROM {s.relation}" for s in srcs)
                con.execute(f"COPY ({union}) TO {sql_str(str(tmp / f'{table}.parquet'))} "
                        "(FORMAT parquet)")
                passed.append(table)
            outcome = con.execute(
                f"SELECT count(*) FILTER (WHERE engaged), count(*) FILTER (WHERE purchased) "
                f"FROM read_parquet({sql_str(str(tmp / 'offers.parquet'))})").fetchone()
            n_products = con.execute("SELECT count(*) FROM prod").fetchone()
            assert outcome is not None and n_products is not None
            report = CollectReport(
                impression_files=len(imp_files), feedback_files=len(fb_files),
                offers=int(counts[0]), requests=int(counts[1]), feedback_rows=int(counts[2]),
                feedback_matched=int(counts[3]), feedback_unmatched=int(counts[4]),
                engaged=int(outcome[0]), purchased=int(outcome[1]), products=int(n_products[0]),
                products_source=prod_from, passed_through=tuple(passed))
            (tmp / "_collect.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    finally:
        con.close()
    return report
