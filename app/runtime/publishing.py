"""Publishing content: the one way a content version becomes the version every worker serves
(../shared/DESIGN.md, "Publishing content").

    validate -> store -> record the version -> tell the workers

1. validate: parse the folder off to the side (load_content); an error changes nothing anywhere;
2. store: the content folder *is* the store (until bundles move into the database), so the version recorded
   is the hash of exactly the bytes that were validated;
3. record: that hash goes into the one ContentState row, with a ReloadLog row, in one write transaction;
   the same transaction moves what candidates recorded under ids the new version merged into other items
   (`replaces`, app/runtime/replacements.py), so a version is never served without its merges;
4. tell: the other workers poll the row (app/runtime/sync.py) and call `follow_published`.

A worker serves exactly the recorded version or stays on its own. Following a publication, it loads the
folder and compares hashes: when the folder holds something else (the files changed after the publish, or
were edited without one), it keeps serving what it has, logs it once, and /readyz reports the mismatch
until a publication records what the folder holds.

At start (`publish_at_start`) a process publishes its folder only when the database has no version yet (a
first start) or when it is told that the folder is the source of truth (MIANJING_PUBLISH_ON_START, e.g. an
image that ships its content); a process whose folder differs from the recorded version otherwise refuses
to start, because it has no way to load the recorded version.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.content.loader import Content, ContentInvalid, load_content
from app.db import for_update, request_session, write_transaction
from app.models import ContentState, ReloadLog
from app.runtime.replacements import follow_replacements
from app.runtime.store import ContentStore, HeldBack

log = logging.getLogger("mianjing.publishing")
Describe = Callable[[Content | None, Content], dict[str, Any]]


class ContentNotPublished(RuntimeError):
    """At start: the folder holds another version than the one recorded, and nothing says to publish it."""


@dataclass(frozen=True)
class Publication:
    """A recorded version. `at` tells two publications of the same hash apart: publishing a restored folder
    again is news to a worker that was held back on that hash."""

    version: str
    at: datetime


@dataclass(frozen=True)
class Published:
    previous: Content | None  # what this process served before (None: published from outside a server)
    content: Content
    previous_version: str | None  # what the database had recorded


def recorded(db: Session) -> Publication | None:
    row = db.exec(select(ContentState.version, ContentState.updated_at).where(ContentState.id == 1)).first()
    return None if row is None else Publication(row[0], row[1])


def recorded_version(engine: Engine) -> Publication | None:
    """The current publication, as a plain read (the workers poll this)."""
    with request_session(engine) as db:
        return recorded(db)


def _record(db: Session, version: str, now: datetime) -> str | None:
    """Record `version` (inside a write transaction); returns the version recorded before."""
    row = db.exec(for_update(select(ContentState).where(ContentState.id == 1))).first()
    if row is None:
        db.add(ContentState(id=1, version=version, updated_at=now))
        return None
    previous = row.version
    row.version, row.updated_at = version, now
    db.add(row)
    return previous


def _record_if_absent(db: Session, version: str, now: datetime) -> bool:
    """Insert the first version unless one is there; True when this call inserted it. Workers that start
    together over a new database all try: ON CONFLICT keeps the losers from failing on the primary key."""
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ContentState).values(id=1, version=version, updated_at=now).on_conflict_do_nothing(
        index_elements=["id"]).returning(ContentState.id)  # (an ORM insert's rowcount is -1 on psycopg)
    return db.exec(stmt).first() is not None  # type: ignore[call-overload]


def _with_replacements(db: Session, content: Content, detail: dict[str, Any]) -> dict[str, Any]:
    """Move the data of merged ids (inside the recording transaction); the log row says what moved."""
    followed = follow_replacements(db, content)
    return {**detail, "replacements": followed.as_dict()} if followed.aliases else detail


def publish(db: Session, directory: str | os.PathLike[str], actor: str, *, store: ContentStore | None = None,
            describe: Describe | None = None) -> Published:
    """Validate the folder, record its version and, given this process's store, serve it here at once.

    Raises ContentInvalid (logged as a failed reload) and leaves everything as it was. The parse runs before
    the write transaction, so no lock is held while the banks are read; `describe(previous, new)` gives the
    ReloadLog row's detail."""
    with store.publish_lock if store is not None else nullcontext():  # one publication per process at a time
        previous = store.current if store is not None else None
        try:
            new = load_content(directory)
        except ContentInvalid as exc:
            errors = [{"file": e.file, "line": e.line, "message": e.message} for e in exc.errors]
            with write_transaction(db):
                db.add(ReloadLog(actor=actor, version_before=previous.version if previous else None,
                                 version_after=None, ok=False,
                                 detail={"errors": errors[:200], "error_count": len(errors)}))
            raise
        detail = describe(previous, new) if describe is not None else {}
        with write_transaction(db):
            previous_version = _record(db, new.version, datetime.now(UTC))
            detail = _with_replacements(db, new, detail)
            db.add(ReloadLog(actor=actor, version_before=previous.version if previous else previous_version,
                             version_after=new.version, ok=True, detail=detail))
        # Swapped only once recorded: a failed commit leaves this worker on the published version.
        if store is not None:
            store.swap(new)
            store.held_back = None
        log.info("%s published content %s (was %s)", actor, new.version, previous_version)
        return Published(previous, new, previous_version)


def publish_at_start(engine: Engine, store: ContentStore, *, folder_is_truth: bool) -> None:
    """Apply the start rule (module docstring) to the content this process loaded from its folder."""
    mine = store.current.version
    now = datetime.now(UTC)
    with request_session(engine) as db, write_transaction(db):
        if _record_if_absent(db, mine, now):
            detail = {"rule": "first start: no version was recorded", **store.current.counts()}
            db.add(ReloadLog(actor="startup", version_before=None, version_after=mine, ok=True,
                             detail=_with_replacements(db, store.current, detail)))
            log.info("first start: published the content folder, version %s", mine)
            return
        publication = recorded(db)
        if publication is None or publication.version == mine:  # (None cannot be: the insert found a row)
            return
        if folder_is_truth:
            _record(db, mine, now)
            detail = {"rule": "MIANJING_PUBLISH_ON_START", **store.current.counts()}
            db.add(ReloadLog(actor="startup", version_before=publication.version, version_after=mine, ok=True,
                             detail=_with_replacements(db, store.current, detail)))
            log.info("publish on start: published the content folder, version %s (was %s)", mine,
                     publication.version)
            return
    raise ContentNotPublished(
        f"the content folder holds version {mine} but version {publication.version} is published: this process "
        "cannot load the published version, so it does not start. Publish the folder (the admin reload, or "
        "`mianjing content publish`), restore the published files, or start with MIANJING_PUBLISH_ON_START=true "
        "when the folder is the source of truth")


def follow_published(engine: Engine, store: ContentStore, directory: str | os.PathLike[str]) -> Content | None:
    """Serve the recorded version if this worker does not: load the folder off to the side and swap it in
    only when its hash is the one recorded. Returns the content swapped in, if any."""
    publication = recorded_version(engine)
    if publication is None or publication.version == store.current.version:
        store.held_back = None
        return None
    held = store.held_back
    if held is not None and held.published == publication.version and held.at == publication.at:
        return None  # already tried this publication: do not re-parse the folder four times a second
    with store.publish_lock:
        try:
            new = load_content(directory)
        except ContentInvalid as exc:
            _hold_back(store, publication, None, f"the folder does not load ({len(exc.errors)} error(s), first: "
                       f"{exc.errors[0] if exc.errors else '?'})")
            return None
        if new.version != publication.version:
            _hold_back(store, publication, new.version,
                       f"the folder holds {new.version}, which was not published (changed on disk without a publish)")
            return None
        store.swap(new)
        store.held_back = None
    log.info("following the publication: now serving content %s", new.version)
    return new


def _hold_back(store: ContentStore, publication: Publication, on_disk: str | None, why: str) -> None:
    store.held_back = HeldBack(publication.version, publication.at, on_disk, why)
    log.error("content %s is published but this worker keeps serving %s: %s", publication.version,
              store.current.version, why)
