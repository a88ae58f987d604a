"""Rank candidates with the saved models: the one path the service and offline code share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from seemingly.contract import normalize_query
from seemingly.errors import ModelArtifactError
from seemingly.ranking.features import FEATURE_NAMES, FeatureSnapshot
from seemingly.ranking.features.matrix import Candidates, feature_matrix
from seemingly.ranking.models.artifacts import read_manifest
from seemingly.ranking.models.estimators import OutcomeModel, RelevanceModel
from seemingly.ranking.models.trees import CompiledTrees, compile_booster
from seemingly.ranking.scoring import normalize_scores
from seemingly.text import Tokenizer, TokenizerMismatch

__all__ = ["Ranker", "RankResult", "RankedCandidate"]

Objective = Literal["purchase", "engagement"]


@dataclass(frozen=True)
class RankedCandidate:
    product_id: str
    rank: int
    relevance_score: float
    outcome_score: float
    fused_score: float
    features: dict[str, float | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("product_id", "rank", "relevance_score",
                                              "outcome_score", "fused_score", "features")}


@dataclass(frozen=True)
class RankResult:
    """Ranked candidates, best first: as :class:`RankedCandidate` objects (``items``) or as
    plain columns (:meth:`columns`, what the service serialises)."""

    query: str
    weight: float
    objective: str
    normalization: str
    product_ids: tuple[str, ...] = ()
    relevance_scores: tuple[float, ...] = ()
    outcome_scores: tuple[float, ...] = ()
    fused_scores: tuple[float, ...] = ()
    features: tuple[dict[str, float | None], ...] | None = None

    @cached_property
    def items(self) -> tuple[RankedCandidate, ...]:
        feats = self.features or (None,) * len(self.product_ids)
        return tuple(_item(p, r, rel, out, fu, f) for r, (p, rel, out, fu, f) in enumerate(
            zip(self.product_ids, self.relevance_scores, self.outcome_scores,
                self.fused_scores, feats, strict=True), start=1))

    def columns(self) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...],
                               tuple[float, ...], tuple[dict[str, float | None], ...] | None]:
        """Product ids, relevance, outcome and fused scores (and features, with explain)."""
        return (self.product_ids, self.relevance_scores, self.outcome_scores,
                self.fused_scores, self.features)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "weight": self.weight, "objective": self.objective,
                "normalization": self.normalization, "items": [i.to_dict() for i in self.items]}


def _explain(X: np.ndarray, i: int) -> dict[str, float | None]:
    # NaN (e.g. no user, no price) becomes None so the result is valid JSON
    return {n: (None if v != v else v) for n, v in zip(FEATURE_NAMES, X[i].tolist(),
                                                        strict=True)}


def _item(product_id: str, rank: int, relevance: float, outcome: float, fused: float,
          features: dict[str, float | None] | None) -> RankedCandidate:
    # A frozen dataclass's __init__ sets each field through object.__setattr__, ~10x the
    # cost of filling __dict__ at once; with a hundred items per request that shows.
    item = object.__new__(RankedCandidate)
    item.__dict__.update(product_id=product_id, rank=rank, relevance_score=relevance,
                         outcome_score=outcome, fused_score=fused, features=features)
    return item


def _predict(model: Any, X: np.ndarray, compiled: CompiledTrees | None = None) -> np.ndarray:
    """The model's scores of the feature matrix ``X`` (columns :data:`FEATURE_NAMES`).

    The compiled trees when there are (the same numbers, see :mod:`seemingly.ranking.models.trees`),
    else LightGBM directly on the float64 array: the numbers the model's ``predict`` gives
    for a DataFrame of it (Ranker.load checked the feature names), without the per-call
    DataFrame conversion. One thread: a request is small, and the service runs many.
    """
    if compiled is not None:
        return compiled.predict(X)
    booster = getattr(model, "booster_", None)
    if booster is None:  # not one of ours (e.g. a test double): use its public predict
        return np.asarray(model.predict(pd.DataFrame(X, columns=list(FEATURE_NAMES))), float)
    return np.asarray(booster.predict(X, num_threads=1), dtype=float)


def _compile(model: Any) -> CompiledTrees | None:
    booster = getattr(model, "booster_", None)
    if booster is None:
        return None
    compiled = compile_booster(booster.model_to_string())
    if compiled is not None:  # load (or compile, once per install) the kernel now
        compiled.predict(np.zeros((1, compiled.num_features)))
    return compiled


class Ranker:
    """Relevance + outcome models and the statistics snapshot of one model directory.

    >>> ranker = Ranker.load("model/")  # doctest: +SKIP
    >>> ranker.rank("lego car", [{"product_id": "p1", "title": "Lego car", "category": "toys",
    ...              "price": 20.0}], weight=0.5, objective="purchase").items[0].product_id
    ... # doctest: +SKIP
    'p1'
    """

    def __init__(self, models: Mapping[str, Any], snapshot: FeatureSnapshot,
                 manifest: dict[str, Any]) -> None:
        self.models = dict(models)
        self.snapshot = snapshot
        self.manifest = manifest
        self.normalization = manifest.get("normalization", "min-max")
        self._compiled = {name: _compile(m) for name, m in self.models.items()}

    @classmethod
    def load(cls, directory: str | Path) -> Ranker:
        """Load and verify a directory written by :func:`seemingly.ranking.models.train`."""
        d = Path(directory)
        manifest = read_manifest(d)
        names = manifest.get("feature_names")
        if names != list(FEATURE_NAMES):
            raise ModelArtifactError(
                f"{d}: the models use features {names}, this seemingly computes "
                f"{list(FEATURE_NAMES)}; retrain with this version (`seemingly train`)")
        models: dict[str, Any] = {}
        listed = manifest.get("models")
        if not isinstance(listed, dict):
            raise ModelArtifactError(f"{d}: the manifest's 'models' is not an object naming "
                                     "each model's file; retrain")
        for name, kind in (("relevance", RelevanceModel), ("purchase", OutcomeModel),
                           ("engagement", OutcomeModel)):
            entry = listed.get(name)
            if entry is None:
                continue
            file = entry.get("file") if isinstance(entry, dict) else None
            if not isinstance(file, str) or file not in manifest["files"]:
                # read_manifest vetted and hashed only the files it lists
                raise ModelArtifactError(
                    f"{d}: the {name} model's file {file!r} is not among the manifest's "
                    "files; retrain")
            models[name] = kind.load(d / file, feature_names=names,
                                     sha256=manifest["files"][file])
        if "relevance" not in models:
            raise ModelArtifactError(f"{d}: the manifest lists no relevance model; retrain")
        missing = [f for f in FeatureSnapshot.FILES if f not in manifest["files"]]
        if missing:
            raise ModelArtifactError(f"{d}: the manifest does not list the snapshot files "
                                     f"{missing}; retrain")
        try:
            Tokenizer.from_dict(manifest.get("tokenizer"), where=str(d / "manifest.json"))
            snapshot = FeatureSnapshot.load(d)
        except TokenizerMismatch as exc:
            raise ModelArtifactError(str(exc)) from None
        snapshot.index.warm()  # look-ups and catalog texts now, not in the first requests
        return cls(models, snapshot, manifest)

    def bound_caches(self, max_bytes: int) -> None:
        """Keep the ranking-time caches of analysed texts within about ``max_bytes`` (the
        service's ``--cache-mb``); without it they are bounded by a count of texts, which
        long titles can make gigabytes."""
        self.snapshot.index.bound_caches(max_bytes)

    def rank(self, query: str, candidates: Sequence[Mapping[str, Any]], *, weight: float,
             objective: Objective, user_id: str | None = None, k: int | None = None,
             explain: bool = False) -> RankResult:
        """Order ``candidates`` by ``weight * norm(relevance) + (1 - weight) * norm(outcome)``.

        Parameters
        ----------
        candidates : dicts with product_id and optionally title, category, price, brand,
            product_type (missing ones are taken from the snapshot's catalog).
        weight : relevance weight in [0, 1].
        objective : which outcome model to fuse with.
        user_id : enables the personal-history features.
        k : keep the top k.
        explain : attach each candidate's features.
        """
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight must be in [0, 1]; got {weight}")
        if objective not in self.models or objective == "relevance":
            have = sorted(m for m in self.models if m != "relevance")
            raise ValueError(f"objective={objective!r} has no model here; use one of {have}")
        if not candidates:
            return RankResult(query, weight, objective, self.normalization, ())
        q = normalize_query(query)
        records = candidates if isinstance(candidates, list) else list(candidates)
        cands = Candidates.from_records(q, records, user_id)  # reads, never changes, them
        X = feature_matrix(cands, self.snapshot.index)
        rel = _predict(self.models["relevance"], X, self._compiled["relevance"])
        out = _predict(self.models[objective], X, self._compiled[objective])
        # both score rows in one call: every normalisation works row by row
        nr, no = normalize_scores(np.vstack([rel, out]), np.ones((2, len(records)), bool),
                                  self.normalization)
        fused = weight * nr + (1 - weight) * no
        order = np.argsort(-fused, kind="stable")[: k if k is not None else None]
        pids = cands.product_id
        ids = tuple(pids[i] for i in order.tolist())
        feats = tuple(_explain(X, i) for i in order.tolist()) if explain else None
        return RankResult(q, float(weight), objective, self.normalization, ids,
                          tuple(rel[order].tolist()), tuple(out[order].tolist()),
                          tuple(fused[order].tolist()), feats)
