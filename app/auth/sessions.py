"""Session and API tokens: 256 random bits, stored only as a SHA-256 hash, revocable on the server."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, select

from app.models import AuthSession, LoginFailure, User

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
    return db.exec(select(User).where(User.username == username)).first()


def limit_key(kind: str, value: str) -> str:
    """A rate-limit key for any name the client sends: hashed, so NUL bytes, lone surrogates or odd lengths
    reach the database as 64 hex digits."""
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


class LoginRateLimiter:
    """At most `attempts` failed logins per key in `window` seconds. The failures live in the database, so
    the limit holds across worker processes and restarts; old rows are pruned as keys fail again."""

    def __init__(self, attempts: int = 5, window: float = 60.0) -> None:
        self.attempts, self.window = attempts, timedelta(seconds=window)

    def blocked_for(self, db: Session, key: str, now: datetime) -> float:
        """Seconds until `key` may try again (0: now)."""
        recent = db.exec(select(LoginFailure.at).where(LoginFailure.key == key, LoginFailure.at > now - self.window)
                         .order_by(col(LoginFailure.at).desc()).limit(self.attempts)).all()
        if len(recent) < self.attempts:
            return 0.0
        return max(0.0, (recent[-1] + self.window - now).total_seconds())

    def failed(self, db: Session, keys: Sequence[str], now: datetime) -> None:
        db.exec(delete(LoginFailure).where(col(LoginFailure.key).in_(keys), LoginFailure.at <= now - self.window))
        db.add_all(LoginFailure(key=k, at=now) for k in keys)
        db.flush()

    def succeeded(self, db: Session, key: str) -> None:
        db.exec(delete(LoginFailure).where(LoginFailure.key == key))
