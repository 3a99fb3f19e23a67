"""Registration, login with a rate limit, guests who can later keep their account."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.auth.passwords import verify_password
from app.auth.sessions import LoginRateLimiter, find_user, limit_key
from app.db import write_transaction
from app.errors import AppError
from app.models import User

# Passwords are hashed (argon2, ~20 ms of CPU) by the caller before its write transaction: never under the
# write lock, never on the event loop (routes that hash are plain `def`s, run in the thread pool).


def login_limiter(request: Request) -> LoginRateLimiter:
    return request.app.state.login_limiter


def client_key(request: Request) -> str:
    return request.client.host if request.client else "?"


def register(db: Session, username: str, password_hash: str) -> User:
    if find_user(db, username) is not None:
        raise AppError("这个用户名已被占用。", status_code=409)
    user = User(username=username, password_hash=password_hash)
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise AppError("这个用户名已被占用。", status_code=409) from None
    return user


def authenticate(db: Session, limiter: LoginRateLimiter, username: str, password: str, client: str,
                 now: datetime) -> User:
    """The user with these credentials. Failures are stored (and outlive the 401) in their own write."""
    keys = (limit_key("user", username.lower()), limit_key("ip", client))
    wait = max(limiter.blocked_for(db, k, now) for k in keys)
    if wait > 0:
        raise AppError(f"登录失败次数过多，请 {int(wait) + 1} 秒后再试。", status_code=429,
                       headers={"Retry-After": str(int(wait) + 1)})
    user = find_user(db, username)
    if user is None or not verify_password(password, user.password_hash):
        with write_transaction(db):
            limiter.failed(db, keys, now)
        raise AppError("用户名或密码不对。", status_code=401)
    with write_transaction(db):
        limiter.succeeded(db, keys[0])
    return user


def create_guest(db: Session) -> User:
    user = User(username=None, is_guest=True)
    db.add(user)
    db.flush()
    return user


def keep_guest(db: Session, user: User, username: str, password_hash: str) -> User:
    if not user.is_guest:
        raise AppError("这个账号已经有用户名了。", status_code=409)
    if find_user(db, username) is not None:
        raise AppError("这个用户名已被占用。", status_code=409)
    user.username, user.password_hash, user.is_guest = username, password_hash, False
    db.add(user)
    db.flush()
    return user
