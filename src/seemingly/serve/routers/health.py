"""``GET /healthz``: liveness plus whether the model is loaded."""

from __future__ import annotations

from fastapi import APIRouter, Request

from seemingly.serve.schemas import HealthResponse

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(request: Request) -> HealthResponse:
    # Always 200 while the process serves: a load balancer reads model_loaded for readiness.
    return HealthResponse(
        status="ok", model_loaded=getattr(request.app.state, "model", None) is not None
    )
