"""``seemingly train DATA --out MODEL_DIR`` and ``seemingly tradeoff DATA --out DIR``."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from seemingly.cli._settings import command_settings, config_option, with_dataset_language
from seemingly.cli.app import Normalization, app, error_line

_DATA_HELP = "folder of contract tables (products.*, offers.*, ...) or a DuckDB store file"


def _settings(config: Path | None, data: Path, *, seed: int | None = None,  # type: ignore[no-untyped-def]
              min_offers: int | None = None, eval_folds: int | None = None,
              joint: bool | None = None, normalization: str | None = None):
    """The defaults, then --config FILE, then the options given; the language from
    DATA/dataset.json unless the file set one."""
    settings = command_settings(config, {
        "seed": seed, "min_offers": min_offers,
        "models": {"eval_folds": eval_folds, "joint": joint, "normalization": normalization}})
    return with_dataset_language(settings, data)


@app.command("train")
def train_cmd(
    data: Path = typer.Argument(..., help=_DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="model directory to write (a new model "
                             "is written beside the old one and swapped in when complete)"),
    work: Path | None = typer.Option(None, "--work", help="folder for store.duckdb "
                                     "(default: OUT/../<OUT name>-work)"),
    config: Path | None = config_option(),
    seed: int | None = typer.Option(None, "--seed", help="seed for the split and the models "
                                    "[default: 7]"),
    normalization: Normalization | None = typer.Option(
        None, "--normalization", help="how the ranker's scores are put on one scale before "
        "fusion, recorded in the model (default min-max)"),
) -> None:
    """Train the relevance, purchase and engagement models on DATA and write OUT.

    Example: seemingly train data/esci -o models/esci --config study.toml
    """
    from seemingly.errors import ContractError, OutputError
    from seemingly.outputs import output_dir
    from seemingly.ranking.models import train
    from seemingly.store import open_data

    start = time.perf_counter()
    try:
        settings = _settings(config, data, seed=seed, normalization=normalization)
        # The new model is written beside the old and swapped in whole: a failed or killed
        # run leaves the old model loadable. A model folder lists its files in its own
        # manifest, so it gets no marker. Refused before any work (or store) is written.
        with output_dir(out, writer="train", inputs=(data,), marker=False,
                        own_names=_model_files(out)) as tmp, \
                open_data(data, work or out.parent / f"{out.name}-work") as store:
            trained = train(store, settings, tmp,
                            window_split=settings.models.window_split,
                            test_fraction=settings.models.test_fraction,
                            normalization=settings.models.normalization,
                            params={"n_estimators": settings.models.n_estimators,
                                    "learning_rate": settings.models.learning_rate})
    except (ContractError, OutputError, FileNotFoundError, ValueError) as exc:
        typer.echo(error_line(exc), err=True)
        raise typer.Exit(code=1) from None
    for name, m in trained.metrics.items():
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in m.items())
        typer.echo(f"{name}: {shown}")
    typer.echo(f"wrote {out} in {time.perf_counter() - start:.1f} s")


def _model_files(out: Path) -> tuple[str, ...]:
    """Names in an existing model folder that a model writes: with its manifest, the model
    and JSON files; anything else there (a user's file) makes the folder not ours."""
    if out.is_symlink() or not (out / "manifest.json").is_file():
        return ()
    return tuple(p.name for p in out.iterdir() if p.is_file() and p.suffix in (".txt", ".json"))


@app.command("tradeoff")
def tradeoff_cmd(
    data: Path = typer.Argument(..., help=_DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o",
                             help="folder for tradeoff.json (and store.duckdb)"),
    eval_folds: int | None = typer.Option(None, "--eval-folds", min=1,
                                          help="K-fold over queries (1 = one split)"),
    min_offers: int | None = typer.Option(None, "--min-offers", min=1),
    seed: int | None = typer.Option(None, "--seed"),
    joint: bool | None = typer.Option(None, "--joint/--no-joint",
                                      help="also fit and compare the joint model (default no)"),
    config: Path | None = config_option(),
) -> None:
    """Fusion sweep and factor ablation (crude vs factor-aware) on held-out queries, and with
    --joint the joint model; writes OUT/tradeoff.json with the strategies, tradeoff and
    models blocks.

    Example: seemingly tradeoff data/esci -o out/esci-tradeoff --eval-folds 5
    """
    from seemingly.errors import ContractError, OutputError
    from seemingly.explain.strategies import strategies_from_store
    from seemingly.outputs import output_dir
    from seemingly.ranking.tradeoff import run_tradeoff
    from seemingly.results import Results
    from seemingly.store import open_data

    start = time.perf_counter()
    try:
        settings = _settings(config, data, seed=seed, min_offers=min_offers,
                             eval_folds=eval_folds, joint=joint)
        with output_dir(out, writer="tradeoff", inputs=(data,), keep=("store.duckdb",),
                        own_names=("tradeoff.json", "store.duckdb")) as tmp:
            store = open_data(data, tmp)
            with store:
                strategies = strategies_from_store(store, settings)
                result, trained = run_tradeoff(store, settings)
            tradeoff = result.to_block()
            blocks = Results(strategies=strategies, tradeoff=tradeoff,
                             models=trained.to_block())
            (tmp / "tradeoff.json").write_text(blocks.to_json())
    except (ContractError, OutputError, FileNotFoundError, ValueError) as exc:
        typer.echo(error_line(exc), err=True)
        raise typer.Exit(code=1) from None
    for objective, block in (("purchase", tradeoff.purchase), ("engagement", tradeoff.engagement)):
        if tradeoff.ablation is not None:
            for variant, v in getattr(tradeoff.ablation, objective).items():
                if variant == "full":
                    continue
                lo, hi = v.difference_ci
                typer.echo(f"{objective}: factor-aware minus {variant} hypervolume "
                           f"{_f(v.difference, '+.4f')} [{_f(lo, '+.4f')}, {_f(hi, '+.4f')}]")
        d = block.dominance
        if d is None:
            continue
        lo, hi = d.difference_ci
        typer.echo(f"{objective}: hypervolume fusion {_f(d.fusion_hypervolume, '.4f')}, joint "
                   f"{_f(d.joint_hypervolume, '.4f')}, difference {_f(d.difference, '+.4f')} "
                   f"[{_f(lo, '+.4f')}, {_f(hi, '+.4f')}]; fusion points dominated "
                   f"{_f(d.share_fusion_points_dominated, '.0%')}")
    typer.echo(f"wrote {out / 'tradeoff.json'} in {time.perf_counter() - start:.1f} s")


def _f(x: float | None, spec: str) -> str:
    """``x`` formatted, or "n/a" where results.json holds null (a NaN statistic)."""
    return "n/a" if x is None else format(x, spec)
