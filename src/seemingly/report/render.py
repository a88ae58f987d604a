"""Render a :class:`~seemingly.results.Results` into one self-contained, offline HTML file."""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from seemingly.outputs import check_file_target, output_lock
from seemingly.report.view import build_context
from seemingly.results import RESULTS_FILE, Results

__all__ = ["render_html", "render_report", "render_results_dir", "TableLink"]

REPORT_FILE = "report.html"

# Draws every [data-figure] container; the JSON sits in an HTML attribute (entity-escaped by
# Jinja, decoded by the browser), so no user string ever lands in script text.
INIT_JS = """
(function () {
  var boxes = document.querySelectorAll("[data-figure]");
  var config = {responsive: true, displaylogo: false,
                modeBarButtonsToRemove: ["select2d", "lasso2d"]};
  var jobs = Array.prototype.map.call(boxes, function (box) {
    try {
      var fig = JSON.parse(box.getAttribute("data-figure"));
      return Plotly.newPlot(box, fig.data, fig.layout, config);
    } catch (err) {
      box.textContent = "This figure could not be drawn: " + err;
      console.error(err);
      return Promise.resolve();
    }
  });
  Promise.all(jobs).then(function () {
    document.body.setAttribute("data-rendered", String(boxes.length));
  });
})();
""".strip()


@functools.cache
def _plotly_js() -> str:
    import plotly.offline

    js = plotly.offline.get_plotlyjs()
    # An HTML parser ends a <script> at the first "</script"; the bundle has none today, but
    # a future one must not be able to cut the page short.
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _sha256(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("seemingly.report", "templates"),
        autoescape=True,  # every {{ }} is HTML-escaped; nothing user-made is marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:,.1f} kB" if n < 1024**2 else f"{n / 1024**2:,.1f} MB"


@dataclass(frozen=True)
class TableLink:
    """One tables/*.csv (or *.parquet) as the "Tables" section lists it: link relative to
    the page, size, and the first columns of its header."""

    name: str
    href: str
    size: str
    columns: str


def _tables(results_dir: Path, out: Path) -> list[TableLink]:
    """tables/*.csv and *.parquet (``study --tables-format``) in ``results_dir``, linked
    relative to the page at ``out``."""
    tables = []
    folder = results_dir / "tables"
    for path in sorted([*folder.glob("*.csv"), *folder.glob("*.parquet")]):
        header: list[str] = []
        try:
            if path.suffix == ".parquet":
                import pyarrow.parquet as pq

                header = list(pq.read_schema(path).names)
            else:
                with path.open(newline="", encoding="utf-8") as fh:
                    header = next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError, csv.Error, ValueError):
            header = []  # pyarrow's ArrowInvalid is a ValueError
        href = Path(os.path.relpath(path.resolve(), out.resolve().parent)).as_posix()
        columns = ", ".join(header[:12]) + (" ..." if len(header) > 12 else "")
        tables.append(TableLink(path.name, href, _size(path.stat().st_size), columns))
    return tables


def render_html(results: Results, *, tables: Sequence[TableLink] = ()) -> str:
    """The report page for ``results``.

    Parameters
    ----------
    results
        The study's results. A block that is None shows as "skipped: why" (``results.skipped``
        or a reason inferred from the data block).
    tables
        The tables/*.csv to list in the "Tables" section.

    Returns
    -------
    str
        A complete HTML document with plotly.js inlined (works offline, about 5 MB).
    """
    if not isinstance(results, Results):
        raise TypeError(f"results must be a seemingly.results.Results, got "
                        f"{type(results).__name__}; read a results.json with Results.from_json")
    ctx = build_context(results)
    js = _plotly_js()
    csp = (
        "default-src 'none'; "
        f"script-src '{_sha256(js)}' '{_sha256(INIT_JS)}'; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
    )
    template = _environment().get_template("report.html.j2")
    return template.render(
        **ctx,
        tables=list(tables),
        csp=csp,
        # The two trusted scripts are the only Markup in the page.
        plotly_js=Markup(js),
        init_js=Markup(INIT_JS),
    )


def render_report(results: Results, out_dir: Path | str, *, out: Path | str | None = None
                  ) -> Path:
    """Write the HTML report of ``results`` (atomically: a reader never sees half a page).

    Parameters
    ----------
    results
        The study's results.
    out_dir
        The study's output folder; its tables/*.csv are listed in the page.
    out
        Where to write the page; default ``out_dir/report.html``.

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> render_report(study.results, "out/demo")  # doctest: +SKIP
    PosixPath('out/demo/report.html')
    """
    folder = Path(out_dir)
    target = Path(out) if out is not None else folder / REPORT_FILE
    # Only an earlier report is replaced: -o naming a user's file, a folder or a symlink is
    # refused (seemingly.outputs).
    check_file_target(target, what="report", is_owned=_is_report)
    target.parent.mkdir(parents=True, exist_ok=True)
    page = render_html(results, tables=_tables(folder, target))
    with output_lock(target):
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, target)
    return target


def _is_report(path: Path) -> bool:
    """Whether ``path`` is a page this module wrote (its title is in the first bytes)."""
    try:
        with path.open("rb") as fh:
            return b"<title>seemingly report" in fh.read(4096)
    except OSError:
        return False


def render_results_dir(results_dir: Path | str, out: Path | str | None = None) -> Path:
    """Re-render the report from a saved results.json (``seemingly report DIR``), no recomputing.

    Parameters
    ----------
    results_dir
        Folder holding results.json (and tables/*.csv), or the results.json itself.
    out
        Where to write the page; default ``report.html`` beside results.json.

    Raises
    ------
    FileNotFoundError
        There is no results.json there.
    seemingly.results.ResultsFileError
        The file is not a results.json this version reads; the message says how to regenerate.

    Examples
    --------
    >>> render_results_dir("out/demo")  # doctest: +SKIP
    PosixPath('out/demo/report.html')
    """
    path = Path(results_dir)
    folder = path if path.is_dir() else path.parent
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist. Point to the folder `seemingly study --out DIR` wrote "
            "(it holds results.json).")
    return render_report(Results.from_json(path), folder, out=out)
