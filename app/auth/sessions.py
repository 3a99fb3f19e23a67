"""Session and API tokens: 256 random bits, stored only as a SHA-256 hash, revocable on the server."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque
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
    if row is None or _aware(row[1]) <= now:
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


def _aware(dt: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class LoginRateLimiter:
    """At most `attempts` failed logins per key in `window` seconds (per process)."""

    def __init__(self, attempts: int = 5, window: float = 60.0) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked_for(self, key: str) -> float:
        now = time.monotonic()
        with self._lock:
            q = self._failures[key]
            while q and q[0] <= now - self.window:
                q.popleft()
            return (q[0] + self.window - now) if len(q) >= self.attempts else 0.0

    def failed(self, key: str) -> None:
        with self._lock:
            self._failures[key].append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
