"""The report of ``seemingly evaluate``: each run's metrics with intervals, its coverage, the
paired tests, and each run drawn on the frontier charts (on the study's frontier when the
study's results are given).

>>> render_evaluation(ev, "out/eval", study=Results.from_json("out/demo"))  # doctest: +SKIP
PosixPath('out/eval/report.html')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from markupsafe import Markup

from seemingly.report._format import fmt_ci, fmt_int, fmt_num, fmt_p, fmt_pct
from seemingly.report.figures import OUTCOMES, Fig, Figures, _figure, figure_json, plot_text
from seemingly.report.render import INIT_JS, _environment, _plotly_js, _sha256
from seemingly.results import Results
from seemingly.results.evaluate import EVALUATION_METRICS, EvaluationResults, FrontierPosition

__all__ = ["render_evaluation", "evaluation_html"]

# one colour per run, cycling; the study's own sweeps keep their colours from figures.py
RUN_COLORS = ("#2b8a3e", "#c2255c", "#5f3dc4", "#0b7285", "#e67700", "#495057")
METRIC_NAMES = {"relevance_at_1": "relevance@1", "purchase_level_at_1": "purchase level@1",
                "engagement_level_at_1": "engagement level@1", "ndcg_at_k": "NDCG@k"}


def _bars(v: float | None, ci: Any) -> tuple[float, float]:
    lo, hi = ci
    if v is None or lo is None or hi is None:
        return 0.0, 0.0
    return max(0.0, hi - v), max(0.0, v - lo)


def _run_trace(tag: str, pos: FrontierPosition, color: str) -> dict[str, Any]:
    x, y = pos.relevance_at_1, pos.level_at_1
    xb, yb = _bars(x.value, x.ci), _bars(y.value, y.ci)
    return {"type": "scatter", "mode": "markers", "name": plot_text(tag),
            "x": [x.value], "y": [y.value],
            "marker": {"symbol": "star", "size": 15, "color": color,
                       "line": {"color": "#212529", "width": 1}},
            "error_x": {"type": "data", "array": [xb[0]], "arrayminus": [xb[1]],
                        "color": color},
            "error_y": {"type": "data", "array": [yb[0]], "arrayminus": [yb[1]],
                        "color": color},
            "hovertext": [plot_text(f"{tag}: {pos.n_queries} queries")],
            "hoverinfo": "text+x+y"}


def frontier_figure(ev: EvaluationResults, outcome: str, outcome_name: str,
                    study: Results | None = None) -> Fig | None:
    """One objective's chart: the study's sweeps and fronts (if given) and every run as a
    star with its bootstrap intervals on both axes."""
    base = None
    if study is not None and study.tradeoff is not None:
        base = Figures.tradeoff(getattr(study.tradeoff, outcome), outcome_name)
    runs = [_run_trace(tag, r.frontier[outcome], RUN_COLORS[i % len(RUN_COLORS)])  # type: ignore[index]
            for i, (tag, r) in enumerate(ev.runs.items()) if outcome in r.frontier]
    if base is None and not runs:
        return None
    if base is None:
        return _figure(runs, xaxis={"title": {"text": "relevance@1"}},
                       yaxis={"title": {"text": f"{outcome_name} level@1"}})
    return {"data": base["data"] + runs, "layout": base["layout"]}


def _context(ev: EvaluationResults, study: Results | None) -> dict[str, Any]:
    s = ev.settings
    rows = []
    for tag, r in ev.runs.items():
        c = r.coverage
        rows.append({"tag": tag, "source": r.source,
                     "metrics": [(fmt_num(getattr(r, m).value), fmt_ci(getattr(r, m).ci))
                                 for m in EVALUATION_METRICS],
                     "coverage": [fmt_int(c.rows), f"{fmt_int(c.queries_ranked)} / "
                                  f"{fmt_int(c.queries)}", fmt_pct(c.judged_at_1),
                                  fmt_pct(c.judged_at_k), fmt_int(c.rows_outside)]})
    tests = [{"a": t.a, "b": t.b, "metric": METRIC_NAMES[t.metric],
              "difference": fmt_num(t.difference), "ci": fmt_ci(t.ci), "p": fmt_p(t.p_value),
              "p_adjusted": fmt_p(t.p_adjusted), "significant": t.significant}
             for t in ev.comparisons]
    figures = []
    for i, (outcome, name) in enumerate(OUTCOMES):
        fig = frontier_figure(ev, outcome, name, study)
        if fig is not None:
            figures.append({"id": f"frontier-{i}", "title": f"{name} level@1 vs relevance@1",
                            "json": figure_json(fig),
                            "caption": ("The study's fusion sweep (and its joint model, if it "
                                        "ran) with the Pareto front; each run is a star with "
                                        "its query-bootstrap intervals." if study is not None and
                                        study.tradeoff is not None else
                                        "Each run is a star with its query-bootstrap "
                                        "intervals (pass --study to draw the study's frontier).")})
    settings = [("NDCG cut-off k", str(s.k)), ("judged only", "yes" if s.judged_only else "no"),
                ("min offers per candidate", str(s.min_offers)),
                ("label window split", fmt_num(s.window_split)), ("queries", s.queries),
                ("bootstrap resamples", fmt_int(s.n_boot)), ("confidence", fmt_num(s.confidence)),
                ("family-wise α (Holm)", fmt_num(s.alpha)), ("seed", str(s.seed)),
                ("test", s.test)]
    return {"runs": rows, "tests": tests, "figures": figures, "settings": settings,
            "metric_names": [METRIC_NAMES[m] for m in EVALUATION_METRICS],
            "queries": [(k, fmt_int(v)) for k, v in ev.queries.items()],
            "study": study is not None and study.tradeoff is not None,
            "confidence": fmt_pct(s.confidence, 0)}


def evaluation_html(ev: EvaluationResults, study: Results | None = None) -> str:
    """The evaluation page (self-contained, plotly.js inlined, same CSP as the study's)."""
    js = _plotly_js()
    csp = ("default-src 'none'; "
           f"script-src '{_sha256(js)}' '{_sha256(INIT_JS)}'; "
           "style-src 'unsafe-inline'; img-src data: blob:; font-src data:")
    template = _environment().get_template("evaluate.html.j2")
    return template.render(**_context(ev, study), csp=csp, plotly_js=Markup(js),
                           init_js=Markup(INIT_JS))


def render_evaluation(ev: EvaluationResults, out_dir: str | Path, *,
                      study: Results | None = None) -> Path:
    """Write ``out_dir/report.html`` (atomically) and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "report.html"
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_text(evaluation_html(ev, study), encoding="utf-8")
    os.replace(tmp, target)
    return target
