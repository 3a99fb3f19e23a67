"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "database unreachable or no content"}})
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
