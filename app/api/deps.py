"""Typed dependencies shared by the routers."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.content.loader import Content
from app.db import run_db, session_scope
from app.models import User


# Trivial dependencies are async so FastAPI does not send each one through the thread pool.
async def get_content(request: Request) -> Content:
    return request.app.state.store.current


def get_db(request: Request) -> Iterator[Session]:
    yield from session_scope(request.app.state.engine)


ContentDep = Annotated[Content, Depends(get_content)]
# scope="function": commit (or roll back) before the response goes out, so a 2xx means the write is stored.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


async def get_now(request: Request) -> datetime:
    """The server's clock; tests replace app.state.clock to move time without sleeping."""
    return request.app.state.clock()


def get_current_user(request: Request, db: SessionDep) -> User:
    """The user behind a bearer token or the session cookie; 401 when there is none."""
    return require_user(db, request_token(request), request.app.state.clock())


def request_token(request: Request) -> str | None:
    """The caller's token. A cookie on a state-changing request must come with the page's CSRF token."""
    bearer = bearer_token(request)
    if bearer:
        return bearer  # a bearer token is never sent by a browser on its own, so it needs no CSRF check
    cookie = cookie_token(request)
    if cookie and request.method not in ("GET", "HEAD", "OPTIONS"):
        from app.auth.csrf import CSRF_HEADER, session_csrf_token
        from app.errors import AppError

        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session_csrf_token(request, cookie).encode()):
            raise AppError("CSRF token missing or wrong: send the page's X-CSRF-Token header", status_code=403)
    return cookie


def require_user(db: Session, token: str | None, now: datetime) -> User:
    from app.auth.sessions import user_for_token
    from app.errors import AppError

    user = user_for_token(db, token, now) if token else None
    if user is None:
        raise AppError("authentication required: log in, or send Authorization: Bearer <token>",
                       status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return user


async def get_optional_user(request: Request) -> User | None:
    """Like get_current_user, but None instead of 401; anonymous requests never touch the database.

    An unknown or expired token counts as anonymous, as it did before the caller could be known.
    """
    from app.auth.sessions import user_for_token

    token = bearer_token(request) or cookie_token(request)
    if not token:
        return None
    now = request.app.state.clock()
    return await run_db(request.app.state.engine, request.app.state.db_executor,
                        lambda db: user_for_token(db, token, now))


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def cookie_token(request: Request) -> str | None:
    from app.auth.cookies import read_session_cookie

    return read_session_cookie(request)


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
NowDep = Annotated[datetime, Depends(get_now)]
