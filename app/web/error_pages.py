"""The HTML side of app/errors.py: the error page (templates/error.html) or, for htmx, its fragment.

A page error is drawn with the visitor as the page saw them (their name in the nav, the due badge), read in
a fresh session because the request's own one is closed by then; when that cannot be had (a server error,
the database down) the page is drawn without the database: nobody signed in, no due badge, and the CSRF
token derived from the cookies as Visitor.csrf_token() derives it.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from app.db import request_session
from app.web.routes import Visitor, render

log = logging.getLogger("mianjing")

# status -> (title key, body key) in app/web/i18n.py
TEXTS = {
    401: ("err_401", "err_401_body"),
    403: ("forbidden", "err_csrf"),
    404: ("not_found", "not_found_body"),
    405: ("err_405", "err_405_body"),
    408: ("err_408", "err_408_body"),
    409: ("err_409", "err_409_body"),
    413: ("err_413", "err_413_body"),
    414: ("err_414", "err_414_body"),
    422: ("err_422", "err_422_body"),
    429: ("err_429", "err_429_body"),
    500: ("err_500", "err_500_body"),
}
ERROR_AREA = "#htmx-error"  # in templates/base.html


def texts(status_code: int) -> tuple[str, str]:
    if status_code in TEXTS:
        return TEXTS[status_code]
    return TEXTS[500] if status_code >= 500 else ("err_other", "err_other_body")


class _Unknown(Visitor):
    """A Visitor without the database: the language and CSRF cookies are read, the user is not."""

    def __init__(self, request: Request) -> None:
        super().__init__(request, None, None)  # type: ignore[arg-type]
        self.user = None  # never looked up: the database may be what failed

    def due_count(self) -> int:
        return 0


async def error_page(request: Request, status_code: int, headers: dict[str, str] | None) -> Response:
    title_key, body_key = texts(status_code)
    htmx = request.headers.get("HX-Request") == "true"
    retry_after = (headers or {}).get("Retry-After")  # a 429 says how long to wait
    context = {"title_key": title_key, "body_key": body_key, "status_code": status_code,
               "retry_after": retry_after if retry_after and retry_after.isdigit() else None}
    name = "_error.html" if htmx else "error.html"
    response: Response | None = None
    if not htmx and status_code < 500:
        try:
            response = await run_in_threadpool(_with_visitor, request, name, context, status_code)
        except Exception:  # noqa: BLE001 - the page must still be drawn, without the database
            log.warning("error page %s drawn without the visitor", status_code, exc_info=True)
    if response is None:
        try:
            response = render(_Unknown(request), name, {**context, "due_count": 0}, status_code=status_code)
        except Exception:  # noqa: BLE001 - never a traceback, not even when a template breaks
            log.exception("error page %s could not be drawn", status_code)
            response = HTMLResponse(f"<!doctype html><title>{status_code}</title><h1>{status_code}</h1>",
                                    status_code=status_code)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if htmx:
        # htmx swaps no 4xx/5xx by default; static/app.js lets a response aimed at the error area through.
        response.headers["HX-Retarget"] = ERROR_AREA
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _with_visitor(request: Request, name: str, context: dict, status_code: int) -> Response:
    with request_session(request.app.state.engine) as db:  # a read: the nav's name and due badge
        return render(Visitor(request, db, request.app.state.clock()), name, context, status_code=status_code)
