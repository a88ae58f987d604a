"""Dependencies handed to the routers: the ranker loaded once at startup."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request

from seemingly.serve.protocol import RankerLike

if TYPE_CHECKING:
    from seemingly.serve.explore import ExplorePolicy
    from seemingly.serve.impressions import ServeLog

__all__ = ["LoadedModel", "Serving", "get_model", "model_of", "serving_of", "serving_of_app"]


@dataclass(frozen=True)
class LoadedModel:
    """The verified model and where it came from."""

    model_dir: Path
    ranker: RankerLike


@dataclass(frozen=True)
class Serving:
    """How the app serves: the switches given at startup."""

    explain_personal: bool = False
    explore: ExplorePolicy | None = None
    log: ServeLog | None = None


def serving_of(request: Request) -> Serving:
    return serving_of_app(request.app)


def serving_of_app(app: Any) -> Serving:
    serving: Serving | None = getattr(app.state, "serving", None)
    return serving if serving is not None else Serving()


def model_of(request: Request) -> LoadedModel:
    """The model the lifespan loaded; 503 while there is none (startup not run or failed)."""
    model: LoadedModel | None = getattr(request.app.state, "model", None)
    if model is None:
        raise HTTPException(status_code=503, detail="no model is loaded yet; retry shortly")
    return model


async def get_model(request: Request) -> LoadedModel:
    """:func:`model_of` as a FastAPI dependency."""
    return model_of(request)
