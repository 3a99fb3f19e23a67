"""The admin reload: publish the content folder (app/runtime/publishing.py) and answer with what changed.
Shared by the admin API and the admin page."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from sqlmodel import select

from app.content.loader import Content, ContentInvalid
from app.models import ReloadLog
from app.runtime.publishing import publish


def diff(old: Content, new: Content) -> dict[str, list[str]]:
    old_ids, new_ids = set(old.by_id), set(new.by_id)
    # A question moved down the file by an edit above it has not changed.
    changed = sorted(i for i in old_ids & new_ids
                     if dataclasses.replace(old.by_id[i], line=0) != dataclasses.replace(new.by_id[i], line=0))
    return {"added": sorted(new_ids - old_ids), "removed": sorted(old_ids - new_ids), "changed": changed}


def reload_content(app, db, actor: str) -> tuple[bool, dict[str, Any]]:
    """Publish the content folder; (True, what changed) or (False, every error). Runs in a plain def's
    thread: parsing the banks never runs on the event loop (nor inside a write transaction)."""
    started = time.perf_counter()
    body: dict[str, Any] = {}

    def describe(previous: Content | None, new: Content) -> dict[str, Any]:
        before = previous or new
        body.update({"version": new.version, "previous_version": before.version, **new.counts(),
                     **diff(before, new), "seconds": round(time.perf_counter() - started, 4)})
        return {k: v[:200] if isinstance(v, list) else v for k, v in body.items()}

    try:
        publish(db, app.state.settings.content_dir, actor, store=app.state.store, describe=describe)
    except ContentInvalid as exc:
        errors = [{"file": e.file, "line": e.line, "message": e.message} for e in exc.errors]
        return False, {"detail": f"content has {len(errors)} error(s); the live banks are unchanged",
                       "errors": errors}
    return True, body


def reload_history(db, limit: int = 50) -> list[dict[str, Any]]:
    rows = db.exec(select(ReloadLog).order_by(ReloadLog.id.desc()).limit(limit)).all()  # type: ignore[union-attr]
    return [{"at": r.at.isoformat(), "actor": r.actor, "version_before": r.version_before,
             "version_after": r.version_after, "ok": r.ok, "detail": r.detail} for r in rows]
