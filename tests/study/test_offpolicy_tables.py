"""tables/off_policy.csv: one row per (objective, ranker, estimator), ranked-list logs only."""

from __future__ import annotations

import csv
from pathlib import Path

from seemingly.config import AnalysisSettings
from seemingly.results import OffPolicyBlock, Results
from seemingly.study.tables import write_tables


class _NoTables:
    def has(self, name: str) -> bool:
        return False


def test_off_policy_csv(tmp_path: Path) -> None:
    block = OffPolicyBlock.model_validate({"purchase": {
        "fusion:0.5": {"ips": {"value": 0.25, "ci": [0.2, 0.3], "ess": 812.5},
                       "dr": {"value": 0.24, "ci": [0.21, None], "ess": 812.5}}}})
    paths = write_tables(_NoTables(), AnalysisSettings(),  # type: ignore[arg-type]
                         Results(off_policy=block), tmp_path)
    assert [p.name for p in paths] == ["off_policy.csv"]
    with (tmp_path / "off_policy.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"objective": "purchase", "ranker": "fusion:0.5", "estimator": "ips", "value": "0.25",
         "ci_low": "0.2", "ci_high": "0.3", "ess": "812.5"},
        {"objective": "purchase", "ranker": "fusion:0.5", "estimator": "dr", "value": "0.24",
         "ci_low": "0.21", "ci_high": "", "ess": "812.5"}]
    assert write_tables(_NoTables(), AnalysisSettings(),  # type: ignore[arg-type]
                        Results(), tmp_path / "voice") == ()
