"""``GET /healthz``, ``/livez`` and ``/readyz``: is the process up, is it ready to rank."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from seemingly.serve.schemas import ErrorResponse, HealthResponse, ReadyResponse

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(request: Request) -> HealthResponse:
    # Always 200 while the process serves: a load balancer reads model_loaded for readiness.
    return HealthResponse(
        status="ok", model_loaded=getattr(request.app.state, "model", None) is not None
    )


@router.get("/livez")
async def livez() -> dict[str, Any]:
    """200 while the process answers at all (a liveness probe restarts it otherwise)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorResponse}})
async def readyz(request: Request) -> ReadyResponse:
    """200 once the model is loaded and warmed, 503 before (and while shutting down), so a
    load balancer sends no traffic to a process that would answer it slowly or not at all."""
    if not getattr(request.app.state, "ready", False):
        raise HTTPException(status_code=503, detail="the model is not loaded and warmed yet")
    return ReadyResponse(status="ready")
