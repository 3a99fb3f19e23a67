"""Session and API tokens: 256 random bits, stored only as a SHA-256 hash, revocable on the server."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, delete, select

from app.models import AuthSession, User

SESSION_LIFETIME = timedelta(days=30)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db: Session, user: User, now: datetime, kind: str = "cookie") -> str:
    token = secrets.token_urlsafe(32)
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
    return row[0]


def revoke_token(db: Session, token: str) -> None:
    db.exec(delete(AuthSession).where(AuthSession.token_hash == token_hash(token)))


def revoke_all(db: Session, user_id: int) -> None:
    db.exec(delete(AuthSession).where(AuthSession.user_id == user_id))


def find_user(db: Session, username: str) -> User | None:
    if "\x00" in username:  # PostgreSQL refuses NUL in text (a 500); no username has one
        return None
    return db.exec(select(User).where(User.username == username)).first()

