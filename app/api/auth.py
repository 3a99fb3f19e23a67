"""Accounts for API clients: register, token, guest, logout."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import AddressDep, CallerDep, LimitsDep, NowDep, SessionDep, bearer_token, carried_tokens
from app.api.schemas import AUTH_WRITE_ERRORS, REQUEST_ERRORS, WRITE_ERRORS, ErrorResponse, errors
from app.auth import accounts
from app.auth.cookies import clear_session_cookie, read_session_cookie
from app.auth.passwords import hash_password
from app.auth.rules import LOGIN_NAME_MAX_CHARS, PASSWORD_MAX_CHARS, Credentials, Text
from app.auth.sessions import issue_token, revoke_token
from app.db import write_transaction

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=REQUEST_ERRORS)
UNAUTHORIZED = errors(e401="not logged in")
TAKEN = errors(e409="username taken, or not a guest")
TOO_MANY = errors(e429="too many accounts from this client address in the last hour; see Retry-After")


class LoginRequest(BaseModel):
    # Any stored account's name, so not the rules of a new one (app.auth.rules); text all the same.
    username: Text = Field(max_length=LOGIN_NAME_MAX_CHARS)
    password: Text = Field(max_length=PASSWORD_MAX_CHARS)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    user_id: int
    username: str | None
    is_guest: bool


def _token(user, token: str) -> TokenResponse:
    return TokenResponse(access_token=token, user_id=user.id, username=user.username, is_guest=user.is_guest)


@router.post("/register", status_code=201, response_model=TokenResponse, operation_id="register",
             responses={**WRITE_ERRORS, **TAKEN, **TOO_MANY})
def register(body: Credentials, db: SessionDep, now: NowDep, limits: LimitsDep, address: AddressDep) -> TokenResponse:
    accounts.check_registration(db, limits, address, now)  # refused before argon2, not after
    password_hash = hash_password(body.password)  # ~20 ms of argon2 before the write lock, not under it
    with write_transaction(db):
        user = accounts.register(db, limits, address, body.username, password_hash, now)
        return _token(user, issue_token(db, user, now, kind="bearer"))


@router.post("/token", response_model=TokenResponse, operation_id="login", responses={
    **WRITE_ERRORS,
    401: {"model": ErrorResponse, "description": "wrong username or password"},
    429: {"model": ErrorResponse, "description": "too many failed logins of this account from this address (an "
          "exponential back-off), or from this address altogether, or too many logins from this address in an "
          "hour; see Retry-After"},
})
def token(body: LoginRequest, db: SessionDep, now: NowDep, limits: LimitsDep, address: AddressDep) -> TokenResponse:
    user = accounts.authenticate(db, limits, body.username, body.password, address, now)
    with write_transaction(db):
        return _token(user, issue_token(db, user, now, kind="bearer"))


@router.post("/guest", status_code=201, response_model=TokenResponse, operation_id="create_guest",
             responses={**WRITE_ERRORS, **TOO_MANY})
def guest(db: SessionDep, now: NowDep, limits: LimitsDep, address: AddressDep) -> TokenResponse:
    with write_transaction(db):
        user = accounts.create_guest(db, limits, address, now)
        return _token(user, issue_token(db, user, now, kind="bearer"))


@router.post("/keep", response_model=TokenResponse, operation_id="keep_guest",
             responses={**AUTH_WRITE_ERRORS, **UNAUTHORIZED, **TAKEN})
def keep_guest(body: Credentials, caller: CallerDep, request: Request, db: SessionDep,
               now: NowDep) -> TokenResponse:
    """Turn the current guest account into a named one, keeping its interviews."""
    user = caller.user(db)
    password_hash = hash_password(body.password)
    with write_transaction(db):
        user = accounts.keep_guest(db, user, body.username, password_hash)
        old = bearer_token(request)
        if old:
            revoke_token(db, old)
        return _token(user, issue_token(db, user, now, kind="bearer"))


@router.post("/logout", status_code=204, operation_id="logout", responses={**AUTH_WRITE_ERRORS, **UNAUTHORIZED})
def logout(request: Request, response: Response, caller: CallerDep, db: SessionDep) -> None:
    """End the session: the bearer token's or the session cookie's, whichever the request carries (both if
    it carries both), on the server; a cookie is cleared too."""
    caller.user(db)
    with write_transaction(db):
        for token_value in carried_tokens(request):
            revoke_token(db, token_value)
    if read_session_cookie(request):
        clear_session_cookie(request, response)
