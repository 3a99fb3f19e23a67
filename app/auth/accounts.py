"""Registration, login with a rate limit, guests who can later keep their account."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.auth.passwords import hash_password, verify_password
from app.auth.sessions import find_user, limit_key
from app.errors import AppError
from app.models import User


def register(db: Session, username: str, password: str) -> User:
    if find_user(db, username) is not None:
        raise AppError("这个用户名已被占用。", status_code=409)
    user = User(username=username, password_hash=hash_password(password))
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise AppError("这个用户名已被占用。", status_code=409) from None
    return user


def authenticate(db: Session, request: Request, username: str, password: str) -> User:
    limiter = request.app.state.login_limiter
    now = request.app.state.clock()
    client = request.client.host if request.client else "?"
    keys = (limit_key("user", username.lower()), limit_key("ip", client))
    wait = max(limiter.blocked_for(db, k, now) for k in keys)
    if wait > 0:
        raise AppError(f"登录失败次数过多，请 {int(wait) + 1} 秒后再试。", status_code=429,
                       headers={"Retry-After": str(int(wait) + 1)})
    user = find_user(db, username)
    if user is None or not verify_password(password, user.password_hash):
        limiter.failed(db, keys, now)
        db.commit()  # the failure must outlive this request, whose transaction rolls back with the 401
        raise AppError("用户名或密码不对。", status_code=401)
    limiter.succeeded(db, keys[0])
    return user


def create_guest(db: Session) -> User:
    user = User(username=None, is_guest=True)
    db.add(user)
    db.flush()
    return user


def keep_guest(db: Session, user: User, username: str, password: str) -> User:
    if not user.is_guest:
        raise AppError("这个账号已经有用户名了。", status_code=409)
    if find_user(db, username) is not None:
        raise AppError("这个用户名已被占用。", status_code=409)
    user.username, user.password_hash, user.is_guest = username, hash_password(password), False
    db.add(user)
    db.flush()
    return user
