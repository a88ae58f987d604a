"""Dependencies handed to the routers: the ranker loaded once at startup."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request

from seemingly.serve.protocol import RankerLike

__all__ = ["LoadedModel", "get_model", "model_of"]


@dataclass(frozen=True)
class LoadedModel:
    """The verified model and where it came from."""

    model_dir: Path
    ranker: RankerLike


def model_of(request: Request) -> LoadedModel:
    """The model the lifespan loaded; 503 while there is none (startup not run or failed)."""
    model: LoadedModel | None = getattr(request.app.state, "model", None)
    if model is None:
        raise HTTPException(status_code=503, detail="no model is loaded yet; retry shortly")
    return model


async def get_model(request: Request) -> LoadedModel:
    """:func:`model_of` as a FastAPI dependency."""
    return model_of(request)
