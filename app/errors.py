"""One error type that carries its status, and one set of handlers that answer in the asker's format.

Under /api (and the health, OpenAPI and docs paths) the answer is JSON; an htmx request gets a small HTML
fragment for the page's error area; any other request gets the full error page (app/web/error_pages.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

JSON_PREFIXES = ("/api", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/static")


class AppError(Exception):
    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None, headers: dict[str, str] | None = None,
                 **extra) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers
        self.extra = extra
        if status_code is not None:
            self.status_code = status_code


class NotFound(AppError):
    status_code = 404


def wants_json(request: Request) -> bool:
    """The API, health and docs paths answer JSON; everything else is a page."""
    path = request.url.path
    return any(path == p or path.startswith(p + "/") for p in JSON_PREFIXES)


async def error_response(request: Request, status_code: int, body: dict[str, Any],
                         headers: dict[str, str] | None = None) -> Response:
    """JSON `body` for the API; the error page or, for htmx, its fragment, everywhere else."""
    if wants_json(request):
        return JSONResponse(body, status_code=status_code, headers=headers)
    from app.web.error_pages import error_page

    return await error_page(request, status_code, headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return await error_response(request, exc.status_code, {"detail": exc.message, **exc.extra}, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return await error_response(request, 422, {"detail": _validation_message(exc), "errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = exc.headers
        if exc.status_code == 405 and (allowed := _allowed_methods(request)):
            # Starlette names only the first route that matched the path; list every route's methods.
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return await error_response(request, exc.status_code, {"detail": exc.detail}, headers)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        # Starlette logs the exception and re-raises it after this answer; the client never sees a traceback.
        return await error_response(request, 500, {"detail": "internal error"})


def _allowed_methods(request: Request) -> list[str]:
    from starlette.routing import Match

    routes = request.app.router.routes
    return [method for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)]
