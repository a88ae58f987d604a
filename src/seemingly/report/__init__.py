"""The HTML report: results.json (+ tables/*.csv) -> one self-contained, offline report.html.

>>> from seemingly.report import render_report
>>> render_report("out/demo")  # doctest: +SKIP
PosixPath('out/demo/report.html')
"""

from __future__ import annotations

from seemingly.report.render import render_html, render_report
from seemingly.report.screenshot import screenshot

__all__ = ["render_report", "render_html", "screenshot"]
