"""Train a small real model directory for the service tests (once per test session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from seemingly.config import AnalysisSettings
from seemingly.ranking.models import train
from seemingly.simulate import simulate
from seemingly.store import ingest, open_store

N_OFFERS = 4000  # enough for every model to have both outcomes; ~10 s on 2 cores


def build_model_dir(root: Path, *, n_offers: int = N_OFFERS, seed: int = 7) -> Path:
    """Simulate the default world into ``root/data`` and train ``root/model`` on it."""
    simulate(root / "data", "default", n_offers=n_offers, seed=seed)
    ingest(root / "data", root / "store.duckdb")
    store = open_store(root / "store.duckdb")
    train(store, AnalysisSettings.model_validate({"seed": seed}), root / "model")
    return root / "model"


def catalog_candidates(root: Path, n: int, *, start: int = 0) -> list[dict[str, Any]]:
    """``n`` products of the simulated catalog as request candidates (nulls left out)."""
    products = pd.read_parquet(root / "data" / "products.parquet").iloc[start : start + n]
    cols = ("product_id", "title", "category", "price", "brand", "product_type")
    return [
        {k: v for k, v in row.items() if k in cols and not pd.isna(v)}
        for row in products.to_dict("records")
    ]


_SHARED: dict[str, Path] = {}


def shared_model_dir() -> Path:
    """One trained model directory per test process (the serve and adversarial tests read it,
    never change it: tests that corrupt a model corrupt a copy)."""
    if "dir" not in _SHARED:
        import atexit
        import shutil
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="seemingly-model-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _SHARED["dir"] = build_model_dir(root)
    return _SHARED["dir"]
