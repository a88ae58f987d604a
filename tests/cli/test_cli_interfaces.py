"""`--version`, `seemingly config`, the --config loader and shell completion."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seemingly import __version__
from seemingly.cli import app
from seemingly.cli.config_file import load_settings, settings_toml
from seemingly.config import AnalysisSettings
from seemingly.errors import ContractError

runner = CliRunner()


def test_version() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output == f"seemingly {__version__}\n"


def test_completion_is_offered() -> None:
    res = runner.invoke(app, ["--help"])
    assert "--install-completion" in res.output and "--show-completion" in res.output


def test_config_prints_every_default_and_reads_back(tmp_path: Path) -> None:
    res = runner.invoke(app, ["config"])
    assert res.exit_code == 0
    raw = tomllib.loads(res.output)
    defaults = AnalysisSettings().model_dump(mode="json")
    # every setting is there with its default, except the unset optional one (TOML has no null)
    assert raw["seed"] == 7 and raw["hypotheses"]["short_max"] == 2
    assert set(raw) == set(defaults)
    assert set(raw["models"]) == {k for k, v in defaults["models"].items() if v is not None}
    assert "# strategy_min_offers = (unset)" in res.output
    (tmp_path / "s.toml").write_text(res.output)
    assert load_settings(tmp_path / "s.toml") == AnalysisSettings()


def test_config_file_overrides_and_keeps_defaults(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('seed = 3\nlanguage = "spanish"\n[hypotheses]\nshort_max = 3\n'
                 '[models]\nstrategy_min_offers = 2\n')
    s = load_settings(f)
    assert (s.seed, s.language, s.hypotheses.short_max, s.models.strategy_min_offers) == (
        3, "spanish", 3, 2)
    assert s.hypotheses.long_min == 6  # left out: default
    assert settings_toml(s).count("short_max = 3") == 1


@pytest.mark.parametrize(("text", "message"), [
    ("sed = 3\n", r"s\.toml: unknown key 'sed' \(known here: labels, min_offers"),
    ("[hypotheses]\nshort_maxx = 1\n", r"unknown key 'hypotheses\.short_maxx'"),
    ("confidence = 1.5\n", r"s\.toml: confidence: Input should be less than 1"),
    ('seed = "seven"\n', r"seed: Input should be a valid integer"),
    ('language = "klingon"\n', r"language: Input should be 'english'"),
    ("seed = \n", r"s\.toml: not valid TOML"),
    ("[models]\nn_boot = -1\nweight_step = 0\n", r"models\.\w+: .* \(and 1 more\)"),
])
def test_bad_config_is_one_line_naming_file_and_key(tmp_path: Path, text: str,
                                                    message: str) -> None:
    f = tmp_path / "s.toml"
    f.write_text(text)
    with pytest.raises(ContractError, match=message) as info:
        load_settings(f)
    assert "\n" not in str(info.value)


def test_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="seemingly config > FILE"):
        load_settings(tmp_path / "none.toml")
