"""Helpers shared by the test packages (on pytest's pythonpath, see pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

# Hand-made input folders (tests/support/fixtures/dirty: one bad row per contract rule).
FIXTURES = Path(__file__).parent / "fixtures"
