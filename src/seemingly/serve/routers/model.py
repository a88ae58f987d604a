"""``GET /v1/model``: what a client needs to know about the loaded model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from seemingly.serve.deps import LoadedModel, get_model
from seemingly.serve.schemas import PERSONAL_PREFIX, ErrorResponse, ModelResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["model"])


@router.get("/model", responses={503: {"model": ErrorResponse}})
async def model_info(request: Request,
                     model: Annotated[LoadedModel, Depends(get_model)]) -> ModelResponse:
    manifest = model.ranker.manifest
    models = manifest.get("models")
    personal = bool(getattr(request.app.state, "explain_personal", False))
    return ModelResponse(
        model_dir=model.model_dir.name,
        format_version=int(manifest.get("format_version", 0)),
        seemingly_version=str(manifest.get("seemingly_version", "")),
        objectives=sorted(m for m in models if m != "relevance")
        if isinstance(models, dict) else [],
        normalization=str(manifest.get("normalization", "min-max")),
        feature_names=[str(n) for n in manifest.get("feature_names", [])
                       if personal or not str(n).startswith(PERSONAL_PREFIX)],
    )
