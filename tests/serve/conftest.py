"""A real trained model shared by the service tests (trained once per session, ~10 s)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.serve_model import build_model_dir


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(simulation root, model dir)."""
    root = tmp_path_factory.mktemp("serve-real")
    return root, build_model_dir(root)
