"""Models: scikit-learn contract, determinism, artifacts with manifest, the Ranker."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seemingly.errors import ModelArtifactError, NotFittedError
from seemingly.ranking.features import FEATURE_NAMES
from seemingly.ranking.models import JointRanker, OutcomeModel, Ranker, RelevanceModel


def _xy(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "category": rng.integers(0, 3, n).astype(float)})
    y = (X["a"] + 0.5 * rng.normal(size=n) > 0).astype(float).to_numpy()
    return X, y


@pytest.mark.parametrize("cls", [RelevanceModel, OutcomeModel, JointRanker])
def test_init_is_keyword_only_and_stores_params(cls) -> None:  # type: ignore[no-untyped-def]
    sig = inspect.signature(cls.__init__)
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD)
               for n, p in sig.parameters.items() if n != "self")
    m = cls(seed=3, n_estimators=5)
    assert m.get_params()["seed"] == 3
    assert not any(k.endswith("_") for k in vars(m))


def test_fit_predict_contract() -> None:
    X, y = _xy()
    m = RelevanceModel(n_estimators=20)
    with pytest.raises(NotFittedError, match="fit"):
        m.predict(X)
    assert m.fit(X, y) is m
    assert m.feature_names_ == ["a", "b", "category"]
    p = m.predict(X)
    assert ((p > 0) & (p < 1)).all()
    assert np.corrcoef(p, y)[0, 1] > 0.5
    with pytest.raises(ValueError, match="missing"):
        m.predict(X[["a", "b"]])
    with pytest.raises(ValueError, match="order"):
        m.predict(X[["b", "a", "category"]])
    again = RelevanceModel(n_estimators=20).fit(X, y).predict(X)
    np.testing.assert_array_equal(p, again)  # seeded + deterministic


def test_save_load_round_trip(tmp_path: Path) -> None:
    X, y = _xy()
    m = OutcomeModel(n_estimators=15).fit(X, y)
    path = m.save(tmp_path / "m.txt")
    back = OutcomeModel.load(path, feature_names=["a", "b", "category"])
    np.testing.assert_allclose(back.predict(X), m.predict(X))
    with pytest.raises(ModelArtifactError, match="manifest says"):
        OutcomeModel.load(path, feature_names=["a", "b"])
    (tmp_path / "bad.txt").write_text("not a model")
    with pytest.raises(ModelArtifactError, match="retrain"):
        OutcomeModel.load(tmp_path / "bad.txt")


def test_outcome_model_rates_with_weights_match_per_offer_rows() -> None:
    # 3 covariate patterns, aggregated (rate, offers) vs one row per offer
    rows = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [0.0, 0.0, 0.0],
                         "category": [0.0, 0.0, 0.0]})
    offers, buys = np.array([40, 60, 50]), np.array([4, 30, 45])
    params: dict = dict(n_estimators=60, learning_rate=0.3, min_child_samples=1, num_leaves=3)
    # each pattern as 5 rows of a fifth of its offers: LightGBM wants >= 3 rows per bin
    rep = rows.loc[rows.index.repeat(5)].reset_index(drop=True)
    agg = OutcomeModel(**params).fit(rep, np.repeat(buys / offers, 5),
                                     sample_weight=np.repeat(offers / 5, 5))
    per = pd.DataFrame(np.repeat(rows.to_numpy(), offers, axis=0), columns=rows.columns)
    y = np.concatenate([np.r_[np.ones(b), np.zeros(n - b)]
                        for b, n in zip(buys, offers, strict=True)])
    one = OutcomeModel(**params).fit(per, y)
    np.testing.assert_allclose(agg.predict(rows), one.predict(rows), atol=1e-6)
    np.testing.assert_allclose(agg.predict(rows), buys / offers, atol=0.05)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        OutcomeModel().fit(rows, np.array([0.5, 2.0, 0.1]))


def test_joint_ranker_sorts_groups() -> None:
    rng = np.random.default_rng(5)
    n_q, c = 60, 4
    X = pd.DataFrame({"a": rng.normal(size=n_q * c), "b": rng.normal(size=n_q * c),
                      "category": np.zeros(n_q * c)})
    y = (X["a"] > 0).astype(float).to_numpy()
    g = np.repeat(np.arange(n_q), c)
    perm = rng.permutation(len(g))
    sorted_m = JointRanker(n_estimators=20).fit(X, y, group=g)
    shuffled = JointRanker(n_estimators=20).fit(X.iloc[perm].reset_index(drop=True), y[perm],
                                                 group=g[perm])
    assert np.corrcoef(sorted_m.predict(X), X["a"])[0, 1] > 0.8
    assert np.corrcoef(shuffled.predict(X), X["a"])[0, 1] > 0.8


# -- end to end on a small simulated world --------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory written by the CLI: ``seemingly train DATA --out DIR``."""
    from typer.testing import CliRunner

    from seemingly.cli import app
    from seemingly.simulate import simulate

    base = tmp_path_factory.mktemp("models")
    simulate(base / "sim", "default", n_offers=15000, seed=11)
    res = CliRunner().invoke(app, ["train", str(base / "sim"), "--out", str(base / "model")])
    assert res.exit_code == 0, res.output
    assert "relevance: auc=" in res.output
    return base / "model"


def test_train_cli_reports_a_missing_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seemingly.cli import app

    res = CliRunner().invoke(app, ["train", str(tmp_path / "nope"), "--out",
                                   str(tmp_path / "m")])
    assert res.exit_code == 1


def test_model_directory_and_manifest(model_dir: Path) -> None:
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["feature_names"] == list(FEATURE_NAMES)
    assert set(manifest["models"]) == {"relevance", "purchase", "engagement"}
    for name in ("relevance.txt", "product_stats.parquet", "text.json"):
        assert len(manifest["files"][name]) == 64
    assert not list(model_dir.glob("*.pkl"))
    rel = manifest["models"]["relevance"]
    assert set(rel["feature_importance"]) == set(FEATURE_NAMES)
    assert rel["metrics"]["auc"] > 0.7


def test_ranker(model_dir: Path) -> None:
    ranker = Ranker.load(model_dir)
    cat = pd.read_parquet(model_dir / "catalog.parquet").head(6)
    cands: list = cat.to_dict("records")
    res = ranker.rank("Building Blocks", cands, weight=0.5, objective="purchase", explain=True)
    assert res.query == "building blocks"
    fused = [i.fused_score for i in res.items]
    assert fused == sorted(fused, reverse=True)
    assert [i.rank for i in res.items] == list(range(1, 7))
    assert set(res.items[0].features or {}) == set(FEATURE_NAMES)
    json.dumps(res.to_dict())  # NaN-free
    top_rel = ranker.rank("building blocks", cands, weight=1.0, objective="engagement")
    rel = [i.relevance_score for i in top_rel.items]
    assert rel == sorted(rel, reverse=True)
    assert len(ranker.rank("x", cands, weight=0.2, objective="purchase", k=2).items) == 2
    only_ids = ranker.rank("building blocks", [{"product_id": c["product_id"]} for c in cands],
                           weight=0.5, objective="purchase")
    assert [i.product_id for i in only_ids.items] == [i.product_id for i in res.items]
    with pytest.raises(ValueError, match="objective"):
        ranker.rank("x", cands, weight=0.5, objective="clicks")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="weight"):
        ranker.rank("x", cands, weight=1.5, objective="purchase")


def test_ranker_refuses_tampered_directory(model_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "m"
    shutil.copytree(model_dir, bad)
    with open(bad / "purchase.txt", "a") as fh:
        fh.write("\n")
    with pytest.raises(ModelArtifactError, match="sha256"):
        Ranker.load(bad)
    shutil.rmtree(bad)
    shutil.copytree(model_dir, bad)
    m = json.loads((bad / "manifest.json").read_text())
    m["feature_names"] = m["feature_names"][:-1]
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ModelArtifactError, match="features"):
        Ranker.load(bad)
    (bad / "text.json").unlink()
    with pytest.raises(ModelArtifactError, match="lacks text.json"):
        Ranker.load(bad)
    with pytest.raises(ModelArtifactError, match="seemingly train"):
        Ranker.load(tmp_path / "nowhere")


def test_manifest_records_the_tokenizer_and_old_formats_are_refused(model_dir: Path,
                                                                    tmp_path: Path) -> None:
    from seemingly.ranking.models.artifacts import FORMAT_VERSION
    from seemingly.text import TOKENIZER_VERSION

    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION == 3
    assert manifest["tokenizer"]["version"] == TOKENIZER_VERSION
    assert manifest["tokenizer"]["language"] == "english"
    assert manifest["tokenizer"]["stemmer"] == "snowball"
    bad = tmp_path / "old"
    shutil.copytree(model_dir, bad)
    old = {**manifest, "format_version": 2}
    old.pop("tokenizer")
    (bad / "manifest.json").write_text(json.dumps(old))
    with pytest.raises(ModelArtifactError, match="format_version 2.*retrain"):
        Ranker.load(bad)
    # the current format with another tokenizer version: refused by name, before any feature
    (bad / "manifest.json").write_text(json.dumps(
        {**manifest, "tokenizer": {**manifest["tokenizer"], "version": 0}}))
    with pytest.raises(ModelArtifactError, match="tokenizer version 0.*retrain"):
        Ranker.load(bad)
