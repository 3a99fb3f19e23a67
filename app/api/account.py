"""My account: change the password, download everything of it, delete it (issue 15)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from app.api.deps import AddressDep, CallerDep, ContentDep, LimitsDep, NowDep, SessionDep
from app.api.schemas import (
    AUTH_WRITE_ERRORS,
    REQUEST_ERRORS,
    AccountArchive,
    AccountDeleted,
    PasswordChanged,
    errors,
)
from app.auth import accounts
from app.auth.cookies import clear_session_cookie, read_session_cookie
from app.auth.passwords import hash_password
from app.auth.rules import PASSWORD_MAX_CHARS, Password, Text
from app.db import request_session, write_transaction
from app.errors import AppError
from app.practice.export import archive_chunks
from app.practice.scheduling import utc

router = APIRouter(prefix="/api/v1/me", tags=["account"])
GUESSES = errors(e403="the current password is wrong (or, with a session cookie, the CSRF header is missing)",
                 e409="a guest account has no password: keep it first (POST /api/v1/auth/keep)",
                 e429="too many wrong passwords for this account from this address (the login's back-off); see "
                      "Retry-After")


class PasswordChange(BaseModel):
    current_password: Text = Field(max_length=PASSWORD_MAX_CHARS)
    new_password: Password = Field(description="8 to 256 characters, as at registration")


class AccountDeletion(BaseModel):
    password: Text | None = Field(default=None, max_length=PASSWORD_MAX_CHARS,
                                  description="my password; required unless I am a guest")
    confirm: bool = Field(default=False, description="a guest (no password) confirms with true")


@router.post("/password", response_model=PasswordChanged, operation_id="change_password",
             responses={**REQUEST_ERRORS, **AUTH_WRITE_ERRORS, **GUESSES})
def change_password(body: PasswordChange, caller: CallerDep, db: SessionDep, now: NowDep, limits: LimitsDep,
                    address: AddressDep) -> dict[str, Any]:
    """Set a new password, given the current one; every other session and token of mine ends, this one stays.
    A wrong current password counts as a failed login of my account from this address."""
    user = caller.user(db)
    accounts.verify_current_password(db, limits, user, body.current_password, address, now)
    password_hash = hash_password(body.new_password)  # argon2 before the write lock, not under it
    with write_transaction(db):
        ended = accounts.set_password(db, user, password_hash, keep_session=caller.token)
    return {"sessions_ended": ended}


@router.get("/archive", response_model=AccountArchive, operation_id="export_archive",
            responses={**REQUEST_ERRORS, **errors(401)})
def archive(request: Request, caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep) -> Response:
    """Everything the server holds of my account as one JSON download: the account and its settings, every
    interview with its answers and results, every attempt, every review card, every bookmark and note. Streamed a batch at a time."""
    user = caller.user(db)  # 401 before the 200 starts
    assert user.id is not None
    engine = request.app.state.engine
    chunks = archive_chunks(lambda: request_session(engine), content, user.id, now)
    filename = f"mianjing-archive-{utc(now).strftime('%Y%m%d')}.json"
    return StreamingResponse(chunks, media_type="application/json",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.delete("", response_model=AccountDeleted, operation_id="delete_account",
               responses={**REQUEST_ERRORS, **AUTH_WRITE_ERRORS, **GUESSES, **errors(
                   e403="not confirmed: the password is missing or wrong (a guest: `confirm` is not true), or, "
                        "with a session cookie, the CSRF header is missing")})
def delete_account(body: AccountDeletion, request: Request, response: Response, caller: CallerDep,
                   db: SessionDep, now: NowDep, limits: LimitsDep, address: AddressDep) -> dict[str, Any]:
    """Delete my account and every row of it: interviews and their answers, attempts, review cards, bookmarks and notes, sessions.
    A registered account confirms with its password, a guest with `confirm: true`. There is no undo."""
    user = caller.user(db)
    if user.is_guest:
        if not body.confirm:
            raise AppError("删除游客账号需要确认：发送 confirm: true。", status_code=403)
    elif not body.password:
        raise AppError("删除账号需要输入密码。", status_code=403)
    else:
        accounts.verify_current_password(db, limits, user, body.password, address, now)
    with write_transaction(db):
        gone = accounts.delete_account(db, user)
    if read_session_cookie(request):
        clear_session_cookie(request, response)
    return {"interviews": gone.interviews, "answers": gone.answers, "attempts": gone.attempts,
            "review_cards": gone.review_cards, "marks": gone.marks, "sessions": gone.sessions}
