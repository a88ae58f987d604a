"""The HTML report: a typed Results (+ tables/*.csv) -> one self-contained, offline report.html.

>>> from seemingly.report import render_report, render_results_dir
>>> render_report(results, "out/demo")  # doctest: +SKIP
PosixPath('out/demo/report.html')
>>> render_results_dir("out/demo")  # from a saved results.json  # doctest: +SKIP
PosixPath('out/demo/report.html')
"""

from __future__ import annotations

from seemingly.report.render import render_html, render_report, render_results_dir
from seemingly.report.screenshot import screenshot

__all__ = ["render_report", "render_results_dir", "render_html", "screenshot"]
