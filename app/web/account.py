"""The account pages (issue 15): /account (change the password, download everything, delete the account) and
the page behind an admin's reset link. Thin: the work is app.auth's, the forms' shape is app.web.routes'."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import AddressDep, LimitsDep, NowDep, SessionDep
from app.auth import accounts, rules
from app.auth.cookies import clear_session_cookie
from app.auth.passwords import hash_password
from app.auth.reset_links import BadResetLink, use_reset_link, user_for_reset
from app.db import write_transaction
from app.errors import AppError
from app.models import User
from app.rate_limits import RateLimited
from app.web.i18n import translator
from app.web.routes import FormText, Visitor, VisitorDep, redirect, render

router = APIRouter(include_in_schema=False)
# A reset token is token_urlsafe(32): 43 characters; anything longer is no token.
ResetToken = Annotated[str, Path(max_length=64)]


def _page(visitor: Visitor, status_code: int = 200, **context: Any) -> Response:
    done = visitor.request.query_params.get("done")
    return render(visitor, "my_account.html", {"done": done, **context}, status_code=status_code)


def _refused(visitor: Visitor, exc: AppError, field: str) -> Response:
    """The page again with the error beside the form (`field`: password or delete), in the reader's language
    where the error is one the page knows."""
    t = translator(visitor.lang)
    message = t("err_current_password") if isinstance(exc, accounts.WrongPassword) else exc.message
    return _page(visitor, exc.status_code, **{f"{field}_error": message})


@router.get("/account", response_class=HTMLResponse)
def account_page(visitor: VisitorDep) -> Response:
    if visitor.user is None:  # signed out meanwhile (a password changed elsewhere): the way back in
        return redirect(visitor, "/login")
    return _page(visitor)


@router.post("/account/password")
def change_password(visitor: VisitorDep, db: SessionDep, now: NowDep, limits: LimitsDep, address: AddressDep,
                    current_password: FormText = "", new_password: FormText = "") -> Response:
    """Given the current password, a new one by the rules of registration; every other session ends, this
    one stays. A wrong current password counts as a failed login (app.auth.accounts)."""
    user = visitor.signed_in()
    t = translator(visitor.lang)
    if user.is_guest:  # nothing to change: the page offers to keep the account instead
        return _page(visitor, 409)
    try:
        password = rules.new_password(new_password)
    except rules.BadCredentials:
        return _page(visitor, 422, password_error=t("err_new_password_rules"))
    try:
        accounts.verify_current_password(db, limits, user, current_password, address, now)
    except RateLimited:
        raise  # the error page, with Retry-After
    except AppError as exc:
        return _refused(visitor, exc, "password")
    password_hash = hash_password(password)
    with write_transaction(db):
        accounts.set_password(db, user, password_hash, keep_session=visitor.token)
    return redirect(visitor, "/account?done=password#password")


@router.post("/account/delete")
def delete_account(request: Request, visitor: VisitorDep, db: SessionDep, now: NowDep, limits: LimitsDep,
                   address: AddressDep, password: FormText = "", confirm: FormText = "") -> Response:
    """Delete the account and every row of it, confirmed by its password (a guest: the ticked box), then the
    home page saying so."""
    user = visitor.signed_in()
    t = translator(visitor.lang)
    if user.is_guest and confirm != "yes":
        return _page(visitor, 400, delete_error=t("err_delete_confirm"))
    if not user.is_guest:
        if not password:
            return _page(visitor, 400, delete_error=t("err_password_needed"))
        try:
            accounts.verify_current_password(db, limits, user, password, address, now)
        except RateLimited:
            raise
        except AppError as exc:
            return _refused(visitor, exc, "delete")
    with write_transaction(db):
        accounts.delete_account(db, user)
    response = redirect(visitor, "/?deleted=1")
    clear_session_cookie(request, response)
    return response


def _reset_page(visitor: Visitor, token: str, user: User | None, status_code: int = 200,
                error: str | None = None) -> Response:
    response = render(visitor, "reset_password.html", {
        "invalid": user is None, "token": token, "username": user.username if user else None, "error": error,
    }, status_code=status_code)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    return response


@router.get("/account/reset/{token}", response_class=HTMLResponse)
def reset_page(token: ResetToken, visitor: VisitorDep, db: SessionDep, now: NowDep) -> Response:
    """The form behind a reset link; showing it uses nothing up (a link preview may fetch it)."""
    try:
        user = user_for_reset(db, token, now)
    except BadResetLink:
        return _reset_page(visitor, token, None, 400)
    return _reset_page(visitor, token, user)


@router.post("/account/reset/{token}")
def reset(token: ResetToken, request: Request, visitor: VisitorDep, db: SessionDep, now: NowDep,
          new_password: FormText = "") -> Response:
    """Set the new password through the link: it is used up, every session of the account ends (this
    browser's too, if it was signed in as that account), and the login page says so."""
    try:
        user = user_for_reset(db, token, now)
    except BadResetLink:
        return _reset_page(visitor, token, None, 400)
    try:
        password = rules.new_password(new_password)
    except rules.BadCredentials:
        return _reset_page(visitor, token, user, 422, translator(visitor.lang)("err_new_password_rules"))
    password_hash = hash_password(password)
    signed_in_as_it = visitor.user is not None and visitor.user.id == user.id
    try:
        with write_transaction(db):
            use_reset_link(db, token, password_hash, now)
    except BadResetLink:  # used meanwhile by another request
        return _reset_page(visitor, token, None, 400)
    response = redirect(visitor, "/login?reset=1")
    if signed_in_as_it:  # its session has just ended on the server
        clear_session_cookie(request, response)
    return response
