"""Cheap request checks at the ASGI edge: oversized bodies get 413, repeated API query parameters 422.

Here rather than as FastAPI dependencies because they run on every request, and a dependency costs a
few microseconds each on the hottest route (GET /api/v1/questions/{id}).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

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
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(scope, receive, send, self.max_bytes)


class _BodyTooLarge(HTTPException):
    # An HTTPException, so that FastAPI, reading the body, passes it on instead of turning it into a 400.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def _repeated(query: bytes) -> list[str]:
    """A repeated parameter (?seed=1&seed=2) is ambiguous: refuse it rather than pick one silently."""
    keys = [k for k, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
    return sorted({k for k in keys if keys.count(k) > 1}) if len(keys) != len(set(keys)) else []


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    from app.errors import error_response  # JSON for the API, the error page for a page

    response = await error_response(Request(scope), 413, {"detail": f"request body larger than {limit} bytes"})
    await response(scope, receive, send)


async def _json(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
