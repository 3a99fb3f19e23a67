"""Admin: reload the content live, issue password reset links. Needs MIANJING_ADMIN_TOKEN; without one the
admin API is off."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from app.api.deps import NowDep, SessionDep, bearer_token
from app.api.schemas import ErrorResponse, ReloadLogEntry, ReloadResult, ResetLink, ValidationErrorResponse, errors
from app.auth.reset_links import RESET_PATH, issue_reset_link
from app.auth.rules import LOGIN_NAME_MAX_CHARS
from app.auth.sessions import find_user
from app.db import write_transaction
from app.errors import AppError, NotFound
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


@router.post("/users/{username}/reset-link", status_code=201, response_model=ResetLink,
             operation_id="issue_reset_link", responses=errors(413, e404="no account of that name"))
def reset_link(username: Annotated[str, Path(max_length=LOGIN_NAME_MAX_CHARS)], request: Request, db: SessionDep,
               now: NowDep) -> dict[str, Any]:
    """A one-time link that sets a new password for the account and ends all its sessions, valid for
    MIANJING_RESET_LINK_TTL_MINUTES; it replaces the account's older links. There is no mail server: hand
    the link to its owner yourself."""
    require_admin(request)
    user = find_user(db, username)
    if user is None:
        raise NotFound("no account of that name")
    ttl = timedelta(minutes=request.app.state.settings.reset_link_ttl_minutes)
    with write_transaction(db):
        token, expires = issue_reset_link(db, user, now, ttl)
    return {"url": str(request.base_url).rstrip("/") + RESET_PATH + token, "expires_at": expires.isoformat()}
