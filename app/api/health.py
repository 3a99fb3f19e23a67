"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.schemas import Health, Readiness, errors
from app.judge import client as judge_client
from app.runtime.readiness import readiness

# No parameters, but any URL may carry a query string the edge refuses (app/limits.py).
router = APIRouter(tags=["health"], responses=errors(414, 422))


@router.get("/healthz", response_model=Health, operation_id="get_health")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, operation_id="get_readiness", responses={
    503: {"model": Readiness, "description": "not ready: database unreachable, its schema behind or ahead of the "
                                             "code, no content, or another content version published; see reasons"}})
def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    body = readiness(state.engine, state.store, state.schema_heads)
    body["grader"] = state.grader.describe()
    seen = judge_client.availability(state.judge)
    body["judge"] = {"available": seen["available"], "reason": seen["reason"]}
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
