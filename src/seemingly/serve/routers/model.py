"""``GET /v1/model``: the manifest of the loaded model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from seemingly.serve.deps import LoadedModel, get_model
from seemingly.serve.schemas import ErrorResponse, ModelResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["model"])


@router.get("/model", responses={503: {"model": ErrorResponse}})
async def model_info(model: Annotated[LoadedModel, Depends(get_model)]) -> ModelResponse:
    return ModelResponse(model_dir=model.model_dir.name, manifest=dict(model.ranker.manifest))
