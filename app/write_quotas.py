"""Write quotas: how often one account, and one client address, may write answers, and how much answer text
they may add to the database (docs/security.md, "Writes and storage").

What counts: every answer-carrying write (an autosave, a signed-in check, a self-rating) is one write; the
text it adds is its size as JSON text (answer_size). A check stores a new attempt, so it counts its whole
answer; an autosave replaces the answer at its position, so it counts only what it adds to the stored one
(InterviewAnswer.answer_chars), nothing when it shortens it. Counting the characters sent instead would
charge a candidate again for every character at every autosave (a 2,000-character answer typed over 20
minutes is sent a few hundred times), which no hourly quota that stops an abuser would survive; the
growth is what the database keeps, and it is what these quotas bound.

Fixed windows (a clock minute, a clock hour) in one table, QuotaCounter (key, window end, used), so that
every worker process counts the same writes, at one row per key and window:
- a refusal is a plain read (check): no write lock, nothing written;
- an admitted write adds its charges in its own write transaction, after its writes (charged_write), by an
  upsert that adds only while the sum stays within the quota (ON CONFLICT ... DO UPDATE ... WHERE, on
  SQLite and PostgreSQL). Two requests checked at once cannot both pass the last unit: on PostgreSQL the
  second waits for the first's row lock and then sees its sum, on SQLite writers are serialised; the one
  that finds no room is refused and its write rolled back with it.
A fixed window lets a client spend a quota at the end of one window and again at the start of the next:
at most twice a quota in any sliding minute or hour, and never more than one per clock window.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.db import write_transaction
from app.errors import AppError
from app.models import QuotaCounter
from app.rate_limits import RateLimited, limit_key
from app.settings import Settings

SWEEP_EVERY = 500  # recorded writes per process between sweeps of the windows that have ended
_recorded = itertools.count(1)
_COUNTERS = QuotaCounter.__table__.c  # type: ignore[attr-defined]


def answer_size(answer: Any) -> int:
    """An answer's size as the quotas count it: the length of its compact JSON text in characters (a typed
    answer: its characters, its escapes and two quotes). Structure counts, so that a list of ten thousand
    empty strings, which has no characters, is not free."""
    return len(json.dumps(answer, ensure_ascii=False, separators=(",", ":")))


@dataclass(frozen=True)
class Quota:
    kind: str  # the key's prefix: one per quota
    allowed: int  # per window
    window_s: int  # a window's length; windows start at multiples of it since the epoch
    message: str  # the 429's detail; {seconds} is the wait

    def key(self, value: str) -> str:
        return limit_key(self.kind, value)

    def window_end(self, now: datetime) -> int:
        return math.floor(now.timestamp()) // self.window_s * self.window_s + self.window_s

    def wait(self, now: datetime) -> float:
        """Seconds until the next window opens."""
        return self.window_end(now) - now.timestamp()


Charge = tuple[Quota, str, int]  # a quota, whose (an account id or an address), and how much of it


@dataclass(frozen=True)
class WriteQuotas:
    """The write quotas of the service, from the settings (app.state.write_quotas)."""

    writes: Quota  # per account, per minute
    writes_address: Quota  # per client address, per minute
    chars: Quota  # per account, per hour
    chars_address: Quota  # per client address, per hour

    @classmethod
    def from_settings(cls, s: Settings) -> WriteQuotas:
        return cls(
            writes=Quota("writes", s.limit_writes_per_minute, 60,
                         f"这个账号保存得太频繁（每分钟最多 {s.limit_writes_per_minute} 次），请 {{seconds}} 秒后再试。"),
            writes_address=Quota("writes-address", s.limit_writes_per_address_per_minute, 60,
                                 "这个地址保存得太频繁，请 {seconds} 秒后再试。"),
            chars=Quota("chars", s.limit_answer_chars_per_hour, 3600,
                        f"这个账号这一小时保存的答案文字已达上限（{s.limit_answer_chars_per_hour} 字），"
                        f"请 {{seconds}} 秒后再试。"),
            chars_address=Quota("chars-address", s.limit_answer_chars_per_address_per_hour, 3600,
                                "这个地址这一小时保存的答案文字已达上限，请 {seconds} 秒后再试。"),
        )

    def charges(self, user_id: int, address: str, chars: int = 0) -> tuple[Charge, ...]:
        """What one answer-carrying write that adds `chars` characters costs its account and its address."""
        account = str(user_id)
        writes = ((self.writes, account, 1), (self.writes_address, address, 1))
        if chars <= 0:
            return writes
        return (*writes, (self.chars, account, chars), (self.chars_address, address, chars))


# Built once: this runs on every autosave.
_USED = select(_COUNTERS.key, _COUNTERS.used).where(
    _COUNTERS.key.in_(bindparam("keys", expanding=True)), _COUNTERS.window_end > bindparam("now"))


def check(db: Session, now: datetime, charges: tuple[Charge, ...]) -> None:
    """Raise RateLimited if any charge would take its key past its quota now: a plain read, before the write
    (no write lock, nothing written); record() decides, in the write."""
    for quota, _value, amount in charges:
        if amount > quota.allowed:  # no window would ever hold it
            raise AppError(f"the answer is {amount} characters as JSON, more than the {quota.allowed} that may be "
                           "stored in an hour", status_code=422)
    keys = [quota.key(value) for quota, value, _amount in charges]
    used = dict(db.connection().execute(_USED, {"keys": keys, "now": math.floor(now.timestamp())}).all())
    over = [quota for (quota, _value, amount), key in zip(charges, keys, strict=True)
            if used.get(key, 0) + amount > quota.allowed]
    if over:
        quota = max(over, key=lambda q: q.wait(now))
        raise RateLimited(quota.message, quota.wait(now))


@functools.cache
def _add(dialect: str):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(QuotaCounter).values(key=bindparam("key"), window_end=bindparam("end"), used=bindparam("amount"))
    return stmt.on_conflict_do_update(
        index_elements=["key", "window_end"], set_={"used": _COUNTERS.used + stmt.excluded.used},
        where=_COUNTERS.used + stmt.excluded.used <= bindparam("allowed"),
    ).returning(_COUNTERS.used)


def record(db: Session, now: datetime, charges: tuple[Charge, ...]) -> None:
    """Add the charges inside the caller's write transaction, or raise RateLimited when a request admitted
    meanwhile has used the room up (the caller's write is rolled back with it). Keys are added to in one
    order, so two writers on PostgreSQL never wait for each other's counters in a cycle."""
    conn = db.connection()
    stmt = _add(conn.dialect.name)
    for quota, value, amount in sorted(charges, key=lambda c: c[0].key(c[1])):
        added = conn.execute(stmt, {"key": quota.key(value), "end": quota.window_end(now), "amount": amount,
                                    "allowed": quota.allowed}).first()
        if added is None:
            raise RateLimited(quota.message, quota.wait(now))
    if next(_recorded) % SWEEP_EVERY == 0:  # what the table keeps stays bounded: the windows that are open
        db.exec(delete(QuotaCounter).where(col(QuotaCounter.window_end) <= math.floor(now.timestamp())))


@contextmanager
def charged_write(db: Session, now: datetime, charges: tuple[Charge, ...]) -> Iterator[Session]:
    """write_transaction for a write that the quotas count: refused before it begins (check, a read), the
    charges recorded at its end, in its transaction."""
    check(db, now, charges)
    with write_transaction(db):
        yield db
        record(db, now, charges)
