"""Registration, login with a rate limit, guests who can later keep their account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app import rate_limits
from app.auth.passwords import verify_password
from app.auth.sessions import find_user
from app.db import write_transaction
from app.errors import AppError
from app.models import User
from app.rate_limits import Limits

# Passwords are hashed (argon2, ~20 ms of CPU) by the caller before its write transaction: never under the
# write lock, never on the event loop (routes that hash are plain `def`s, run in the thread pool).


def check_registration(db: Session, limits: Limits, address: str, now: datetime) -> None:
    """429 before the password is hashed when this address has registered too often."""
    rate_limits.check(db, now, (limits.registrations, address))


def register(db: Session, limits: Limits, address: str, username: str, password_hash: str, now: datetime) -> User:
    """A new account (inside the caller's write); counted against the address only if it is created."""
    rate_limits.admit(db, now, (limits.registrations, address))
    if find_user(db, username) is not None:
        raise AppError("这个用户名已被占用。", status_code=409)
    user = User(username=username, password_hash=password_hash)
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise AppError("这个用户名已被占用。", status_code=409) from None
    return user


def authenticate(db: Session, limits: Limits, username: str, password: str, address: str, now: datetime) -> User:
    """The user with these credentials, or 401; 429 while this account is backing off from this address, or
    this address has failed too often whatever the account, or has logged in too often (each login is a session
    stored for 30 days).

    Every guess is recorded as a failure before its password is verified (in a write of its own), so
    concurrent guesses on any number of workers cannot slip past the limit together; a correct password
    takes its events back and ends this account's back-off from this address. The account is named by the
    name sent, whether or not it exists: unknown names and wrong passwords look the same."""
    checks = ((limits.login_account, f"{username.lower()}\n{address}"), (limits.login_address, address))
    logins = (limits.logins_address, address)
    rate_limits.check(db, now, *checks, logins)  # a read: a refused guess costs no write and no argon2
    ids = rate_limits.admit(db, now, *checks)
    user = find_user(db, username)
    if user is None or not verify_password(password, user.password_hash):
        raise AppError("用户名或密码不对。", status_code=401)
    with write_transaction(db):
        rate_limits.forget(db, *checks[0])
        rate_limits.forget_events(db, ids[1:])  # this address's count keeps its real failures only
        rate_limits.admit(db, now, logins)  # each login stores a session: counted per address
    return user


def create_guest(db: Session, limits: Limits, address: str, now: datetime) -> User:
    """A guest account (inside the caller's write), counted against the client's address."""
    rate_limits.admit(db, now, (limits.guests, address))
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
