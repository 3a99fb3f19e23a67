"""Admin: reload the content live. Needs MIANJING_ADMIN_TOKEN; without one the admin API is off."""

from __future__ import annotations

import dataclasses
import hmac
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import select

from app.api.deps import SessionDep, bearer_token
from app.api.schemas import ErrorResponse, ReloadLogEntry, ReloadResult, ValidationErrorResponse, errors
from app.content.loader import Content, ContentInvalid
from app.content.sync import publish_version
from app.errors import AppError
from app.models import ReloadLog

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses={
    401: {"model": ErrorResponse, "description": "admin token missing or wrong"},
    403: {"model": ErrorResponse, "description": "the admin API is off"},
    **errors(422),
})


def require_admin(request: Request) -> str:
    expected = request.app.state.settings.admin_token
    if not expected:
        raise AppError("the admin API is off: set MIANJING_ADMIN_TOKEN to enable it", status_code=403)
    given = bearer_token(request) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise AppError("admin token missing or wrong", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return "admin-token"


def diff(old: Content, new: Content) -> dict[str, list[str]]:
    old_ids, new_ids = set(old.by_id), set(new.by_id)
    # A question moved down the file by an edit above it has not changed.
    changed = sorted(i for i in old_ids & new_ids
                     if dataclasses.replace(old.by_id[i], line=0) != dataclasses.replace(new.by_id[i], line=0))
    return {"added": sorted(new_ids - old_ids), "removed": sorted(old_ids - new_ids), "changed": changed}


@router.post("/reload", response_model=ReloadResult, operation_id="reload_content", responses={
    **errors(413),
    422: {"model": ValidationErrorResponse, "description": "the content on disk is invalid; nothing changed"},
})
def reload(request: Request, db: SessionDep) -> JSONResponse:
    actor = require_admin(request)
    ok, body = reload_content(request.app, db, actor)
    return JSONResponse(body, status_code=200 if ok else 422)


def reload_content(app, db, actor: str) -> tuple[bool, dict[str, Any]]:
    """Validate the content directory off to the side, swap it in, publish and log; shared by API and page."""
    store = app.state.store
    started = time.perf_counter()
    before = store.current
    try:
        previous, new = store.reload_from(app.state.settings.content_dir)
    except ContentInvalid as exc:
        errors = [{"file": e.file, "line": e.line, "message": e.message} for e in exc.errors]
        db.add(ReloadLog(actor=actor, version_before=before.version, version_after=None, ok=False,
                         detail={"errors": errors[:200], "error_count": len(errors)}))
        return False, {"detail": f"content has {len(errors)} error(s); the live banks are unchanged",
                       "errors": errors}
    publish_version(db, new.version)
    body: dict[str, Any] = {
        "version": new.version, "previous_version": previous.version, **new.counts(), **diff(previous, new),
        "seconds": round(time.perf_counter() - started, 4),
    }
    db.add(ReloadLog(actor=actor, version_before=previous.version, version_after=new.version, ok=True,
                     detail={k: body[k] if not isinstance(body[k], list) else body[k][:200] for k in body}))
    return True, body


def reload_history(db, limit: int = 50) -> list[dict[str, Any]]:
    rows = db.exec(select(ReloadLog).order_by(ReloadLog.id.desc()).limit(limit)).all()  # type: ignore[union-attr]
    return [{"at": r.at.isoformat(), "actor": r.actor, "version_before": r.version_before,
             "version_after": r.version_after, "ok": r.ok, "detail": r.detail} for r in rows]


@router.get("/reloads", response_model=list[ReloadLogEntry], operation_id="list_reloads")
def reloads(request: Request, db: SessionDep) -> list[dict[str, Any]]:
    require_admin(request)
    return reload_history(db)
