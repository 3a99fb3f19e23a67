"""Keyset pagination: a page of a list and the opaque cursor of the next one.

A list is read in the order of a key (a timestamp and the row's id, which breaks ties), and a page is the
next `limit` rows after the key of the last row the client has seen. The cost of a page is an index range
read of `limit + 1` rows, whatever the account's age (an OFFSET would read and discard every older row).

The cursor is that key packed in a fixed number of bytes and written in base64url: opaque to a client (it
passes `next` back unchanged), and every string of the documented length and alphabet is a position in the
list, so the OpenAPI pattern says exactly which cursors are valid and a schema-valid cursor is never
refused. Keys are never secrets: a list is always filtered by its owner first.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from app.errors import AppError

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100  # part of the API contract (the OpenAPI `maximum` of every `limit`), not a deployment setting

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_US = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_MAX_US = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None


class CursorKind:
    """One shape of key: a timestamp and an id packed by `fmt` (struct), `chars` base64url characters long
    (the packed size is a multiple of 3 bytes, so no padding and no unused bits)."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        size = struct.calcsize(fmt)
        assert size % 3 == 0, "a key that fills whole base64 groups: every string of its length decodes"
        self.chars = size // 3 * 4
        self.pattern = f"^[A-Za-z0-9_-]{{{self.chars}}}$"
        self._re = re.compile(self.pattern)

    def matches(self, cursor: str) -> bool:
        return self._re.fullmatch(cursor) is not None

    def _pack(self, when: datetime, tiebreak: bytes | int) -> str:
        us = (when.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
        return base64.urlsafe_b64encode(struct.pack(self.fmt, us, tiebreak)).decode("ascii")

    def _unpack(self, cursor: str) -> tuple[datetime, bytes | int]:
        if not self.matches(cursor):
            raise invalid_cursor()
        us, tiebreak = struct.unpack(self.fmt, base64.urlsafe_b64decode(cursor))
        # Any 64-bit number is a position: beyond the range of datetime it sorts like the range's end.
        return _EPOCH + timedelta(microseconds=min(max(us, _MIN_US), _MAX_US)), tiebreak


class HexIdCursor(CursorKind):
    """(timestamp, a 32-hex-digit id) — interviews, whose ids are secrets.token_hex(16)."""

    def __init__(self) -> None:
        super().__init__(">q16s")

    def encode(self, when: datetime, row_id: str) -> str:
        return self._pack(when, bytes.fromhex(row_id))

    def decode(self, cursor: str) -> tuple[datetime, str]:
        when, raw = self._unpack(cursor)
        assert isinstance(raw, bytes)
        return when, raw.hex()


class IntIdCursor(CursorKind):
    """(timestamp, an integer id) — attempts and review cards (an id beyond 2**32 - 1 never exists)."""

    def __init__(self) -> None:
        super().__init__(">qI")

    def encode(self, when: datetime, row_id: int) -> str:
        return self._pack(when, row_id)

    def decode(self, cursor: str) -> tuple[datetime, int]:
        when, raw = self._unpack(cursor)
        assert isinstance(raw, int)
        return when, raw


HEX_ID = HexIdCursor()
class CountIdCursor(CursorKind):
    """(a count, an integer id) — lists ordered by how often something happened, then by the row that
    happened last (the 错题本: times wrong, the latest mistake's attempt id)."""

    def __init__(self) -> None:
        super().__init__(">iQ")

    def encode(self, count: int, row_id: int) -> str:
        return base64.urlsafe_b64encode(struct.pack(self.fmt, count, row_id)).decode("ascii")

    def decode(self, cursor: str) -> tuple[int, int]:
        if not self.matches(cursor):
            raise invalid_cursor()
        count, row_id = struct.unpack(self.fmt, base64.urlsafe_b64decode(cursor))
        return count, row_id


INT_ID = IntIdCursor()
COUNT_ID = CountIdCursor()
CURSOR_HELP = "the `next` of the previous page, unchanged; leave it out for the first page"
INVALID_CURSOR = "not a cursor of this list: send a page's `next` unchanged, or no cursor for the first page"


def invalid_cursor() -> AppError:
    return AppError(f"cursor: {INVALID_CURSOR}", status_code=422)


def page_of(rows: list[T], limit: int, cursor_of) -> Page[T]:
    """The first `limit` of `rows` (read with limit + 1) and the cursor after the last, if more follow."""
    if len(rows) > limit:
        return Page(rows[:limit], cursor_of(rows[limit - 1]))
    return Page(rows, None)
