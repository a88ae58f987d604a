"""``seemingly traffic``: a world's simulated customers query a local service and answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from seemingly.cli.app import app, error_line

__all__ = ["traffic"]


@app.command("traffic")
def traffic(
    service: Annotated[str, typer.Option(help="the running service, on loopback "
                                         "(http://127.0.0.1:PORT)")],
    requests: Annotated[int, typer.Option(min=1, help="requests to send")],
    seed: Annotated[int, typer.Option(help="seed of the customers' draws (same seed, same "
                                      "customers and queries)")],
    weight: Annotated[float, typer.Option(min=0.0, max=1.0, help="relevance weight sent with "
                                          "every request")] = 0.5,
    objective: Annotated[Literal["purchase", "engagement"],
                         typer.Option(help="the outcome model the service fuses")] = "purchase",
    world: Annotated[str, typer.Option(help="world name or file the model's data was "
                                       "simulated from")] = "default",
    world_seed: Annotated[int | None, typer.Option(help="the --seed that data was simulated "
                                                   "with (default: --seed)")] = None,
    world_offers: Annotated[int, typer.Option(min=1, help="the --offers that data was "
                                              "simulated with")] = 200_000,
    data: Annotated[Path | None, typer.Option(help="the simulated data folder instead of "
                                              "--world/--world-seed/--world-offers (its "
                                              "truth.json names them)")] = None,
    rate: Annotated[float | None, typer.Option(min=0.001, help="at most this many requests "
                                               "per second (default: as fast as answered)")
                    ] = None,
    max_seconds: Annotated[float, typer.Option(min=0.001, help="stop after this long, even "
                                               "if requests remain")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Send the world's simulated customers to a local service: each sends its query with the
    query's candidate pool to POST /v1/rank and answers the ranking through POST /v1/feedback
    with the world's true behaviour.

    Example: seemingly traffic --data out/sim --service http://127.0.0.1:8000 --requests 1000
    """
    from seemingly.simulate.traffic import Customers, check_loopback, send_traffic

    try:
        check_loopback(service)  # before building the world: a refusal is instant
        customers = (Customers.from_data(data) if data is not None else
                     Customers.from_world(world, n_offers=world_offers,
                                          world_seed=seed if world_seed is None else world_seed))
        report = send_traffic(customers, service, requests=requests, seed=seed, weight=weight,
                              objective=objective, rate=rate, max_seconds=max_seconds)
    except (ValueError, FileNotFoundError, ConnectionError, TimeoutError, OSError) as exc:
        typer.echo(error_line(exc), err=True)
        raise typer.Exit(code=2) from None
    d = report.to_dict()
    if as_json:
        typer.echo(json.dumps(d, indent=2))
        return
    typer.echo(f"{d['requests']} requests answered ({d['errors']} errors) in {d['seconds']} s, "
               f"stopped by {d['stopped_by']}; {d['candidates_served']} candidates served; "
               f"{d['engagements']} engaged, {d['purchases']} purchased ("
               f"{d['feedback_errors']} feedback not accepted); purchase level@1 "
               f"{d['purchase_at_1']:.4f} (se {d['purchase_at_1_se']:.4f}, true expected "
               f"{d['expected_purchase_at_1']:.4f})")
