"""/docs (Swagger UI) and /redoc with their assets served from static/vendor/ (pinned, licences kept: see
static/vendor/VERSIONS), so that the API's documentation works offline and loads nothing from elsewhere.

FastAPI's own pages ("Self-hosting JavaScript and CSS for docs"), with the app's docs_url and redoc_url set to
None. Each answer carries a Content-Security-Policy of its own that allows only this server, and of inline
script only the one FastAPI writes into the page (by its hash), so a page that would reach out fails loudly.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
    swagger_ui_default_parameters,
)
from fastapi.responses import HTMLResponse

SWAGGER_UI = "/static/vendor/swagger-ui"
REDOC = "/static/vendor/redoc"
DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL = "/docs", "/redoc", "/docs/oauth2-redirect"
# No online validator badge: Swagger UI would send the spec's URL to validator.swagger.io for it.
SWAGGER_UI_PARAMETERS = {**swagger_ui_default_parameters, "validatorUrl": None}
# The pages' own inline script by hash; ReDoc's styled-components write <style> elements and its search
# runs in a worker made from a blob.
DOCS_CSP = ("default-src 'self'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
            "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)

router = APIRouter(include_in_schema=False)


def _with_csp(page: HTMLResponse) -> HTMLResponse:
    body = bytes(page.body).decode()
    hashes = [base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in _INLINE_SCRIPT.findall(body)]
    page.headers["Content-Security-Policy"] = DOCS_CSP.format(scripts=" ".join(f"'sha256-{h}'" for h in hashes))
    return page


def _openapi_url(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") + (request.app.openapi_url or "")


@router.get(DOCS_URL)
def swagger_ui(request: Request) -> HTMLResponse:
    return _with_csp(get_swagger_ui_html(
        openapi_url=_openapi_url(request), title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=OAUTH2_REDIRECT_URL, swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js", swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png"))


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_redirect() -> HTMLResponse:
    return _with_csp(get_swagger_ui_oauth2_redirect_html())


@router.get(REDOC_URL)
def redoc(request: Request) -> HTMLResponse:
    return _with_csp(get_redoc_html(
        openapi_url=_openapi_url(request), title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{REDOC}/redoc.standalone.js", redoc_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
        with_google_fonts=False))
