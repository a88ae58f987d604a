"""One real small study per test session; every report test reads its results (or a variant)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fixtures_report import hostile, run_small_study

from seemingly.results import Results


@pytest.fixture(scope="session")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The study's output folder (results.json, tables/, models/); tests must not modify it."""
    out = tmp_path_factory.mktemp("report_study")
    run_small_study(out)
    return out


@pytest.fixture(scope="session")
def results(study_dir: Path) -> Results:
    return Results.from_json(study_dir)


@pytest.fixture(scope="session")
def hostile_results(results: Results) -> Results:
    return hostile(results)
