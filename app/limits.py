"""Cheap request checks at the ASGI edge: oversized bodies get 413, bodies that take longer than
MIANJING_REQUEST_READ_TIMEOUT_S to arrive get 408 (and the connection is closed), repeated API query
parameters 422.

Here rather than as FastAPI dependencies because they run on every request, and a dependency costs a
few microseconds each on the hottest route (GET /api/v1/questions/{id}).

What the ASGI layer cannot see is the head of a request: the app is called only once uvicorn has parsed
the request line and the headers, so how long they may take and how large they may be are uvicorn's to
enforce (`mianjing serve` passes MIANJING_KEEP_ALIVE_TIMEOUT_S, MIANJING_LIMIT_CONCURRENCY and
MIANJING_MAX_HEADER_BYTES on; docs/security.md lists what remains).
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimits:
    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"&" in query and scope.get("path", "").startswith("/api/"):
            repeated = _repeated(query)
            if repeated:
                await _json(scope, receive, send, 422, f"query parameter given more than once: {', '.join(repeated)}")
                return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):  # no body to limit
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(scope, receive, send, self.max_bytes)
                return
        loop = asyncio.get_running_loop()
        # One deadline for the whole body, counted from the moment the head has arrived: a client that sends
        # a byte every few seconds gets no more time than one that sends nothing.
        deadline = loop.time() + self.read_timeout_s
        seen, complete, answered = 0, False, False

        async def limited() -> Message:
            nonlocal seen, complete
            if complete:  # after the body only http.disconnect can come, whenever it comes: no deadline
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyTimedOut(self.read_timeout_s) from None
            if message["type"] != "http.request":
                complete = True
                return message
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _BodyTooLarge(self.max_bytes)
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
            await _too_large(scope, receive, send, self.max_bytes)
        except _BodyTimedOut as exc:
            if answered:
                raise
            await _answer(scope, receive, send, exc)


class _BodyTooLarge(HTTPException):
    # An HTTPException, so that FastAPI, reading the body, passes it on instead of turning it into a 400.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class _BodyTimedOut(HTTPException):
    def __init__(self, limit: float) -> None:
        # Connection: close makes uvicorn close the connection after the answer: the rest of the body may
        # still be on its way, and reading it would only give the slow client more of our time.
        super().__init__(408, f"the request body did not arrive within {limit:g} s", headers={"Connection": "close"})


def _repeated(query: bytes) -> list[str]:
    """A repeated parameter (?seed=1&seed=2) is ambiguous: refuse it rather than pick one silently."""
    keys = [k for k, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
    return sorted({k for k in keys if keys.count(k) > 1}) if len(keys) != len(set(keys)) else []


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    from app.errors import error_response  # JSON for the API, the error page for a page

    response = await error_response(Request(scope), 413, {"detail": f"request body larger than {limit} bytes"})
    await response(scope, receive, send)


async def _answer(scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
    from app.errors import error_response

    response = await error_response(Request(scope), exc.status_code, {"detail": exc.detail}, exc.headers)
    await response(scope, receive, send)


async def _json(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
