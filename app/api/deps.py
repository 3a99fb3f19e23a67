"""Typed dependencies shared by the routers and the pages.

None of them touches the database or runs in the thread pool: FastAPI sends every sync dependency through
the pool on its own, and a request would hop there once per dependency. A route's database work (the user
behind its token included) runs in the route itself, one hop: `caller.user(db)`.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, ParamSpec, TypeVar

import anyio.from_thread
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth.cookies import read_session_cookie
from app.auth.csrf import CSRF_FIELD, CSRF_HEADER, anon_csrf_token, session_csrf_token
from app.auth.sessions import user_for_token
from app.content.loader import Content
from app.db import request_session
from app.errors import AppError
from app.fair_turns import flow_of
from app.judge.client import JudgeConfig
from app.models import User
from app.rate_limits import Limits, client_address
from app.runtime.grader import OpenGrader
from app.write_quotas import WriteQuotas

P = ParamSpec("P")
R = TypeVar("R")
ANON_COOKIE = "mj_anon"  # random value that anchors a page's CSRF token before there is a session
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
bearer_scheme = HTTPBearer(auto_error=False, description="a token from /api/v1/auth/token, /register or /guest")


async def get_content(request: Request) -> Content:
    return request.app.state.store.current


async def get_db(request: Request) -> AsyncIterator[Session]:
    # Opening a Session does no I/O; it connects on first use, in the route's thread. Writes commit inside
    # the route (app.db.write_transaction), so closing here only ends a read: no round trip on PostgreSQL
    # (autocommit), a local call on SQLite.
    with request_session(request.app.state.engine) as db:
        yield db


async def get_now(request: Request) -> datetime:
    """The server's clock; tests replace app.state.clock to move time without sleeping."""
    return request.app.state.clock()


async def get_limits(request: Request) -> Limits:
    return request.app.state.limits


async def get_grader(request: Request) -> OpenGrader:
    """Who grades open answers (app.runtime.grader): a remote one only ever from the thread pool."""
    return request.app.state.grader


async def get_write_quotas(request: Request) -> WriteQuotas:
    return request.app.state.write_quotas


async def get_new_cards_per_day(request: Request) -> int:
    """MIANJING_NEW_CARDS_PER_DAY, for every count and list of due cards (app.practice.due)."""
    return request.app.state.settings.new_cards_per_day


async def get_clear_after(request: Request) -> int:
    """MIANJING_MISTAKE_CLEAR_AFTER_DAYS, for the 错题本 and practice from it (app.practice.mistakes)."""
    return request.app.state.settings.mistake_clear_after_days


async def get_judge(request: Request) -> JudgeConfig:
    """Where the machine's judge process listens (app.judge.client); it starts on the first code check."""
    return request.app.state.judge


async def get_address(request: Request) -> str:
    """The client address every limit counts (app.rate_limits.client_address)."""
    return client_address(request)


ContentDep = Annotated[Content, Depends(get_content)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
WriteQuotasDep = Annotated[WriteQuotas, Depends(get_write_quotas)]
AddressDep = Annotated[str, Depends(get_address)]
GraderDep = Annotated[OpenGrader, Depends(get_grader)]
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]
NewCardsDep = Annotated[int, Depends(get_new_cards_per_day)]
ClearAfterDep = Annotated[int, Depends(get_clear_after)]
JudgeDep = Annotated[JudgeConfig, Depends(get_judge)]


def anon_value(request: Request) -> str:
    anon = request.cookies.get(ANON_COOKIE, "")
    return anon if 16 <= len(anon) <= 64 else ""


@dataclass
class Caller:
    """Who sent the request: a bearer token or the (verified) session cookie, if any."""

    token: str | None
    now: datetime

    def optional_user(self, db: Session) -> User | None:
        """The user behind the token, or None; an unknown or expired token counts as anonymous."""
        return user_for_token(db, self.token, self.now) if self.token else None

    def user(self, db: Session) -> User:
        """The user behind the token; 401 when there is none."""
        user = self.optional_user(db)
        if user is None:
            raise not_signed_in()
        return user


def not_signed_in() -> AppError:
    return AppError("authentication required: log in, or send Authorization: Bearer <token>",
                    status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def sent_csrf_token(request: Request) -> str:
    """The CSRF token a request carries: the X-CSRF-Token header (htmx, app.js) or a form's csrf_token field
    (FastAPI has parsed the form already when the route declares Form() fields, so this reads its cache)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    return sent or ""


def csrf_ok(request: Request, sent: str, session_token: str | None) -> bool:
    """Constant-time comparison of bytes, so any malformed token (non-ASCII included) is just wrong."""
    expected = []
    if session_token:
        expected.append(session_csrf_token(request, session_token))
    if anon := anon_value(request):
        expected.append(anon_csrf_token(request, anon))
    given = sent.encode("utf-8", "surrogatepass")
    return any(hmac.compare_digest(given, e.encode()) for e in expected)


async def csrf_guard(request: Request) -> None:
    """The one CSRF check, a dependency of the whole app: every state-changing request that a browser could
    send on its own carries the page's token (X-CSRF-Token or the form's csrf_token). That is every form
    post of the pages, and every API call authenticated by the session cookie; a bearer token is never
    sent by a browser on its own, and an API call without a cookie has no ambient authority to abuse."""
    if request.method in SAFE_METHODS:
        return
    cookie = read_session_cookie(request)
    if request.url.path.startswith("/api/") and (cookie is None or bearer_token(request)):
        return
    if not csrf_ok(request, await sent_csrf_token(request), cookie):
        raise AppError("CSRF token missing or wrong: send the page's X-CSRF-Token header", status_code=403)


async def fair_turn(request: Request) -> AsyncIterator[None]:
    """A dependency of the whole app: the route runs in its caller's turn (app.fair_turns). The body has
    arrived by now; the turn ends when the route returns."""
    async with request.app.state.fair_turns.turn(flow_of(bearer_token(request) or read_session_cookie(request),
                                                         client_address(request))):
        yield


def outside_turn(request: Request, fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, to be called from the route's worker thread, with the request's fair turn lent back while it runs:
    waiting for the judge process (seconds, none of this worker's time) must not keep people's requests out."""
    turns = request.app.state.fair_turns

    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        anyio.from_thread.run_sync(turns.lend)
        try:
            return fn(*args, **kwargs)
        finally:
            anyio.from_thread.run(turns.take_back)

    return call


async def get_optional_caller(request: Request, now: NowDep) -> Caller:
    """The bearer token, else the session cookie (csrf_guard has checked the request already), else nobody."""
    if bearer := bearer_token(request):
        return Caller(bearer, now=now)
    cookie = read_session_cookie(request)
    return Caller(cookie, now=now)


async def get_caller(caller: Annotated[Caller, Depends(get_optional_caller)],
                     _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]) -> Caller:
    """The same, for routes that need a user: declares the bearer scheme in the OpenAPI document, and
    answers 401 at once when there is no credential at all (before any complaint about the body)."""
    if caller.token is None:
        raise not_signed_in()
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
OptionalCallerDep = Annotated[Caller, Depends(get_optional_caller)]  # routes that also serve anonymous callers


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def carried_tokens(request: Request) -> list[str]:
    """Every session token the request carries, the bearer token and the session cookie's: what a logout
    ends, whichever of them authenticated it (API and pages alike)."""
    return list(dict.fromkeys(t for t in (bearer_token(request), read_session_cookie(request)) if t))
