"""``POST /v1/feedback``: what a customer did with a served product, for the feedback log."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from seemingly.serve.deps import serving_of
from seemingly.serve.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["feedback"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 413, 422, 503)
}


@router.post("/feedback", status_code=202, response_model=FeedbackResponse, responses=_ERRORS)
async def feedback(body: FeedbackRequest, request: Request) -> JSONResponse:
    """Append (request_id, product_id, engaged, purchased) to the feedback log.

    202: queued; the writer thread puts it in ``LOG_DIR/feedback/`` within the rotation
    interval (and at once on a graceful stop). 404 when the service logs nothing
    (started without ``--log-dir``); 503 when the log's queue is full (retry later).
    """
    log = serving_of(request).log
    if log is None:
        raise HTTPException(status_code=404, detail="this service keeps no log (it was "
                            "started without --log-dir), so it takes no feedback")
    if not log.answered(request_id=body.request_id, product_id=body.product_id,
                        engaged=body.engaged, purchased=body.purchased, timestamp=time.time()):
        raise HTTPException(status_code=503, detail="the feedback log's queue is full; retry "
                            "shortly", headers={"Retry-After": "1"})
    return JSONResponse(status_code=202, content={"accepted": True})
