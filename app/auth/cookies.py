"""The browser session cookie: a signed token (itsdangerous), HttpOnly, SameSite=Lax, Secure on HTTPS."""

from __future__ import annotations

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

PLAIN_NAME = "mj_session"
SECURE_NAME = "__Host-mj_session"  # the __Host- prefix pins it to our origin, HTTPS only


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.secret_key, salt="session")


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def read_session_cookie(request: Request) -> str | None:
    raw = request.cookies.get(SECURE_NAME) or request.cookies.get(PLAIN_NAME)
    if not raw:
        return None
    try:
        token = _serializer(request).loads(raw)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    secure = is_https(request)
    response.set_cookie(
        SECURE_NAME if secure else PLAIN_NAME, _serializer(request).dumps(token),
        max_age=30 * 24 * 3600, httponly=True, samesite="lax", secure=secure, path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SECURE_NAME if is_https(request) else PLAIN_NAME, path="/")
