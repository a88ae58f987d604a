"""Log a study's output folder to MLflow (the ``mlflow`` extra).

Settings become params (dotted names, ``hypotheses.short_max``), the headline numbers metrics,
and results.json, report.html and the model directory artifacts; the ranker is also logged as
an MLflow pyfunc model logged from code (``_ranker_pyfunc.py``) whose artifacts are that same
directory (LightGBM text, JSON and Parquet: nothing is pickled). The run's tag
``seemingly.ranker_uri`` holds the model's URI.

``seemingly track OUT`` calls :func:`log_study`; ``mlflow.pyfunc.load_model(uri).predict``
then ranks a frame of (query, product_id, ...) rows like ``Ranker.rank``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seemingly.results import Results

__all__ = ["log_study", "study_metrics", "study_params"]

_PARAM_MAX = 500  # MLflow's limit on a param value's length


def _flatten(d: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def study_params(results: Results) -> dict[str, str]:
    """Every analysis setting of the run, plus seed, world and version, as MLflow params.

    Examples
    --------
    >>> from seemingly.config import AnalysisSettings
    >>> from seemingly.results import RunBlock
    >>> p = study_params(Results(run=RunBlock(seed=7, settings=AnalysisSettings())))
    >>> p["hypotheses.short_max"], p["seed"]
    ('2', '7')
    """
    if results.run is None:
        return {}
    run = results.run.model_dump(mode="json", exclude={"timings"})
    settings = run.pop("settings", None) or {}
    params = {k: v for k, v in run.items() if not isinstance(v, dict)}
    params.update(dict(_flatten(settings)))
    return {k: str(v)[:_PARAM_MAX] for k, v in params.items()}


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return None if math.isnan(v) or math.isinf(v) else float(v)


def study_metrics(results: Results) -> dict[str, float]:
    """The headline numbers: purchase / engagement levels of relevant and irrelevant offers,
    each hypothesis' estimate and Holm-adjusted p-value per outcome, the models' held-out
    metrics and the joint-vs-fusion hypervolume difference. Missing blocks add nothing."""
    out: dict[str, float] = {}
    raw = results.to_dict()
    overview = raw.get("overview") or {}
    for level in ("purchase_level", "engagement_level"):
        for group in ("relevant", "irrelevant"):
            v = _num(((overview.get(level) or {}).get(group) or {}).get("value"))
            if v is not None:
                out[f"{level}.{group}"] = v
    for name, outcomes in (raw.get("hypotheses") or {}).items():
        for outcome, effect in outcomes.items():
            for key in ("estimate", "p_adjusted"):
                v = _num(effect.get(key))
                if v is not None:
                    out[f"hypothesis.{name}.{outcome}.{key}"] = v
    for name, model in (raw.get("models") or {}).items():
        for key, value in (model.get("metrics") or {}).items():
            v = _num(value)
            if v is not None:
                out[f"model.{name}.{key}"] = v
    for objective, block in (raw.get("tradeoff") or {}).items():
        dominance = block.get("dominance") if isinstance(block, dict) else None
        v = _num((dominance or {}).get("difference"))
        if v is not None:
            out[f"tradeoff.{objective}.hypervolume_gain"] = v
    return out


def log_study(out_dir: str | os.PathLike[str], *, tracking_uri: str | None = None,
              experiment: str = "seemingly", run_name: str | None = None) -> str:
    """Log the study written to ``out_dir`` to MLflow; returns the run id.

    Parameters
    ----------
    out_dir
        A folder written by ``seemingly study`` (results.json, report.html, models/).
    tracking_uri
        Where MLflow keeps runs, e.g. ``file:./mlruns`` (MLflow's default when None).

    Examples
    --------
    >>> run_id = log_study("out/demo", tracking_uri="file:./mlruns")  # doctest: +SKIP
    """
    try:
        import mlflow
    except ImportError as exc:
        raise ImportError("logging to MLflow needs the mlflow extra: "
                          "pip install 'seemingly[mlflow]'") from exc
    out = Path(out_dir)
    results = Results.from_json(out)
    if tracking_uri is not None:
        if tracking_uri.startswith("file:"):
            # MLflow 3 refuses a file store unless opted in; a file: URI given here is that
            # opt-in (the store is still MLflow's own format, readable by `mlflow ui`)
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run:
        params = study_params(results)
        if params:
            mlflow.log_params(params)
        metrics = study_metrics(results)
        if metrics:
            mlflow.log_metrics(metrics)
        for name in ("results.json", "report.html"):
            if (out / name).is_file():
                mlflow.log_artifact(str(out / name))
        models = out / "models"
        if (models / "manifest.json").is_file():
            mlflow.log_artifacts(str(models), artifact_path="models")
            from mlflow.models import ModelSignature
            from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

            import seemingly

            # the params must be in the signature, or MLflow drops them at predict time;
            # product columns beyond product_id are optional (looked up in the catalog)
            signature = ModelSignature(
                inputs=Schema([ColSpec("string", "query"), ColSpec("string", "product_id")]),
                outputs=Schema([ColSpec("string", "query"), ColSpec("string", "product_id"),
                                ColSpec("long", "rank"), ColSpec("double", "fused_score")]),
                params=ParamSchema([ParamSpec("weight", "double", 0.5),
                                    ParamSpec("objective", "string", "purchase")]))
            info = mlflow.pyfunc.log_model(
                name="ranker", python_model=str(Path(__file__).with_name("_ranker_pyfunc.py")),
                artifacts={"models": str(models)}, signature=signature,
                # listed, not inferred: inference imports the model in a subprocess
                pip_requirements=[f"seemingly=={seemingly.__version__}"])
            mlflow.set_tag("seemingly.ranker_uri", info.model_uri)
        return str(run.info.run_id)
