"""The purchase-history cells a store keeps from its ingest (seemingly.store.history)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from support.factor_log import JUDGMENTS, OFFERS, ORDERS, PRODUCTS

from seemingly.config import AnalysisSettings
from seemingly.explain.factors import offer_factor_table
from seemingly.explain.hypotheses import fit_hypotheses
from seemingly.explain.hypotheses.patterns import pattern_frame
from seemingly.store import Store, open_store, store_from_frames
from seemingly.store.history import HISTORY_TABLE

KEYS = ["query", "product_id", "query_length", "purchased", "history", "history_brand"]


def _store(tmp: Path, **tables: pd.DataFrame) -> Store:
    given = {"offers": OFFERS, "judgments": JUDGMENTS, "orders": ORDERS, **tables}
    return store_from_frames(tmp / "s.duckdb", products=PRODUCTS,
                             **{k: v for k, v in given.items() if v is not None})


def test_cells_worked_out_by_hand(tmp_path: Path) -> None:
    cells = _store(tmp_path).history_cells()
    assert cells is not None
    got = cells.to_pandas().sort_values(KEYS).reset_index(drop=True)
    long = "lego set for kids age five"
    # o1: u1 buys i1 at its own timestamp (not strictly before: no history, and i1 is u1's
    # first lego); o2: a day later, both; o3: u2's first r1 (order "o3" is o3 itself);
    # o4: nobody bought dove; o5: x has no brand; o6: u2 bought lego (r1) three days before
    want = pd.DataFrame([
        ("lego", "i1", 1, 0, 1, 1, 1, 0),
        ("lego", "i1", 1, 1, 0, 0, 1, 1),
        ("lego", "i2", 1, 0, 0, 0, 1, 0),
        ("lego", "r1", 1, 1, 0, 0, 1, 1),
        ("lego", "x", 1, 0, 0, 0, 1, 0),
        (long, "i1", 6, 0, 0, 1, 1, 0),
    ], columns=[*KEYS, "offers", "engagements"])
    assert got[["offers", "engagements", "purchased", "history"]].dtypes.eq("int64").all()
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_no_offers_no_cells(tmp_path: Path) -> None:
    store = _store(tmp_path, offers=None, orders=None)
    assert not store.has(HISTORY_TABLE) and store.history_cells() is None


def _without_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Store, "history_cells", lambda self: None)


def test_stored_cells_give_the_patterns_of_the_joins(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(tmp_path)
    settings = AnalysisSettings()
    table = offer_factor_table(store, settings, cells=True).table
    # the stored path reads the cells and joins no offer to the purchases
    assert HISTORY_TABLE in str(store.con.compile(table))
    stored = pattern_frame(table, settings.hypotheses)
    _without_cells(monkeypatch)
    table = offer_factor_table(store, settings, cells=True).table
    assert HISTORY_TABLE not in str(store.con.compile(table))
    joined = pattern_frame(table, settings.hypotheses)
    pd.testing.assert_frame_equal(stored, joined)
    assert stored["offers"].sum() == 5  # o5's (lego, x) was never judged


@pytest.fixture(scope="module")
def sim_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seemingly.simulate import simulate
    from seemingly.store import ingest

    tmp = tmp_path_factory.mktemp("history")
    simulate(tmp / "data", "default", n_offers=40_000, seed=3)
    ingest(tmp / "data", tmp / "store.duckdb")
    return tmp / "store.duckdb"


def test_hypotheses_equal_with_and_without_stored_cells(
        sim_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = AnalysisSettings(seed=3)
    with open_store(sim_store) as store:
        assert store.history_cells() is not None
        stored = fit_hypotheses(store, settings).to_dict()
        _without_cells(monkeypatch)
        joined = fit_hypotheses(store, settings).to_dict()
    assert json.dumps(stored, sort_keys=True) == json.dumps(joined, sort_keys=True)


def test_cells_of_another_definition_are_not_read(sim_store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old.duckdb"
    shutil.copy(sim_store, copy)
    con = duckdb.connect(str(copy))
    # a store whose cells were written under another definition (or none at all)
    con.execute("UPDATE seemingly_meta SET value = '\"0\"' WHERE key = ?", [HISTORY_TABLE])
    con.close()
    with open_store(copy) as store:
        assert store.has(HISTORY_TABLE) and store.history_cells() is None
    con = duckdb.connect(str(copy))
    con.execute("DELETE FROM seemingly_meta WHERE key = ?", [HISTORY_TABLE])
    con.close()
    with open_store(copy) as store:
        assert store.history_cells() is None


def test_corrected_labels_keep_the_cells(sim_store: Path) -> None:
    from seemingly.study.corrected import CorrectedStore

    with open_store(sim_store) as store:
        labels = pd.DataFrame({"query": ["q"], "product_id": ["p"], "relevant": [True]})
        assert CorrectedStore(store, labels).history_cells() is not None


def test_validate_derives_no_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from seemingly.store import build, validate

    for name, frame in (("products", PRODUCTS), ("offers", OFFERS), ("orders", ORDERS)):
        frame.to_parquet(tmp_path / f"{name}.parquet")

    def refuse(con: object) -> bool:
        raise AssertionError("validate keeps no store: nothing to derive")

    monkeypatch.setattr(build, "write_history_cells", refuse)
    assert validate(tmp_path).tables["offers"].accepted == 6


def test_cells_come_from_the_accepted_tables_of_a_database_input(tmp_path: Path) -> None:
    from seemingly.store import ingest

    raw = duckdb.connect(str(tmp_path / "raw.duckdb"))
    # raw queries the ingest normalises: the cells must hold the stored ones, not these
    shouted = OFFERS.assign(query=OFFERS["query"].str.upper() + "  ")
    for name, frame in (("products", PRODUCTS), ("offers", shouted), ("orders", ORDERS)):
        raw.register("frame", frame)
        raw.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        raw.unregister("frame")
    raw.close()
    ingest(tmp_path / "raw.duckdb", tmp_path / "store.duckdb")
    with open_store(tmp_path / "store.duckdb") as store:
        cells = store.history_cells()
        assert cells is not None
        got = cells.to_pandas()
    assert set(got["query"]) == {"lego", "lego set for kids age five"}
    assert got["offers"].sum() == 6 and got["history"].sum() == 1
