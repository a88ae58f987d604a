"""Shared, seeded fixtures. Files go to tmp_path; nothing here downloads anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The workplace's ../shared/data folder (or $SEEMINGLY_SHARED_DATA), None when absent."""
    env = os.environ.get("SEEMINGLY_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is absent (a user's clone does not have it)")
    return path


# Here, not in tests/adversarial/conftest.py: pytest-xdist's controller process collects no
# test, so only the initial conftest's hooks run there.
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many adversarial cases ran (the issue asks for the count)."""
    stats = terminalreporter.stats
    n = sum(
        1
        for key in ("passed", "failed", "xfailed", "xpassed")
        for rep in stats.get(key, [])
        if getattr(rep, "when", "call") == "call" and "tests/adversarial/" in rep.nodeid
    )
    if n:
        terminalreporter.write_line(f"adversarial cases: {n}")
