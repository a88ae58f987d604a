"""Outputs are owned and atomic (issue 22, findings 1, 6, 13, 14): no command overwrites,
deletes or mixes with what it did not write, follows a symlink, or runs twice at once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from support.adversarial import assert_refused, invoke, tree_hash, write_data

from seemingly.outputs import MARKER, output_lock


def user_file(tmp: Path, name: str = "notes.csv") -> Path:
    p = tmp / name
    p.write_text("my,own\n1,2\n")
    return p


def user_dir(tmp: Path, name: str = "mine") -> Path:
    d = tmp / name
    d.mkdir()
    (d / "thesis.txt").write_text("years of work\n")
    return d


def link_to_dir(tmp: Path) -> Path:
    real = user_dir(tmp, "real")
    link = tmp / "link"
    link.symlink_to(real, target_is_directory=True)
    return link


def link_to_file(tmp: Path) -> Path:
    link = tmp / "store-link.duckdb"
    link.symlink_to(user_file(tmp, "target.duckdb"))
    return link


def owned_by(tmp: Path, writer: str) -> Path:
    d = tmp / f"{writer}-out"
    d.mkdir()
    (d / MARKER).write_text(json.dumps({"writer": writer, "complete": True}))
    (d / "results.json").write_text("{}")
    return d


Argv = Callable[[Path, Path], list[object]]

# (id, argv from (tmp, data), exit code, what the one error line must say)
CASES: list[tuple[str, Argv, int, str]] = [
    # finding 1: --db / -o naming a user's file, an input, or a folder
    ("ingest-db-user-csv", lambda t, d: ["ingest", d, "--db", user_file(t)], 1,
     r"notes\.csv: exists and is not a store"),
    ("ingest-o-user-csv", lambda t, d: ["ingest", d, "-o", user_file(t)], 1,
     r"notes\.csv: exists and is not a store"),
    ("ingest-o-inside-data", lambda t, d: ["ingest", d, "-o", d / "s.duckdb"], 1,
     r"inside the input folder"),
    ("ingest-o-is-data-csv", lambda t, d: ["ingest", d, "-o", d / "products.csv"], 1,
     r"products\.csv: (exists and is not a store|the output is inside)"),
    ("ingest-o-folder", lambda t, d: ["ingest", d, "-o", user_dir(t)], 1, r"mine: is a folder"),
    ("ingest-o-symlink", lambda t, d: ["ingest", d, "-o", link_to_file(t)], 1,
     r"store-link\.duckdb: is a symlink"),
    ("ingest-o-foreign-duckdb", lambda t, d: ["ingest", d, "-o", _foreign_duckdb(t)], 1,
     r"theirs\.duckdb: exists and is not a store"),
    ("ingest-spark-user-folder",
     lambda t, d: ["ingest", d, "-o", user_dir(t), "--backend", "spark"], 1,
     r"mine: holds files seemingly ingest did not write \(thesis\.txt\)"),
    # study --out (findings 1, 13)
    ("study-out-existing-file", lambda t, d: ["study", d, "--out", user_file(t)], 1,
     r"notes\.csv: is a file, not a folder"),
    ("study-out-user-folder", lambda t, d: ["study", d, "--out", user_dir(t)], 1,
     r"mine: holds files seemingly study did not write \(thesis\.txt\)"),
    ("study-out-equals-data", lambda t, d: ["study", d, "--out", d], 1, r"is the input"),
    ("study-out-inside-data", lambda t, d: ["study", d, "-o", d / "out"], 1,
     r"inside the input folder"),
    ("study-out-holds-data", lambda t, d: ["study", d, "-o", t], 1,
     r"output folder holds the input"),
    ("study-out-symlink", lambda t, d: ["study", d, "-o", link_to_dir(t)], 1,
     r"link: is a symlink"),
    ("study-out-other-writer", lambda t, d: ["study", d, "-o", owned_by(t, "simulate")], 1,
     r"written by 'simulate'"),
    ("study-out-user-file-among-outputs", lambda t, d: ["study", d, "-o", _mixed(t)], 1,
     r"did not write \(budget\.xlsx\)"),
    # analyze / train / tradeoff
    ("analyze-out-file", lambda t, d: ["analyze", d, "--out", user_file(t)], 1,
     r"is a file, not a folder"),
    ("analyze-out-inside-data", lambda t, d: ["analyze", d, "-o", d / "res"], 1,
     r"inside the input folder"),
    ("analyze-out-user-folder", lambda t, d: ["analyze", d, "-o", user_dir(t)], 1,
     r"did not write \(thesis\.txt\)"),
    ("train-out-file", lambda t, d: ["train", d, "--out", user_file(t)], 1,
     r"is a file, not a folder"),
    ("train-out-user-folder", lambda t, d: ["train", d, "-o", user_dir(t)], 1,
     r"did not write \(thesis\.txt\)"),
    ("train-out-inside-data", lambda t, d: ["train", d, "-o", d / "model"], 1,
     r"inside the input folder"),
    ("train-out-symlink", lambda t, d: ["train", d, "-o", link_to_dir(t)], 1, r"is a symlink"),
    ("tradeoff-out-file", lambda t, d: ["tradeoff", d, "-o", user_file(t)], 1,
     r"is a file, not a folder"),
    ("tradeoff-out-equals-data", lambda t, d: ["tradeoff", d, "-o", d], 1, r"is the input"),
    # simulate / convert / report
    ("simulate-out-file", lambda t, d: ["simulate", user_file(t), "--offers", 100], 2,
     r"is a file, not a folder"),
    ("simulate-out-user-folder", lambda t, d: ["simulate", "-o", user_dir(t), "--offers", 100],
     2, r"did not write \(thesis\.txt\)"),
    ("simulate-out-data-folder", lambda t, d: ["simulate", "-o", d, "--offers", 100], 2,
     r"did not write \(judgments\.csv, offers\.csv, products\.csv\)"),
    ("simulate-out-symlink", lambda t, d: ["simulate", link_to_dir(t), "--offers", 100], 2,
     r"is a symlink"),
    ("convert-out-equals-source", lambda t, d: ["convert", "crowdflower", _cf(t), _cf(t)], 2,
     r"is the input"),
    ("convert-force-user-folder",
     lambda t, d: ["convert", "crowdflower", _cf(t), user_dir(t), "--force"], 2,
     r"did not write \(thesis\.txt\)"),
    ("convert-force-data-folder",
     lambda t, d: ["convert", "crowdflower", _cf(t), "-o", d, "--force"], 2,
     r"did not write"),
    ("convert-out-file", lambda t, d: ["convert", "crowdflower", _cf(t), user_file(t)], 2,
     r"is a file, not a folder"),
    ("convert-earlier-without-force",
     lambda t, d: ["convert", "crowdflower", _cf(t), "-o", owned_by(t, "convert")], 2,
     r"earlier convert output; pass --force"),
    ("report-o-user-file", lambda t, d: ["report", _results(t), "-o", user_file(t, "r.html")],
     2, r"r\.html: exists and is not a report"),
    ("report-o-folder", lambda t, d: ["report", _results(t), "-o", user_dir(t)], 2,
     r"is a folder"),
    ("report-o-symlink", lambda t, d: ["report", _results(t), "-o", link_to_file(t)], 2,
     r"is a symlink"),
]


def _foreign_duckdb(tmp: Path) -> Path:
    path = tmp / "theirs.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE ledger AS SELECT 1 AS amount")
    con.close()
    return path


def _mixed(tmp: Path) -> Path:
    """An older study folder (no marker) into which the user dropped a file of their own."""
    d = tmp / "oldstudy"
    d.mkdir()
    (d / "results.json").write_text("{}")
    (d / "budget.xlsx").write_bytes(b"PK\x03\x04")
    return d


def _cf(tmp: Path) -> Path:
    d = tmp / "cf"
    if not d.exists():
        d.mkdir()
        (d / "train.csv").write_text(
            "id,query,product_title,product_description,median_relevance,relevance_variance\n"
            "1,red shoe,Red Shoe,,4,0\n")
    return d


def _results(tmp: Path) -> Path:
    d = tmp / "res"
    d.mkdir(exist_ok=True)
    from seemingly.results import Results

    Results().write(d)
    return d


@pytest.mark.parametrize(("argv", "code", "pattern"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_refused_and_nothing_changed(tmp_path: Path, argv: Argv, code: int,
                                     pattern: str) -> None:
    data = write_data(tmp_path / "mydata")
    args = argv(tmp_path, data)  # builds the targets first, so they are in the "before" hash
    before = tree_hash(tmp_path)
    assert_refused(invoke(args), code, pattern)
    assert tree_hash(tmp_path) == before


def test_finding1_ingest_db_pointed_at_a_csv_keeps_the_csv(tmp_path: Path) -> None:
    """Finding 1, the exact report: `ingest DATA --db FILE` replaced a user's CSV."""
    data = write_data(tmp_path / "mydata")
    csv = user_file(tmp_path)
    assert_refused(invoke(["ingest", data, "--db", csv]), 1, "not a store")
    assert csv.read_text() == "my,own\n1,2\n"


def test_rerun_replaces_own_store_and_output(tmp_path: Path) -> None:
    """The other side of ownership: a store or folder seemingly wrote is replaced."""
    data = write_data(tmp_path / "mydata")
    store = tmp_path / "s.duckdb"
    for _ in range(2):
        r = invoke(["ingest", data, "-o", store, "--json"])
        assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["tables"]["products"]["accepted"] == 2


def test_concurrent_run_into_the_same_output_fails_fast(tmp_path: Path) -> None:
    """Finding 6: a second run into an output being written stops at once, naming it."""
    data = write_data(tmp_path / "mydata")
    out = tmp_path / "out"
    before = tree_hash(tmp_path)
    with output_lock(out):
        t0 = time.perf_counter()
        assert_refused(invoke(["study", data, "-o", out]), 1,
                       r"another seemingly run \(pid \d+\) is writing it")
        assert time.perf_counter() - t0 < 10
    assert tree_hash(tmp_path) == before


def test_concurrent_ingest_from_another_process(tmp_path: Path) -> None:
    """The lock holds across processes (flock), and it is released when the holder exits."""
    data = write_data(tmp_path / "mydata")
    store = tmp_path / "s.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from seemingly.outputs import output_lock\n"
         f"with output_lock({str(store)!r}):\n"
         "    print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert_refused(invoke(["ingest", data, "-o", store]), 1, r"another seemingly run")
        assert not store.exists()
    finally:
        holder.kill()  # kill -9: the kernel drops the flock with the process
        holder.wait()
    assert invoke(["ingest", data, "-o", store]).exit_code == 0


def test_failed_rerun_leaves_the_previous_output_whole(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 6: a run that fails half-way leaves the earlier output untouched (no new
    results.json beside an old report), and the message says where the partial one is."""
    data = write_data(tmp_path / "mydata")
    out = tmp_path / "out"
    from seemingly.results import Results

    with pytest.MonkeyPatch.context() as m:  # a cheap "earlier run": ingest + results only
        m.setattr("seemingly.study.analysis.analyze", lambda store, settings: Results())
        assert invoke(["analyze", data, "-o", out]).exit_code == 0
    before = tree_hash(out)

    def boom(store: object, settings: object) -> None:
        (Path(str(store.path)).parent / "half.json").write_text("{")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("seemingly.study.analysis.analyze", boom)
    line = assert_refused(invoke(["analyze", data, "-o", out]), 1, r"No space left on device")
    assert "is unchanged; the partial output is in" in line
    assert tree_hash(out) == before
    partial = Path(line.rsplit("partial output is in ", 1)[1].rstrip(")"))
    assert (partial / "half.json").exists() and json.loads((partial / MARKER).read_text())[
        "complete"] is False


def test_symlink_inside_out_is_not_followed(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 14: a symlink planted inside an owned output is replaced, its target kept."""
    data = write_data(tmp_path / "mydata")
    out = tmp_path / "out"
    from seemingly.results import Results

    monkeypatch.setattr("seemingly.study.analysis.analyze", lambda store, settings: Results())
    assert invoke(["analyze", data, "-o", out]).exit_code == 0
    victim = user_file(tmp_path, "victim.txt")
    (out / "results.json").unlink()
    (out / "results.json").symlink_to(victim)
    assert invoke(["analyze", data, "-o", out]).exit_code == 0
    assert victim.read_text() == "my,own\n1,2\n"
    assert not (out / "results.json").is_symlink()


def test_truncated_simulate_output_does_not_validate(tmp_path: Path) -> None:
    """Finding 14: a simulate folder missing a file it wrote, or left by a killed run,
    is refused by validate instead of passing with fewer rows."""
    r = invoke(["simulate", tmp_path / "sim", "--offers", 300, "--seed", 1])
    assert r.exit_code == 0, r.output
    assert invoke(["validate", tmp_path / "sim"]).exit_code == 0
    (tmp_path / "sim" / "judgments.parquet").unlink()
    before = tree_hash(tmp_path)
    assert_refused(invoke(["validate", tmp_path / "sim"]), 1,
                   r"judgments\.parquet: missing; .* truncated copy of a seemingly simulate")
    marker = json.loads((tmp_path / "sim" / MARKER).read_text())
    (tmp_path / "sim" / MARKER).write_text(json.dumps({**marker, "complete": False}))
    assert_refused(invoke(["validate", tmp_path / "sim"]), 1, r"incomplete output of seemingly")
    assert tree_hash(tmp_path) != before  # (only the marker edited above)


def test_swap_killed_between_its_renames_is_recovered(tmp_path: Path) -> None:
    """A run killed after moving the old output aside, before the new one took its place,
    leaves `.NAME.old-PID`: the next run puts it back (and then replaces it as usual)."""
    from seemingly.outputs import output_dir

    target = tmp_path / "out"
    with output_dir(target, writer="test") as tmp:
        (tmp / "a.txt").write_text("old")
    target.rename(tmp_path / ".out.old-999999")  # the state a kill there leaves
    with pytest.raises(RuntimeError, match="stop"), output_dir(target, writer="test"):
        assert (target / "a.txt").read_text() == "old"  # recovered before the run writes
        raise RuntimeError("stop")
    assert (target / "a.txt").read_text() == "old"
    assert not (tmp_path / ".out.old-999999").exists()


def test_rerun_reuses_the_earlier_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The swap keeps what made reruns cheap: an unchanged input's store is carried into the
    new output (hard link) and reused, not ingested again."""
    data = write_data(tmp_path / "mydata")
    out = tmp_path / "out"
    from seemingly.results import Results

    monkeypatch.setattr("seemingly.study.analysis.analyze", lambda store, settings: Results())
    assert invoke(["analyze", data, "-o", out]).exit_code == 0
    first = (out / "store.duckdb").stat().st_ino
    assert invoke(["analyze", data, "-o", out]).exit_code == 0
    assert (out / "store.duckdb").stat().st_ino == first
    (data / "products.csv").write_text((data / "products.csv").read_text() + "p3,t,c,1,b\n")
    assert invoke(["analyze", data, "-o", out]).exit_code == 0
    assert (out / "store.duckdb").stat().st_ino != first  # a changed input is ingested again
