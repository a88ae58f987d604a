"""Render results.json into one self-contained, offline HTML file."""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from seemingly.errors import ContractError
from seemingly.report.view import build_context

__all__ = ["render_html", "render_report"]

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


def _tables(results_dir: Path, out: Path) -> list[dict[str, Any]]:
    """tables/*.csv next to results.json: link (relative to the report), size, columns."""
    tables = []
    for path in sorted((results_dir / "tables").glob("*.csv")):
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                header = next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError, csv.Error):
            header = []
        href = Path(os.path.relpath(path.resolve(), out.resolve().parent)).as_posix()
        tables.append({"name": path.name, "href": href, "size": _size(path.stat().st_size),
                       "columns": ", ".join(header[:12]) + (" ..." if len(header) > 12 else "")})
    return tables


def render_html(results: dict[str, Any], *, tables: list[dict[str, Any]] | None = None) -> str:
    """The report page for a results.json dict.

    Parameters
    ----------
    results
        The parsed results.json. Missing blocks show as "skipped: why"; unknown keys are ignored.
    tables
        Optional list of ``{name, href, size, columns}`` describing tables/*.csv.

    Returns
    -------
    str
        A complete HTML document with plotly.js inlined (works offline, about 5 MB).
    """
    if not isinstance(results, dict):
        raise ContractError(
            f"results must be the dict parsed from results.json, got {type(results).__name__}")
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
        tables=tables or [],
        csp=csp,
        # The two trusted scripts are the only Markup in the page.
        plotly_js=Markup(js),
        init_js=Markup(INIT_JS),
    )


def _load(results_dir: Path) -> tuple[Path, dict[str, Any]]:
    path = results_dir / "results.json" if results_dir.is_dir() else results_dir
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist. Point to the folder `seemingly study --out DIR` wrote "
            "(it holds results.json).")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path} is not valid JSON ({exc}); re-run `seemingly study`.") from exc
    if not isinstance(results, dict):
        raise ContractError(f"{path} must hold a JSON object, found {type(results).__name__}.")
    return path.parent, results


def render_report(results_dir: Path | str, out: Path | str | None = None) -> Path:
    """Write the HTML report for the results in ``results_dir``.

    Parameters
    ----------
    results_dir
        Folder holding results.json (and optionally tables/*.csv), or the results.json itself.
    out
        Where to write the page; default ``results_dir/report.html``.

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> render_report("out/demo")  # doctest: +SKIP
    PosixPath('out/demo/report.html')
    """
    folder, results = _load(Path(results_dir))
    target = Path(out) if out is not None else folder / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    page = render_html(results, tables=_tables(folder, target))
    # Write then rename, so a reader never sees half a report.
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
