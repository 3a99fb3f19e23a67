"""What /readyz checks: a worker is ready when it could serve every request right now, not merely when
the database answers. A database that is not at the code's schema revision fails every write, and a
worker that serves another content version than the published one disagrees with its siblings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.db import request_session, schema_revisions
from app.runtime.publishing import recorded
from app.runtime.store import ContentStore


def _names(revisions: frozenset[str]) -> str:
    return ", ".join(sorted(revisions)) or "(none)"


def readiness(engine: Engine, store: ContentStore, heads: frozenset[str]) -> dict[str, Any]:
    """The /readyz body: "status" is "ok" only when "reasons" is empty."""
    content = store.current
    reasons: list[str] = []
    database = False
    revision: str | None = None
    published: str | None = None
    try:
        with request_session(engine) as db:  # a plain read: no write lock, no transaction held
            db.connection().execute(text("SELECT 1"))
            database = True
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason says which
        reasons.append(f"database unreachable: {type(exc).__name__}")
    if database:
        try:
            revisions = schema_revisions(engine)
            revision = _names(revisions)
            if revisions != heads:
                reasons.append(f"database schema at revision {revision}, the code needs {_names(heads)}: "
                               "run `mianjing db upgrade`")
        except Exception as exc:  # noqa: BLE001
            reasons.append(f"database schema unknown (no alembic_version: {type(exc).__name__}): "
                           "run `mianjing db upgrade`")
        try:
            with request_session(engine) as db:
                publication = recorded(db)
            published = publication.version if publication else None
            if publication is None:
                reasons.append("no content version is published")
        except Exception as exc:  # noqa: BLE001
            reasons.append(f"published content version unreadable: {type(exc).__name__}")
    if not content.questions:
        reasons.append("no questions loaded")
    if published is not None and published != content.version:
        held = store.held_back
        why = held.reason if held is not None and held.published == published else "following it now"
        reasons.append(f"serving content {content.version} but {published} is published: {why}")
    return {"status": "unavailable" if reasons else "ok", "database": database, "schema_revision": revision,
            "schema_head": _names(heads), "content_version": content.version, "published_version": published,
            **content.counts(), "reasons": reasons}
