"""Password reset links: there is no mail server, so an admin issues a one-time link (the admin API or
`mianjing user reset-link`) and hands it to the candidate. 256 random bits, stored only as a SHA-256 hash,
valid for MIANJING_RESET_LINK_TTL_MINUTES; a new link replaces the account's older ones, and using one sets
the password and ends every session of the account."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from app.auth.accounts import set_password
from app.auth.sessions import token_hash
from app.errors import AppError
from app.models import PasswordResetToken, User

RESET_PATH = "/account/reset/"  # the page's path; the token follows it


class BadResetLink(AppError):
    """Unknown, used, replaced or expired: the same answer for each, so a guess learns nothing."""

    status_code = 400

    def __init__(self) -> None:
        super().__init__("这个重设密码的链接无效或已过期，请向管理员重新索取。")


def issue_reset_link(db: Session, user: User, now: datetime, ttl: timedelta) -> tuple[str, datetime]:
    """A new link's token and expiry (inside the caller's write); the account's older links stop working."""
    if user.id is None or user.is_guest or user.username is None:
        raise AppError("游客账号没有密码，不能重设。", status_code=409)
    token = secrets.token_urlsafe(32)
    # The account's older links, and anyone's expired ones (a sweep that keeps the table small).
    db.exec(delete(PasswordResetToken).where((col(PasswordResetToken.user_id) == user.id)
                                             | (col(PasswordResetToken.expires_at) <= now)))
    db.add(PasswordResetToken(token_hash=token_hash(token), user_id=user.id, created_at=now, expires_at=now + ttl))
    db.flush()
    return token, now + ttl


def user_for_reset(db: Session, token: str, now: datetime) -> User:
    """The account a live link belongs to (a read: the page that shows the form uses nothing up)."""
    row = db.exec(select(User).join(PasswordResetToken, col(PasswordResetToken.user_id) == User.id)
                  .where(PasswordResetToken.token_hash == token_hash(token),
                         col(PasswordResetToken.expires_at) > now)).first()
    if row is None:
        raise BadResetLink()
    return row


def use_reset_link(db: Session, token: str, password_hash: str, now: datetime) -> User:
    """Set the new password through a live link (inside the caller's write) and end every session. The link
    is deleted first and only one deletion can find it, so two concurrent uses cannot both succeed."""
    user = user_for_reset(db, token, now)
    gone = db.exec(delete(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token)))
    if gone.rowcount != 1:  # type: ignore[attr-defined]
        raise BadResetLink()
    set_password(db, user, password_hash)
    return user
