"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.api.schemas import Health, Readiness, errors

# No parameters, but any URL may carry a query string the edge refuses (app/limits.py).
router = APIRouter(tags=["health"], responses=errors(414, 422))


@router.get("/healthz", response_model=Health, operation_id="get_health")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, operation_id="get_readiness",
            responses={503: {"model": Readiness, "description": "database unreachable or no content"}})
def readyz(request: Request) -> JSONResponse:
    content = request.app.state.store.current
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db_ok = True
    except Exception:  # noqa: BLE001 - any failure means not ready
        db_ok = False
    body = {"status": "ok" if db_ok and content.questions else "unavailable", "database": db_ok,
            "content_version": content.version, **content.counts()}
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
