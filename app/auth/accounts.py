"""Registration, login with a rate limit, guests who can later keep their account; a candidate's own
password change and account deletion."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete

from app import rate_limits
from app.auth.passwords import verify_password
from app.auth.sessions import find_user, revoke_all
from app.db import write_transaction
from app.errors import AppError
from app.models import PasswordResetToken, User
from app.rate_limits import Limits
from app.retention import Pruned, delete_accounts

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
    checks = _guess_checks(limits, username, address)
    logins = (limits.logins_address, address)
    rate_limits.check(db, now, *checks, logins)  # a read: a refused guess costs no write and no argon2
    ids = rate_limits.admit(db, now, *checks)
    user = find_user(db, username)
    if user is None or not verify_password(password, user.password_hash):
        raise AppError("用户名或密码不对。", status_code=401)
    with write_transaction(db):
        _forgive(db, checks, ids)
        rate_limits.admit(db, now, logins)  # each login stores a session: counted per address
    return user


class WrongPassword(AppError):
    """The current password sent to change the password or delete the account is not the account's."""

    status_code = 403

    def __init__(self) -> None:
        super().__init__("当前密码不对。")


def verify_current_password(db: Session, limits: Limits, user: User, password: str, address: str,
                            now: datetime) -> None:
    """WrongPassword unless `password` is the account's. A guess of a login by other means: it counts against
    the same limits as a login of this account from this address (so a stolen session guesses no faster
    than a stranger at the login form), and a right one forgives them the same way."""
    if user.is_guest or user.password_hash is None or user.username is None:
        raise AppError("游客账号没有密码：先注册保留这个账号。", status_code=409)
    checks = _guess_checks(limits, user.username, address)
    rate_limits.check(db, now, *checks)
    ids = rate_limits.admit(db, now, *checks)
    if not verify_password(password, user.password_hash):
        raise WrongPassword()
    with write_transaction(db):
        _forgive(db, checks, ids)


def _guess_checks(limits: Limits, username: str, address: str) -> tuple[rate_limits.Check, rate_limits.Check]:
    return (limits.login_account, f"{username.lower()}\n{address}"), (limits.login_address, address)


def _forgive(db: Session, checks: tuple[rate_limits.Check, rate_limits.Check], ids: list[int]) -> None:
    rate_limits.forget(db, *checks[0])  # the account's back-off from this address ends
    rate_limits.forget_events(db, ids[1:])  # this address's count keeps its real failures only


def set_password(db: Session, user: User, password_hash: str, keep_session: str | None = None) -> int:
    """A new password (inside the caller's write): every session but `keep_session` ends, and every reset
    link still out; how many sessions ended."""
    user.password_hash = password_hash
    db.add(user)
    db.exec(delete(PasswordResetToken).where(col(PasswordResetToken.user_id) == user.id))
    ended = revoke_all(db, user.id, keep=keep_session) if user.id is not None else 0
    db.flush()
    return ended


def delete_account(db: Session, user: User) -> Pruned:
    """The account and everything of it (inside the caller's write), as the guest prune removes a guest."""
    assert user.id is not None
    return delete_accounts(db, [user.id])


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
