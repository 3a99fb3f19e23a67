"""The rules for the text a client sends, in one place for the API, the pages and the command line.

Text, every string of a body, a form or a login: no NUL (PostgreSQL refuses it in text) and no lone
surrogate (no encoding takes one); NUL in a URL is refused at the edge (app/limits.py). A new username is 3
to 32 letters, digits, `_ . -` or CJK ideographs (outer spaces dropped); a password 8 to 256 characters of
text; a login may name any stored account, in up to 64 characters.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, StringConstraints, TypeAdapter, ValidationError

from app.scoring.answers import text_problem

USERNAME_MIN_CHARS, USERNAME_MAX_CHARS = 3, 32
USERNAME_PATTERN = r"^[A-Za-z0-9_.\-\u4e00-\u9fff]+$"
PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS = 8, 256
LOGIN_NAME_MAX_CHARS = 64  # the column's size: a login may name an account made before these rules


def _text(value: str) -> str:
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


# A string field of a JSON body or a form (with Form(...) in its Annotated): text, or a 422.
Text = Annotated[str, AfterValidator(_text)]

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=USERNAME_MIN_CHARS,
                                            max_length=USERNAME_MAX_CHARS, pattern=USERNAME_PATTERN)]
Password = Annotated[str, StringConstraints(min_length=PASSWORD_MIN_CHARS, max_length=PASSWORD_MAX_CHARS),
                     AfterValidator(_text)]


class Credentials(BaseModel):
    username: Username
    password: Password


class BadCredentials(ValueError):
    """`field` ("username" or "password") breaks the rules; str() says how, in English."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def new_credentials(username: str, password: str) -> tuple[str, str]:
    """The (username, password) of a new account, by the rules of the API's Credentials body; BadCredentials
    names the first field that breaks them."""
    try:
        creds = Credentials(username=username, password=password)
    except ValidationError as exc:
        raise _bad(exc) from None
    return creds.username, creds.password


def new_password(password: str) -> str:
    """A new password for an existing account, by the same rules."""
    try:
        return _PASSWORD.validate_python(password)
    except ValidationError as exc:
        raise _bad(exc, "password") from None


def login_problem(username: str, password: str) -> str | None:
    """Why these cannot be anybody's credentials (no account could match), or None."""
    if len(username) > LOGIN_NAME_MAX_CHARS or len(password) > PASSWORD_MAX_CHARS:
        return "username or password too long"
    return text_problem(username) or text_problem(password)


_PASSWORD = TypeAdapter(Password)


def _bad(exc: ValidationError, field: str | None = None) -> BadCredentials:
    first = exc.errors()[0]
    field = field or str(first["loc"][0])
    return BadCredentials(field, f"{field}: {first['msg']}")
