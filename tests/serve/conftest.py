"""A real trained model shared by the service tests (trained once per process, ~10 s)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.serve_model import shared_model_dir


@pytest.fixture(scope="session")
def trained() -> tuple[Path, Path]:
    """(simulation root, model dir); read-only: copy it to change it."""
    model = shared_model_dir()
    return model.parent, model
