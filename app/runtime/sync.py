"""Keep every worker on the same content version: a reload writes the version row, the others poll it.

Polling one small row four times a second is cheap on SQLite and PostgreSQL alike and needs no extra
infrastructure; it keeps every worker within a quarter of a second of a reload. The poll is a plain read
(app.db.request_session), so autosaves never wait behind it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.content.loader import Content, ContentInvalid
from app.db import request_session
from app.models import ContentState
from app.runtime.store import ContentStore

log = logging.getLogger("mianjing.sync")
POLL_SECONDS = 0.25


def published_version(engine: Engine) -> str | None:
    with request_session(engine) as db:
        return db.exec(select(ContentState.version).where(ContentState.id == 1)).first()


def publish_version(db: Session, version: str) -> None:
    row = db.get(ContentState, 1)
    if row is None:
        db.add(ContentState(id=1, version=version, updated_at=datetime.now(UTC)))
    else:
        row.version, row.updated_at = version, datetime.now(UTC)
        db.add(row)


def follow_once(engine: Engine, store: ContentStore, directory) -> Content | None:
    """If another worker published a version we do not serve, load it from disk. Returns the new content."""
    wanted = published_version(engine)
    if wanted is None or wanted == store.current.version or wanted == store.unfollowable:
        return None
    try:
        _previous, new = store.reload_from(directory)
    except ContentInvalid as exc:
        log.error("published content %s does not load here: %s", wanted, exc.errors[:3])
        store.unfollowable = wanted  # do not re-parse a broken directory on every poll
        return None
    if new.version != wanted:
        # The files changed again after that reload was published; the next reload will publish them.
        log.warning("published version %s but disk has %s", wanted, new.version)
        store.unfollowable = wanted
    return new


async def follow_forever(engine: Engine, store: ContentStore, directory) -> None:
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            await asyncio.to_thread(follow_once, engine, store, directory)
        except Exception:  # keep following: a database hiccup must not stop this worker's updates
            log.exception("content version poll failed")
