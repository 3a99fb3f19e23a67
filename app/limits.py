"""Cheap request checks at the ASGI edge, before any routing or parsing.

Each check costs O(length) of work done in C (a length, a byte count, a substring search) on every request;
the one Python-level step, parsing an API query string for repeated parameters, runs only on a query that
has passed the length and count caps, so it is bounded too:

- a query string longer than MIANJING_MAX_QUERY_BYTES, or with more than MIANJING_MAX_QUERY_PARAMS
  parameters: 414;
- a NUL (%00) in the path or the query string: 422 (no text the service keeps has one, and PostgreSQL
  refuses it in text: path parameters and query values reach the database or are compared with what is
  in it). Lone surrogates cannot arrive this way: percent-decoding replaces invalid UTF-8 with U+FFFD;
- a query parameter given twice on an /api route (?seed=1&seed=2 is ambiguous): 422;
- a body larger than MIANJING_MAX_BODY_BYTES (MIANJING_MAX_IMPORT_BYTES for a question file uploaded to the
  admin import, IMPORT_PATHS): 413, from Content-Length or while it streams in;
- a body that has not arrived MIANJING_REQUEST_READ_TIMEOUT_S after the head: 408, and the connection is
  closed.

What the ASGI layer cannot see is the head of a request: the app is called only once uvicorn has parsed
the request line and the headers, so how long they may take and how large they may be are uvicorn's to
enforce (`mianjing serve` passes MIANJING_KEEP_ALIVE_TIMEOUT_S, MIANJING_LIMIT_CONCURRENCY and
MIANJING_MAX_HEADER_BYTES on; docs/security.md lists what remains).

They also publish the app's answer limits (RequestLimits) for the request's validation: the `Answer` type
(app/api/schemas.py) is validated by pydantic, which cannot see the app's settings.

Here rather than as FastAPI dependencies because they run on every request, and a dependency costs a
few microseconds each on the hottest route (GET /api/v1/questions/{id}).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings


@dataclass(frozen=True)
class RequestLimits:
    """What one app accepts; the defaults are the settings' defaults (a model validated outside a request)."""

    max_body_bytes: int = Settings.model_fields["max_body_bytes"].default
    max_import_bytes: int = Settings.model_fields["max_import_bytes"].default
    max_query_bytes: int = Settings.model_fields["max_query_bytes"].default
    max_query_params: int = Settings.model_fields["max_query_params"].default
    max_json_depth: int = Settings.model_fields["max_json_depth"].default
    max_answer_chars: int = Settings.model_fields["max_answer_chars"].default
    read_timeout_s: float = Settings.model_fields["request_read_timeout_s"].default

    @classmethod
    def of(cls, settings: Settings) -> RequestLimits:
        return cls(max_body_bytes=settings.max_body_bytes, max_import_bytes=settings.max_import_bytes,
                   max_query_bytes=settings.max_query_bytes,
                   max_query_params=settings.max_query_params, max_json_depth=settings.max_json_depth,
                   max_answer_chars=settings.max_answer_chars, read_timeout_s=settings.request_read_timeout_s)


# The limits of the app serving the current request (a context variable, so each request, and the threads
# its route runs in, see its own app's).
_DEFAULT_LIMITS = RequestLimits()
# The routes that take a whole question file (app/api/imports.py, app/web/imports.py): the one place where a
# body may be larger than a request needs anywhere else.
IMPORT_PATHS = frozenset({"/api/v1/admin/imports", "/api/v1/admin/imports/publish", "/admin/imports/preview",
                          "/admin/imports/publish"})
current_limits: ContextVar[RequestLimits] = ContextVar("current_limits", default=_DEFAULT_LIMITS)


class RequestShapeLimits:
    def __init__(self, app: ASGIApp, limits: RequestLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await _refuse(scope, receive, send, *refusal)
            return
        reset = current_limits.set(self.limits)
        try:
            await self._limit_body(scope, receive, send)
        finally:
            current_limits.reset(reset)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(status, why) for a URL this app refuses, or None."""
        limits = self.limits
        if "\x00" in scope.get("path", ""):
            return 422, "the path contains a NUL character (%00), which is not text"
        query: bytes = scope.get("query_string", b"")
        if not query:
            return None
        if len(query) > limits.max_query_bytes:
            return 414, f"query string longer than {limits.max_query_bytes} bytes"
        if b"%00" in query or b"\x00" in query:
            return 422, "the query string contains a NUL character (%00), which is not text"
        if b"&" not in query:
            return None
        if query.count(b"&") >= limits.max_query_params:  # an upper bound: a&&b has two parameters
            pieces = query.split(b"&")
            if len(pieces) - pieces.count(b"") > limits.max_query_params:  # C loops, no Python one
                return 414, f"more than {limits.max_query_params} query parameters"
        if scope.get("path", "").startswith("/api/"):
            repeated = _repeated(query)
            if repeated:
                return 422, f"query parameter given more than once: {', '.join(repeated)}"
        return None

    async def _limit_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        max_bytes = self.limits.max_import_bytes if scope.get("path") in IMPORT_PATHS else self.limits.max_body_bytes
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):  # no body to limit
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                await _refuse(scope, receive, send, 413, _too_large(max_bytes))
                return
        # One deadline for the whole body, counted from the moment the head has arrived: a client that sends
        # a byte every few seconds gets no more time than one that sends nothing.
        read_timeout_s = self.limits.read_timeout_s
        deadline = asyncio.get_running_loop().time() + read_timeout_s
        seen, complete, answered = 0, False, False

        async def limited() -> Message:
            nonlocal seen, complete
            if complete:  # after the body only http.disconnect can come, whenever it comes: no deadline
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyTimedOut(read_timeout_s) from None
            if message["type"] != "http.request":
                complete = True
                return message
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise _BodyTooLarge(max_bytes)
            complete = not message.get("more_body", False)
            return message

        async def sending(message: Message) -> None:
            nonlocal answered
            answered = True
            await send(message)

        # The routes' error handler answers both (FastAPI passes an HTTPException raised while it reads the
        # body on); these catch what is raised outside it. A response that has begun (a streaming one that
        # listens for a disconnect while the body is unread) cannot be replaced: uvicorn closes it.
        try:
            await self.app(scope, limited, sending)
        except _BodyTooLarge:
            if answered:
                raise
            await _refuse(scope, receive, send, 413, _too_large(max_bytes))
        except _BodyTimedOut as exc:
            if answered:
                raise
            await _refuse(scope, receive, send, 408, exc.detail, exc.headers)


class _BodyTooLarge(HTTPException):
    # An HTTPException, so that FastAPI, reading the body, passes it on instead of turning it into a 400.
    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class _BodyTimedOut(HTTPException):
    def __init__(self, limit: float) -> None:
        # Connection: close makes uvicorn close the connection after the answer: the rest of the body may
        # still be on its way, and reading it would only give the slow client more of our time.
        super().__init__(408, f"the request body did not arrive within {limit:g} s", headers={"Connection": "close"})


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes"


def _repeated(query: bytes) -> list[str]:
    """The parameters given more than once, in one pass, named as Starlette decodes them (percent-decoding
    only when the query has a % or a +: otherwise a name is its bytes)."""
    seen: set[str | bytes] = set()
    repeated: set[str | bytes] = set()
    if b"%" in query or b"+" in query:
        keys: Iterable[str | bytes] = (k for k, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    else:
        keys = (piece.partition(b"=")[0] for piece in query.split(b"&") if piece)
    for key in keys:
        (repeated if key in seen else seen).add(key)
    return sorted(k.decode("latin-1") if isinstance(k, bytes) else k for k in repeated)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str,
                  headers: dict[str, str] | None = None) -> None:
    from app.errors import error_response  # JSON for the API, the error page for a page

    # The refused query string is not parsed again (the error page reads ?lang= of a request), and a refused
    # NUL does not reach the page's links.
    shown = {**scope, "query_string": b"", "path": scope.get("path", "").replace("\x00", "")}
    response = await error_response(Request(shown), status, {"detail": detail}, headers)
    await response(scope, receive, send)
