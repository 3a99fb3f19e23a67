"""CSRF tokens: HMAC-SHA256(secret_key, "session:" + session token), or of a random pre-session cookie value.
Checked in one place, app.api.deps (the API's caller and the pages' visitor).
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"  # the hidden field of every form post


def csrf_for(request: Request, value: str) -> str:
    key = request.app.state.settings.secret_key.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def session_csrf_token(request: Request, session_token: str) -> str:
    """The X-CSRF-Token value pages embed and app.js sends with cookie-authenticated JSON API calls."""
    return csrf_for(request, "session:" + session_token)


def anon_csrf_token(request: Request, anon_value: str) -> str:
    return csrf_for(request, "anon:" + anon_value)
