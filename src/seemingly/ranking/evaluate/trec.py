"""The study's rankings and judgments as TREC files, for trec_eval, ranx or ir_measures.

``tables/trec/`` holds:

- ``queries.tsv``: ``qid<TAB>query``, the query-id table every other file's qid refers to
  (and that ``seemingly evaluate`` reads TREC runs with);
- ``qrels.relevance.txt``: ``qid 0 product_id grade``, 1 judged relevant, 0 not, for every
  candidate of the evaluated queries;
- ``qrels.purchase.txt``, ``qrels.engagement.txt``: the outcome levels as graded qrels,
  relative to the query's best level, in parts per million (TREC grades are integers):
  ``round(1e6 * level / best level)``; NDCG@1 on them (linear gains) is level@1;
- ``runs/fusion.<objective>.w<weight>.txt``: one run per fusion weight and objective over
  the held-out candidates, ``qid Q0 product_id rank score tag``.

NDCG does not change when a query's grades are scaled, so relative levels lose nothing,
and a tool reading them reproduces level@1 to 1e-6 (the raw levels are in levels.csv).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from seemingly.ranking.scoring import CandidateMatrix, Normalization, normalize_scores

__all__ = ["write_study_trec", "write_query_table", "write_qrels", "write_run",
           "fused_runs", "LEVEL_GRADES"]

#: a query's best outcome level is this integer grade in the level qrels
LEVEL_GRADES = 1_000_000


def write_query_table(queries: Iterable[str], path: Path) -> dict[str, str]:
    """Number the queries (sorted) ``1..n``; write ``qid<TAB>query``; return query -> qid."""
    qids = {q: str(i) for i, q in enumerate(sorted(set(queries)), start=1)}
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(f"{qid}\t{q}\n" for q, qid in qids.items())
    return qids


def write_qrels(frame: pd.DataFrame, grade: str, qids: dict[str, str], path: Path) -> Path:
    """``qid 0 product_id grade`` lines of ``frame`` (query, product_id, integer ``grade``)."""
    f = frame.sort_values(["query", "product_id"])
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(f"{qids[q]} 0 {p} {int(g)}\n"
                      for q, p, g in zip(f["query"], f["product_id"], f[grade], strict=True))
    return path


def write_run(frame: pd.DataFrame, qids: dict[str, str], tag: str, path: Path) -> Path:
    """``qid Q0 product_id rank score tag`` lines, best first per query (score desc, ties by
    product_id ascending: the order the study measured and ``seemingly evaluate`` reads a
    run in; ranx keeps tied rows in file order, which is the same order)."""
    q, q_sorted = pd.factorize(frame["query"], sort=True)
    p, p_sorted = pd.factorize(frame["product_id"], sort=True)
    score = frame["score"].to_numpy()
    # query ascending, then score descending, then product id ascending (string order)
    order = np.lexsort((p, -score.astype(np.float64), q))
    qs = q[order]
    starts = np.flatnonzero(np.r_[True, qs[1:] != qs[:-1]])
    rank = np.arange(len(qs)) - np.repeat(starts, np.diff(np.r_[starts, len(qs)])) + 1
    qid = np.array([qids[x] for x in q_sorted], dtype=object)
    # whole-column string building (numpy object arrays): the lines are what the per-row
    # f-string wrote, score as repr(float(score)), at a fraction of its cost
    lines = (qid[qs] + " Q0 " + np.array([str(x) for x in p_sorted], dtype=object)[p[order]] + " "
             + rank.astype(str).astype(object) + " "
             + np.array([repr(x) for x in score[order].astype(float).tolist()], dtype=object)
             + f" {tag}\n")
    with path.open("w", encoding="utf-8") as fh:
        fh.write("".join(lines.tolist()))
    return path


def fused_runs(held_out: pd.DataFrame, weights: Iterable[float],
               normalization: Normalization) -> dict[float, pd.DataFrame]:
    """The fusion sweep's score of every held-out candidate per weight: the same float32
    arithmetic as :func:`seemingly.ranking.tradeoff.sweep.sweep`, so each run orders the
    candidates as the sweep measured them."""
    cm = CandidateMatrix.from_frame(held_out)
    codes = pd.Index(cm.queries).get_indexer(held_out["query"])
    pos = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    r = normalize_scores(cm.scatter(held_out, "relevance_score"), cm.mask,
                         normalization).astype(np.float32)[codes, pos]
    o = normalize_scores(cm.scatter(held_out, "outcome_score"), cm.mask,
                         normalization).astype(np.float32)[codes, pos]
    base = held_out[["query", "product_id"]]
    return {float(w): base.assign(score=np.float32(w) * r + np.float32(1.0 - w) * o)
            for w in weights}


def write_study_trec(held_out: dict[str, pd.DataFrame], weights: Iterable[float],
                     normalization: Normalization, out_dir: str | Path) -> tuple[Path, ...]:
    """Write ``out_dir`` (``tables/trec``) from each objective's held-out candidates
    (``ObjectiveTradeoff.held_out``); returns the files written."""
    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    queries = pd.concat([f["query"] for f in held_out.values()])
    qids = write_query_table(queries, out / "queries.tsv")
    written = [out / "queries.tsv"]
    rel = pd.concat([f[["query", "product_id", "relevant"]] for f in held_out.values()])
    rel = rel.drop_duplicates(["query", "product_id"])
    written.append(write_qrels(rel.assign(grade=rel["relevant"].astype(int)), "grade", qids,
                               out / "qrels.relevance.txt"))
    ws = list(weights)
    for objective, f in held_out.items():
        best = f.groupby("query")["level"].transform("max").to_numpy(float)
        grade = np.rint(f["level"].to_numpy(float) / best * LEVEL_GRADES).astype(np.int64)
        written.append(write_qrels(f.assign(grade=grade), "grade", qids,
                                   out / f"qrels.{objective}.txt"))
        for w, run in fused_runs(f, ws, normalization).items():
            tag = f"fusion.{objective}.w{w:.2f}"
            written.append(write_run(run, qids, tag, out / "runs" / f"{tag}.txt"))
    return tuple(written)
