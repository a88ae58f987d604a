"""The Python API as a notebook user meets it: one call, then attribute access into the
results; in-memory tables (pandas, Arrow, Polars) go in wherever files would."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import seemingly as s


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return s.run_study(None, tmp_path_factory.mktemp("nb") / "out", n_offers=2_000, seed=5)


def test_notebook_session(study) -> None:  # type: ignore[no-untyped-def]
    r = study
    price = r.hypotheses.price  # attribute access on the keyed block
    assert price is r.results.hypotheses["price"]
    assert set(price) == {"purchase", "engagement"}
    effect = price["purchase"]
    lo, hi = effect.ci
    assert lo <= effect.estimate <= hi
    assert effect.supported == (effect.p_adjusted < 0.05 and effect.direction == "-")
    assert r.overview is r.results.overview
    assert r.data.offers == 2_000
    assert "hypotheses" in dir(r) and "price" in dir(r.hypotheses)
    with pytest.raises(AttributeError, match="blocks are"):
        r.hypotheses_typo  # noqa: B018
    with pytest.raises(AttributeError):
        r.hypotheses.no_such_hypothesis  # noqa: B018


def _tables(folder: Path) -> dict[str, pa.Table]:
    return {name: pq.read_table(folder / f"{name}.parquet") if (folder / f"{name}.parquet")
            .exists() else pq.ParquetDataset(folder / name).read()
            for name in ("products", "offers", "judgments", "orders")}


@pytest.mark.parametrize("kind", ["arrow", "polars"])
def test_in_memory_tables_give_the_same_store_as_files(tmp_path: Path, study, kind: str
                                                       ) -> None:  # type: ignore[no-untyped-def]
    from seemingly.store import open_store, store_from_frames

    tables = _tables(study.out_dir / "data")
    if kind == "polars":
        pl = pytest.importorskip("polars")
        given = {k: pl.from_arrow(v) for k, v in tables.items()}
    else:
        given = dict(tables)
    with store_from_frames(tmp_path / "m.duckdb", **given) as mem, \
            open_store(study.out_dir / "store.duckdb") as files:
        for name in ("products", "offers", "judgments", "orders"):
            a = mem.table(name).to_pandas().drop(columns=[], errors="ignore")
            b = files.table(name).to_pandas()
            key = a.columns[0]
            pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True),
                                          b.sort_values(key).reset_index(drop=True))


def test_run_study_on_frames_matches_the_folder(tmp_path: Path, study) -> None:  # type: ignore[no-untyped-def]
    frames = {k: v.to_pandas() for k, v in _tables(study.out_dir / "data").items()}
    r = s.run_study(frames, tmp_path / "frames", settings=s.AnalysisSettings(seed=5))
    assert r.overview == study.overview
    assert r.hypotheses == study.hypotheses


def test_unknown_frame_type_is_named() -> None:
    from seemingly.store.frames import as_pandas

    with pytest.raises(TypeError, match="products: expected a pandas DataFrame"):
        as_pandas([1, 2], "products")
