"""One CLI grammar: --config FILE on every command that takes analysis settings (the command
line overrides the file), the data's language from dataset.json, choices and an example in
every command's --help."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import FIXTURES
from typer.testing import CliRunner

from seemingly.cli import app
from seemingly.contract import DATASET_FILE

runner = CliRunner()


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def _dirty(tmp_path: Path, dataset: dict | None = None) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "dirty", data)
    if dataset is not None:
        (data / DATASET_FILE).write_text(json.dumps(dataset))
    return data


def _settings(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())["run"]["settings"]


@pytest.fixture
def analyzed(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The settings `analyze` ran with (its results.json has no run block to read them from)."""
    import seemingly.study.analysis as analysis

    seen: list[dict] = []
    real = analysis.analyze

    def spy(store, settings):  # type: ignore[no-untyped-def]
        seen.append(settings.model_dump(mode="json"))
        return real(store, settings)

    monkeypatch.setattr(analysis, "analyze", spy)
    return seen


def test_analyze_takes_config_and_options_override_it(tmp_path: Path,
                                                       analyzed: list[dict]) -> None:
    cfg = _config(tmp_path, 'min_offers = 4\nseed = 11\nlanguage = "german"\n'
                  '[labels]\nrelevant_at = 2.0\n[hypotheses]\nshort_max = 3\n')
    out = tmp_path / "out"
    res = runner.invoke(app, ["analyze", str(_dirty(tmp_path)), "-o", str(out),
                              "--config", str(cfg), "--min-offers", "2"])
    assert res.exit_code == 0, res.output
    s = analyzed[-1]
    # the option beats the file; the file beats the defaults; the rest stay defaults
    assert (s["min_offers"], s["seed"], s["language"]) == (2, 11, "german")
    assert (s["labels"]["relevant_at"], s["hypotheses"]["short_max"]) == (2.0, 3)
    assert s["hypotheses"]["long_min"] == 6 and s["labels"]["aggregation"] == "majority"


def test_analyze_reads_language_from_dataset_json_unless_settings_set_one(
        tmp_path: Path, analyzed: list[dict]) -> None:
    data = _dirty(tmp_path, {"language": "spanish", "labels": {"relevant_at": 2}})
    res = runner.invoke(app, ["analyze", str(data), "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    s = analyzed[-1]
    assert s["language"] == "spanish" and s["labels"]["relevant_at"] == 2.0
    # a file's language (and label scale) wins over dataset.json's
    cfg = _config(tmp_path, 'language = "english"\n[labels]\nrelevant_at = 1.0\n')
    res = runner.invoke(app, ["analyze", str(data), "-o", str(tmp_path / "b"),
                              "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    s = analyzed[-1]
    assert s["language"] == "english" and s["labels"]["relevant_at"] == 1.0


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seemingly.simulate import simulate

    data = tmp_path_factory.mktemp("sim") / "data"
    simulate(data, "default", n_offers=3_000, seed=4)
    return data


def _with_language(sim: Path, tmp_path: Path, language: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(sim, data)
    (data / DATASET_FILE).write_text(json.dumps({"language": language}))
    return data


def test_train_reads_language_and_config(sim: Path, tmp_path: Path) -> None:
    data = _with_language(sim, tmp_path, "spanish")
    res = runner.invoke(app, ["train", str(data), "-o", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["tokenizer"]["language"] == "spanish"
    assert manifest["normalization"] == "min-max"
    # the file's language wins over dataset.json, the option's normalization over the file's
    cfg = _config(tmp_path, 'language = "english"\n[models]\nnormalization = "rank"\n')
    res = runner.invoke(app, ["train", str(data), "-o", str(tmp_path / "m2"), "--config",
                              str(cfg), "--normalization", "z-score"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "m2" / "manifest.json").read_text())
    assert manifest["tokenizer"]["language"] == "english"
    assert manifest["normalization"] == "z-score"


def test_study_takes_config_and_options_override_it(sim: Path, tmp_path: Path) -> None:
    # dataset.json's language fills in (the file sets none); its label scale does not, as the
    # file sets relevant_at (to the default value: set is set)
    data = _with_language(sim, tmp_path, "spanish")
    (data / DATASET_FILE).write_text(json.dumps({"language": "spanish",
                                                 "labels": {"relevant_at": 2}}))
    cfg = _config(tmp_path, 'seed = 9\nmin_offers = 4\n[labels]\naggregation = "mace"\n'
                  'relevant_at = 1.0\n[hypotheses]\nshort_max = 3\n[models]\nn_estimators = 20\n')
    out = tmp_path / "out"
    res = runner.invoke(app, ["study", str(data), "-o", str(out), "--config", str(cfg),
                              "--min-offers", "3", "--label-aggregation", "majority"])
    assert res.exit_code == 0, res.output
    s = _settings(out)
    assert (s["seed"], s["min_offers"], s["labels"]["aggregation"]) == (9, 3, "majority")
    assert (s["hypotheses"]["short_max"], s["models"]["n_estimators"]) == (3, 20)
    assert s["models"]["joint"] is False and s["language"] == "spanish"
    assert s["labels"]["relevant_at"] == 1.0


COMMANDS = {
    "study": lambda d, o: ["study", d, "-o", o],
    "analyze": lambda d, o: ["analyze", d, "-o", o],
    "train": lambda d, o: ["train", d, "-o", o],
    "tradeoff": lambda d, o: ["tradeoff", d, "-o", o],
    "evaluate": lambda d, o: ["evaluate", str(Path(d) / "run.csv"), "--data", d, "-o", o],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_config_is_one_line_naming_file_and_key_and_writes_nothing(
        tmp_path: Path, command: str) -> None:
    cfg = _config(tmp_path, "[hypotheses]\nshort_maxx = 1\n")
    out = tmp_path / "out"
    res = runner.invoke(app, [*COMMANDS[command](str(_dirty(tmp_path)), str(out)),
                              "--config", str(cfg)])
    assert res.exit_code == 1, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output
    assert f"{cfg}: unknown key 'hypotheses.short_maxx'" in lines[0]
    assert not out.exists()


def test_evaluate_takes_config_or_study_not_both(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "seed = 3\n")
    res = runner.invoke(app, ["evaluate", "run.csv", "--data", "d", "-o", str(tmp_path / "o"),
                              "--study", "s", "--config", str(cfg)])
    assert res.exit_code == 2 and "not both" in res.output


def test_help_lists_the_choices() -> None:
    from seemingly.simulate import WORLDS

    text = " ".join(runner.invoke(app, ["study", "--help"], env={"COLUMNS": "220"}).output.split())
    assert "<majority|dawid_skene|mace>" in text
    assert "<csv|parquet>" in text
    assert "<min-max|z-score|rank>" in text
    assert f"<{'|'.join(sorted(WORLDS))}>" in text
    for command, choice in (("analyze", "<majority|dawid_skene|mace>"),
                            ("ingest", "<duckdb|spark>"),
                            ("train", "<min-max|z-score|rank>"),
                            ("simulate", "<confounded|default|null")):
        text = " ".join(runner.invoke(app, [command, "--help"], env={"COLUMNS": "220"})
                        .output.split())
        assert choice in text, command
    # and a value outside them is refused by the parser, naming it
    res = runner.invoke(app, ["study", "--label-aggregation", "vote"])
    assert res.exit_code == 2 and "vote" in res.output


def _commands() -> list[tuple[str, object]]:
    import typer.main

    def walk(cmd: object, path: list[str]) -> list[tuple[str, object]]:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            return [(" ".join(path), cmd)]
        return [c for name, sub in subs.items() for c in walk(sub, [*path, name])]

    return walk(typer.main.get_command(app), [])


def test_every_command_help_has_an_example() -> None:
    commands = _commands()
    assert len(commands) >= 13  # the walk found the commands, not an empty group
    for name, _ in commands:
        res = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "220"})
        assert res.exit_code == 0, name
        example = [line for line in res.output.splitlines() if "Example: seemingly " in line]
        assert example, f"`seemingly {name} --help` has no example"
        assert f"seemingly {name}" in example[0], name
