"""Train the relevance, purchase and engagement models and write a model directory."""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seemingly.contract import OUTCOME_COUNTS
from seemingly.ranking.features import FEATURE_NAMES
from seemingly.ranking.models.artifacts import write_manifest
from seemingly.ranking.models.data import ModelData
from seemingly.ranking.models.estimators import OutcomeModel, RelevanceModel
from seemingly.ranking.scoring import CandidateMatrix, ranking_metrics
from seemingly.results import ModelEntry, ModelsBlock

__all__ = ["TrainedModels", "fit_models", "save_models"]

FEATURES = list(FEATURE_NAMES)


@dataclass(frozen=True)
class TrainedModels:
    models: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    importance: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_block(self, manifest: Mapping[str, Any] | None = None) -> ModelsBlock:
        """The typed ``models`` block; with the manifest of the directory the models were
        saved to (:func:`save_models`), each entry names its file and that file's sha256."""
        entries = {}
        for name in self.models:
            saved: dict[str, str] = {}
            if manifest is not None:
                file = manifest["models"][name]["file"]
                saved = {"file": file, "sha256": manifest["files"][file]}
            entries[name] = ModelEntry(metrics=self.metrics.get(name, {}),
                                       feature_importance=self.importance.get(name, {}), **saved)
        return ModelsBlock(entries)


def _auc(y: np.ndarray, s: np.ndarray, w: np.ndarray | None = None) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, s, sample_weight=w))


def _ndcg_at(frame: pd.DataFrame, score: np.ndarray, k: int = 10) -> float:
    f = frame.assign(level=0.0, _s=score)
    if not len(f):
        return float("nan")
    cm = CandidateMatrix.from_frame(f)
    _, _, ndcg = ranking_metrics(cm.scatter(f, "_s"), cm, k)
    has_rel = (cm.relevant * cm.mask).sum(axis=1) > 0
    return float(ndcg[has_rel].mean()) if has_rel.any() else float("nan")


def _weighted_logloss(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-(w * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / w.sum())


def fit_models(data: ModelData, *, params: dict[str, Any] | None = None,
               seed: int = 7, n_jobs: int = 1) -> TrainedModels:
    """Fit the relevance model on train queries' judgments and the outcome models on train
    queries' label-window offers (the three on ``n_jobs`` threads: LightGBM releases the GIL
    while it trains); measure each on test queries."""
    params = {**(params or {}), "seed": seed}
    c = data.candidates
    judged = c[c["relevant"].notna()]
    tr, te = judged[judged["split"] == "train"], judged[judged["split"] == "test"]
    rows = data.outcome_rows[data.outcome_rows["offers"] > 0]
    otr, ote = rows[rows["split"] == "train"], rows[rows["split"] == "test"]
    def outcome(col: str) -> OutcomeModel:
        return OutcomeModel(**params).fit(otr[FEATURES], (otr[col] / otr["offers"]).to_numpy(),
                                          sample_weight=otr["offers"].to_numpy())

    with ThreadPoolExecutor(max_workers=max(n_jobs, 1)) as pool:
        jobs: dict[str, Future[Any]] = {"relevance": pool.submit(
            lambda: RelevanceModel(**params).fit(tr[FEATURES], tr["relevant"].to_numpy()))}
        for name, col in OUTCOME_COUNTS.items():
            jobs[name] = pool.submit(outcome, col)
        fitted = {name: job.result() for name, job in jobs.items()}
    models: dict[str, Any] = {}
    metrics: dict[str, dict[str, float]] = {}
    rel = fitted["relevance"]
    s = rel.predict(te[FEATURES]) if len(te) else np.zeros(0)
    bm25 = te["bm25"].to_numpy()
    metrics["relevance"] = {"auc": _auc(te["relevant"].to_numpy(), s),
                            "ndcg_at_10": _ndcg_at(te, s),
                            "ndcg_at_10_bm25": _ndcg_at(te, bm25),
                            "n_train": int(len(tr)), "n_test": int(len(te))}
    models["relevance"] = rel
    for name, col in OUTCOME_COUNTS.items():
        m = fitted[name]
        y, w = (ote[col] / ote["offers"]).to_numpy(), ote["offers"].to_numpy(float)
        p = m.predict(ote[FEATURES])
        base = float(otr[col].sum() / otr["offers"].sum())
        metrics[name] = {"logloss": _weighted_logloss(y, p, w),
                         "logloss_constant": _weighted_logloss(y, np.full(len(y), base), w),
                         "n_train_offers": int(otr["offers"].sum()),
                         "n_test_offers": int(ote["offers"].sum())}
        models[name] = m
    importance = {n: m.feature_importance() for n, m in models.items()}
    return TrainedModels(models, metrics, importance)


def save_models(trained: TrainedModels, data: ModelData, out_dir: str | Path, *,
                normalization: str = "min-max", extra: dict[str, Any] | None = None) -> Path:
    """Write model texts, the snapshot and manifest.json into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = data.snapshot.save(out)
    entries = {}
    for name, model in trained.models.items():
        files.append(model.save(out / f"{name}.txt"))
        entries[name] = {"file": f"{name}.txt", "params": model.get_params(),
                         "metrics": trained.metrics.get(name, {}),
                         "feature_importance": trained.importance.get(name, {})}
    content = {"feature_names": FEATURES, "models": entries, "normalization": normalization,
               "tokenizer": data.snapshot.tokenizer.to_dict(),
               "training_data_fingerprint": data.fingerprint,
               "statistics_cutoff": str(data.cutoff), **(extra or {})}
    # NaN is not JSON: store it as null so other tools can read the manifest
    content = json.loads(json.dumps(content, default=float).replace("NaN", "null"))
    return write_manifest(out, files, content)
