"""Session and API tokens: 256 random bits, stored only as a SHA-256 hash, revocable on the server."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, delete, select

from app.db import write_transaction
from app.models import AuthSession, User

SESSION_LIFETIME = timedelta(days=30)
# last_seen_at is kept to the hour: a user's requests write it at most once an hour, so the autosave path
# stays a read (the hour is nothing next to a time to live of days).
ACTIVITY_RESOLUTION = timedelta(hours=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db: Session, user: User, now: datetime, kind: str = "cookie") -> str:
    token = secrets.token_urlsafe(32)
    user.last_seen_at = now  # signing in is activity (issue_token runs inside the caller's write)
    db.add(user)
    db.add(AuthSession(token_hash=token_hash(token), user_id=user.id, kind=kind, created_at=now,
                       expires_at=now + SESSION_LIFETIME))
    db.flush()
    return token


# One prebuilt query: this runs on every authenticated request, autosaves included.
_USER_BY_TOKEN = (select(User, AuthSession.expires_at).join(AuthSession, AuthSession.user_id == User.id)
                  .where(AuthSession.token_hash == bindparam("h")))


def user_for_token(db: Session, token: str, now: datetime) -> User | None:
    row = db.exec(_USER_BY_TOKEN, params={"h": token_hash(token)}).first()
    if row is None or row[1] <= now:
        return None
    note_activity(db, row[0], now)
    return row[0]


def note_activity(db: Session, user: User, now: datetime) -> None:
    """Record that `user` made a request now, unless that was recorded less than an hour ago (the usual
    case: a comparison, no write). The write is its own short transaction, or joins the caller's."""
    seen = user.last_seen_at
    if seen is not None and now - seen < ACTIVITY_RESOLUTION:
        return
    with write_transaction(db):
        # Conditional, so that concurrent requests of one user at the turn of the hour write it once.
        db.exec(update(User).where(col(User.id) == user.id, or_(col(User.last_seen_at).is_(None),
                                                                  col(User.last_seen_at) < now - ACTIVITY_RESOLUTION))
                .values(last_seen_at=now).execution_options(synchronize_session=False))
    set_committed_value(user, "last_seen_at", now)  # not a pending change: the row is written already


def revoke_token(db: Session, token: str) -> None:
    db.exec(delete(AuthSession).where(AuthSession.token_hash == token_hash(token)))


def revoke_all(db: Session, user_id: int, keep: str | None = None) -> int:
    """End every session of the user, except the one of token `keep` (the request that asked); how many."""
    stmt = delete(AuthSession).where(col(AuthSession.user_id) == user_id)
    if keep is not None:
        stmt = stmt.where(col(AuthSession.token_hash) != token_hash(keep))
    return db.exec(stmt).rowcount  # type: ignore[call-overload]


def find_user(db: Session, username: str) -> User | None:
    return db.exec(select(User).where(User.username == username)).first()

