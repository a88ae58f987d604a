"""``seemingly simulate``: write a simulated world's contract tables and truth.json."""

from __future__ import annotations

from pathlib import Path

import typer

from seemingly.cli.app import World, app, error_line, one_output


@app.command("simulate")
def simulate_cmd(
    out_dir: Path | None = typer.Argument(
        None, help="folder to write the tables and truth.json into (or -o/--out)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="same as OUT_DIR"),
    offers: int = typer.Option(200_000, "--offers", min=1, help="number of offer rows"),
    seed: int = typer.Option(7, "--seed", help="random seed; same seed and size, same tables"),
    world: World = typer.Option(
        "default",
        "--world",
        help="named world (serp: a ranked list of 10 results; see seemingly.simulate.WORLDS)",
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        exists=True,
        dir_okay=False,
        help="TOML or YAML world file (instead of --world)",
    ),
    catalog: Path | None = typer.Option(
        None,
        "--catalog",
        exists=True,
        file_okay=False,
        help="contract folder with products (+ orders) for --world retail",
    ),
) -> None:
    """Simulate a voice-shopping marketplace with planted effects.

    Example: seemingly simulate -o data/sim --world confounded --offers 50000 --seed 3
    """
    from seemingly.simulate import load_world, simulate

    target = one_output(out_dir, out)
    try:
        cfg = load_world(config if config is not None else world)
        result = simulate(target, cfg, n_offers=offers, seed=seed, catalog_path=catalog)
    except ValueError as exc:  # a bad world file, or an output that is not ours
        typer.echo(error_line(exc), err=True)
        raise typer.Exit(code=2) from None
    c = result.counts
    typer.echo(
        f"world {cfg.name!r} (seed {seed}): {c['offers']} offers, {c['products']} products, "
        f"{c['queries']} queries, {c['users']} users, {c['judgments']} judgments, "
        f"{c['orders']} order rows in {result.seconds:.1f} s -> {result.out_dir}"
    )
