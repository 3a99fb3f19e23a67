"""Admin: reload the content live. Needs MIANJING_ADMIN_TOKEN; without one the admin API is off."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import SessionDep, bearer_token
from app.api.schemas import ErrorResponse, ReloadLogEntry, ReloadResult, ValidationErrorResponse, errors
from app.errors import AppError
from app.runtime.reload import reload_content, reload_history

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses={
    401: {"model": ErrorResponse, "description": "admin token missing or wrong"},
    403: {"model": ErrorResponse, "description": "the admin API is off"},
    **errors(414, 422),
})


def require_admin(request: Request) -> str:
    expected = request.app.state.settings.admin_token
    if not expected:
        raise AppError("the admin API is off: set MIANJING_ADMIN_TOKEN to enable it", status_code=403)
    given = bearer_token(request) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise AppError("admin token missing or wrong", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return "admin-token"


@router.post("/reload", response_model=ReloadResult, operation_id="reload_content", responses={
    **errors(413),
    422: {"model": ValidationErrorResponse, "description": "the content on disk is invalid; nothing changed"},
})
def reload(request: Request, db: SessionDep) -> JSONResponse:
    actor = require_admin(request)
    ok, body = reload_content(request.app, db, actor)  # a plain def: parsing the banks runs in the thread pool
    return JSONResponse(body, status_code=200 if ok else 422)


@router.get("/reloads", response_model=list[ReloadLogEntry], operation_id="list_reloads")
def reloads(request: Request, db: SessionDep) -> list[dict[str, Any]]:
    require_admin(request)
    return reload_history(db)
