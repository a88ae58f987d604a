"""Find the contract tables in a folder, a DuckDB file or pandas frames, as SQL relations.

Every source becomes one SQL relation with the file's own columns plus ``_row`` (1-based data
row within that file, header not counted), so quarantine rows point back to the input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from seemingly.contract import DATASET_FILE, TABLES
from seemingly.errors import ContractError
from seemingly.outputs import check_complete

__all__ = [
    "Source",
    "describe",
    "discover",
    "fingerprint_files",
    "frame_sources",
    "literal_path",
    "parquet_parts",
    "sql_str",
]

# Suffix (after dropping a compression suffix) -> reader.
_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".ndjson": "json"}
_COMPRESSION = (".gz", ".zst")
DB_SUFFIXES = (".duckdb", ".ddb", ".db")


@dataclass(frozen=True)
class Source:
    """One input file (or frame, or database table) of one contract table."""

    table: str
    label: str  # what error messages and quarantine rows call it
    relation: str  # SQL FROM-clause item yielding the raw columns plus _row
    # The file behind it, when it is a Parquet file: consecutive Parquet parts of one table
    # with the same schema are then read by one multi-file scan (see parquet_parts).
    parquet_path: str | None = None


def sql_str(value: str) -> str:
    """Quote a Python string as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _split_suffix(path: Path) -> tuple[str, str | None]:
    """(stem, format) of a data file, or (name, None) when the suffix is not a data format."""
    name = path.name
    for comp in _COMPRESSION:
        if name.endswith(comp):
            name = name[: -len(comp)]
    p = Path(name)
    return p.stem, _FORMATS.get(p.suffix.lower())


def literal_path(path: str) -> str:
    """``path`` as a DuckDB file pattern that matches only itself.

    DuckDB's readers expand ``*``, ``?`` and ``[...]`` in every path, even in a list, so a
    part named ``part-[1].parquet`` would read ``part-1.parquet``. A one-character class
    matches its character literally.
    """
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


# CSV's dialect is the contract's (RFC 4180: comma, double quote doubled inside quotes,
# header row, UTF-8), never sniffed: DuckDB's sniffer looks at a sample, and a file whose
# first quoted field came after it was read with no quote character at all. Rows up to
# 64 MB are parsed so an oversized value is quarantined by its row rule, not the file.
CSV_OPTIONS = (
    "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
    "encoding = 'utf-8', skip = 0, max_line_size = 67108864"
)


def _relation(path: Path, fmt: str) -> str:
    lit = sql_str(literal_path(str(path)))
    if fmt == "parquet":
        # file_row_number is the physical row order, the "file order" the contract speaks of.
        return (
            f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _row "
            f"FROM read_parquet({lit}, file_row_number = true))"
        )
    if fmt == "csv":
        # all_varchar: ids like "007" stay text, and unparseable values reach our row rules
        # instead of failing the whole file in DuckDB's type sniffer.
        return (
            f"(SELECT * EXCLUDE (ordinality), ordinality AS _row FROM "
            f"read_csv({lit}, {CSV_OPTIONS}) WITH ORDINALITY)"
        )
    return (
        f"(SELECT * EXCLUDE (ordinality), ordinality AS _row FROM "
        f"read_json({lit}, format = 'newline_delimited', maximum_object_size = 67108864) "
        f"WITH ORDINALITY)"
    )


def _source(table: str, label: str, path: Path, fmt: str) -> Source:
    return Source(
        table, label, _relation(path, fmt), str(path.absolute()) if fmt == "parquet" else None
    )


def parquet_parts(paths: list[str], first_idx: int) -> str:
    """One scan over several Parquet files with ``_row`` and ``_file_idx`` (``first_idx`` +
    position in ``paths``).

    One multi-file scan instead of a UNION ALL of per-file scans: DuckDB then splits the work
    over threads across files; a UNION ALL runs its branches one after another, and a file
    with a single row group is read by a single thread.
    """
    files = ", ".join(sql_str(literal_path(p)) for p in paths)
    return (
        f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _row, "
        f"CAST(file_index AS BIGINT) + {int(first_idx)} AS _file_idx "
        f"FROM read_parquet([{files}], file_row_number = true))"
    )


def _unknown_table(path: Path, stem: str) -> ContractError:
    return ContractError(
        f"{path}: {stem!r} is not a table of the data contract. Known tables: "
        f"{', '.join(sorted(TABLES))}. Rename the file (the file stem names the table, e.g. "
        f"'offers.parquet' or 'offers/part-0.parquet'), or move it out of the data folder."
    )


# Files seemingly itself writes beside the tables (simulator truth, converter reports); they
# are expected, so skipping them is not worth a warning.
COMPANION_FILES = frozenset({"truth.json", "conversion.json", DATASET_FILE})


def discover(data: Path) -> tuple[list[Source], list[str]]:
    """Sources of a folder (files and ``table/part-*`` folders), plus the files ignored.

    Hidden and ``_``-prefixed entries (``_SUCCESS``, ``.DS_Store``) and files that are not data
    formats (``truth.json``, ``README.md``) are ignored and listed; a data file whose stem is
    not a contract table is a hard error.
    """
    if not data.exists():
        raise ContractError(f"{data}: no such file or folder. Pass the folder holding products.*")
    if data.is_file():
        if data.suffix.lower() in DB_SUFFIXES:
            return _discover_db(data), []
        raise ContractError(
            f"{data}: expected a folder of contract tables or a DuckDB file "
            f"({', '.join(DB_SUFFIXES)}), got a file. "
            f"Put products.* (and offers.*, ...) in a folder."
        )
    check_complete(data)
    sources: list[Source] = []
    ignored: list[str] = []
    forms: dict[str, list[str]] = {}  # table -> its top-level entries (files or a folder)
    for entry in sorted(data.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            if entry.name not in TABLES:
                raise _unknown_table(entry, entry.name)
            forms.setdefault(entry.name, []).append(entry.name + "/")
            parts = [p for p in sorted(entry.rglob("*")) if p.is_file()]
            found = False
            for part in parts:
                if part.name.startswith((".", "_")):
                    continue
                _, fmt = _split_suffix(part)
                if fmt is None:
                    ignored.append(str(part.relative_to(data)))
                    continue
                found = True
                sources.append(_source(entry.name, str(part.relative_to(data)), part, fmt))
            if not found:
                raise ContractError(
                    f"{entry}: folder of table {entry.name!r} holds no data files "
                    f"({', '.join(_FORMATS)}). Add part files or remove the folder."
                )
            continue
        stem, fmt = _split_suffix(entry)
        if fmt is None:
            if entry.name not in COMPANION_FILES:
                ignored.append(entry.name)
            continue
        if stem not in TABLES:
            raise _unknown_table(entry, stem)
        forms.setdefault(stem, []).append(entry.name)
        sources.append(_source(stem, entry.name, entry, fmt))
    for table, entries in forms.items():
        if len(entries) > 1:
            # Reading both would count every row twice (or mix two versions of the table).
            raise ContractError(
                f"{data}: table {table!r} is given {len(entries)} times "
                f"({' and '.join(entries)}); keep one of them and move the other out of the "
                f"data folder."
            )
    return sources, ignored


def _discover_db(path: Path) -> list[Source]:
    """Contract tables of a user's DuckDB database (attached read-only as ``src``)."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ContractError(f"{path}: cannot open as a DuckDB database ({exc}).") from exc
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    # rowid follows insertion order, the database's analogue of file order.
    return [
        Source(t, f"{path.name}:{t}", f'(SELECT *, rowid + 1 AS _row FROM src.main."{t}")')
        for t in TABLES
        if t in names
    ]


def fingerprint_files(data: Path, sources: list[Source]) -> str:
    """sha256 over the input's file names, sizes and modification times (cheap, no content read)."""
    h = hashlib.sha256()
    files = [data] if data.is_file() else [data / s.label for s in sources]
    for f in sorted(files):
        st = f.stat()
        name = f.name if f == data else str(f.relative_to(data))
        h.update(f"{name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def describe(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, str]:
    """Column name -> DuckDB type of a source; unreadable input is a ContractError."""
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {source.relation}").fetchall()
    except duckdb.Error as exc:
        raise ContractError(
            f"{source.label}: cannot read it as table {source.table!r}: {exc}. "
            f"Check that it is valid {_kind(source.label)} (UTF-8, header row for CSV)."
        ) from exc
    return {r[0]: str(r[1]) for r in rows if r[0] != "_row"}


def _kind(label: str) -> str:
    _, fmt = _split_suffix(Path(label))
    return {"parquet": "Parquet", "csv": "CSV", "json": "JSON Lines"}.get(fmt or "", "data")


def frame_sources(frames: Mapping[str, str]) -> list[Source]:
    """Sources for registered in-memory tables (``table -> registered view name``)."""
    return [
        Source(t, f"<frame:{t}>", f'(SELECT * EXCLUDE (_row), _row FROM "{view}")')
        for t, view in frames.items()
    ]


def require_products(tables: Iterable[str], source: str) -> None:
    """Raise the contract's hard error when ``source`` holds no products table."""
    present = set(tables)
    if "products" not in present:
        found = ", ".join(sorted(present)) or "no contract tables"
        raise ContractError(
            f"{source}: the products table is missing (found: {found}). Every analysis "
            f"needs it: add products.parquet, products.csv or products.jsonl with columns "
            f"{', '.join(TABLES['products'].required_columns)}."
        )


def ignored_warnings(ignored: list[str]) -> list[str]:
    """The ingest warning that lists files which are not contract tables (none if empty)."""
    if not ignored:
        return []
    return [f"ignored files that are not contract tables: {', '.join(ignored)}"]
