"""Reload the content live: validate the directory off to the side, swap it in, publish the version for
the other workers and log the attempt. Shared by the admin API and the admin page."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from sqlmodel import select

from app.content.loader import Content, ContentInvalid
from app.db import write_transaction
from app.models import ReloadLog
from app.runtime.sync import publish_version


def diff(old: Content, new: Content) -> dict[str, list[str]]:
    old_ids, new_ids = set(old.by_id), set(new.by_id)
    # A question moved down the file by an edit above it has not changed.
    changed = sorted(i for i in old_ids & new_ids
                     if dataclasses.replace(old.by_id[i], line=0) != dataclasses.replace(new.by_id[i], line=0))
    return {"added": sorted(new_ids - old_ids), "removed": sorted(old_ids - new_ids), "changed": changed}


def reload_content(app, db, actor: str) -> tuple[bool, dict[str, Any]]:
    """Validate the content directory off to the side, swap it in, publish and log; shared by API and page."""
    with write_transaction(db):  # a plain def's thread: parsing the banks never runs on the event loop
        return _reload(app, db, actor, time.perf_counter())


def _reload(app, db, actor: str, started: float) -> tuple[bool, dict[str, Any]]:
    store = app.state.store
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
