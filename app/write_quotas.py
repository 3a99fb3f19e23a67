"""Write quotas: how often one account, and one client address, may write answers, and how much answer text
they may add to the database (docs/security.md, "Writes and storage").

What counts: every answer-carrying write (an autosave, a signed-in check, a self-rating) is one write; the
text it adds is its size as JSON text (answer_size). A check stores a new attempt, so it counts its whole
answer; an autosave replaces the answer at its position, so it counts only what it adds to the stored one
(InterviewAnswer.answer_chars), nothing when it shortens it. Counting the characters sent instead would
charge a candidate again for every character at every autosave (a 2,000-character answer typed over 20
minutes is sent a few hundred times), which no hourly quota that stops an abuser would survive; the
growth is what the database keeps, and it is what these quotas bound.

Fixed windows (a clock minute, a clock hour). Each process keeps a ledger in memory and shares it through
one table, QuotaCounter (key, window end, used), so that every worker counts every worker's writes:
- a write is admitted or refused in memory, against what the table said (at most SYNC_S old) plus what
  this process has admitted since: no statement on the request path once a key is known, so a quota
  costs an autosave microseconds, and no hot counter row (a class behind one address shares its
  per-address key) is updated on every write;
- what a process admitted is added to the table every SYNC_S by one upsert per key (Ledger.sync, a thread
  started with the app), which also brings back every worker's sum.
Within one process a quota is exact: the check and the reservation happen together under a lock, and a
write that fails gives its reservation back. Across N workers a key can pass its quota by at most what the
other workers admitted in the last 2 × SYNC_S (their view of it is that old at most); the per-address
budgets are sized so that this does not matter (docs/security.md). A crash forgets at most SYNC_S of
admissions, which errs towards the client.
A fixed window lets a client spend a quota at the end of one window and again at the start of the next:
at most twice a quota in any sliding minute or hour.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.db import request_session, write_transaction
from app.errors import AppError
from app.models import QuotaCounter
from app.rate_limits import RateLimited, limit_key
from app.settings import Settings

SYNC_S = 0.5  # how old a process's view of another worker's writes may get
IDLE_S = 10.0  # a counter unused this long is no longer followed (read again at its next use)
SWEEP_S = 60.0  # between deletions of the windows that have ended
_COUNTERS = QuotaCounter.__table__.c  # type: ignore[attr-defined]
log = logging.getLogger(__name__)


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
Slot = tuple[str, int]  # a counter: key and window end


class Ledger:
    """One process's view of the quota counters (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()  # one sync at a time: the app's thread, or a caller flushing now
        self._known: dict[Slot, int] = {}  # the table's sums, as last read or synced
        self._last_use: dict[Slot, float] = {}  # time.monotonic() of a slot's last request here
        self._reserved: dict[Slot, int] = defaultdict(int)  # admitted, their write not yet committed
        self._pending: dict[Slot, int] = defaultdict(int)  # committed here, not yet added to the table
        self._syncing: dict[Slot, int] = {}  # being added to the table now
        self._swept = 0.0

    def reserve(self, db: Session, now: datetime, charges: tuple[Charge, ...]) -> list[tuple[Slot, int]]:
        """Admit the charges or raise RateLimited; an admitted charge is counted at once (two requests at once
        cannot both pass the last unit). Reads the table only for counters this process is not following."""
        for quota, _value, amount in charges:
            if amount > quota.allowed:  # no window would ever hold it
                raise AppError(f"the answer is {amount} characters as JSON, more than the {quota.allowed} that may "
                               "be stored in an hour", status_code=422)
        slots = [((quota.key(value), quota.window_end(now)), amount) for quota, value, amount in charges]
        with self._lock:
            unknown = [slot for slot, _amount in slots if slot not in self._known]
        if unknown:
            self._learn(_read(db, unknown))
        at = time.monotonic()
        with self._lock:
            for slot, _amount in slots:
                self._last_use[slot] = at
            over = [quota for (quota, _v, _a), (slot, amount) in zip(charges, slots, strict=True)
                    if self._used(slot) + amount > quota.allowed]
            if over:
                quota = max(over, key=lambda q: q.wait(now))
                raise RateLimited(quota.message, quota.wait(now))
            for slot, amount in slots:
                self._reserved[slot] += amount
        return slots

    def settle(self, slots: list[tuple[Slot, int]], *, committed: bool) -> None:
        """The reserved write committed (its charges wait for the next sync) or failed (they are given back)."""
        with self._lock:
            for slot, amount in slots:
                self._reserved[slot] -= amount
                if not self._reserved[slot]:
                    del self._reserved[slot]
                if committed:
                    self._pending[slot] += amount

    def sync(self, engine: Engine, now: float) -> None:
        """Add what this process committed to the table in one write, then learn every worker's sums of the
        counters in use here (one read); forget the ones idle for IDLE_S or whose window has ended by `now`
        (the server clock's, seconds since the epoch)."""
        with self._sync_lock:
            self._sync(engine, now)

    def _sync(self, engine: Engine, now: float) -> None:
        at = time.monotonic()
        with self._lock:
            for slot in [s for s, used in self._last_use.items() if used < at - IDLE_S or s[1] <= now]:
                del self._last_use[slot]
                self._known.pop(slot, None)
            self._syncing, self._pending = dict(self._pending), defaultdict(int)
            batch, following = self._syncing, list(self._last_use)
        sweep = now - self._swept >= SWEEP_S
        try:
            if batch or sweep:
                with request_session(engine) as db, write_transaction(db):
                    conn = db.connection()
                    stmt = _add(conn.dialect.name)
                    for (key, end), amount in sorted(batch.items()):  # one order: no deadlock between workers
                        conn.execute(stmt, {"key": key, "end": end, "amount": amount})
                    if sweep:  # the table keeps only the windows that are open
                        db.exec(delete(QuotaCounter).where(col(QuotaCounter.window_end) <= math.floor(now)))
        except Exception:
            with self._lock:  # kept for the next sync
                for slot, amount in batch.items():
                    self._pending[slot] += amount
                self._syncing = {}
            raise
        if sweep:
            self._swept = now
        with request_session(engine) as db:
            sums = _read(db, following) if following else {}
        with self._lock:  # together: the sums include the batch now
            self._syncing = {}
            for slot, used in sums.items():
                if slot in self._last_use:
                    self._known[slot] = used

    def _learn(self, sums: dict[Slot, int]) -> None:
        with self._lock:
            for slot, used in sums.items():
                self._known.setdefault(slot, used)

    def _used(self, slot: Slot) -> int:
        return (self._known.get(slot, 0) + self._reserved.get(slot, 0) + self._pending.get(slot, 0)
                + self._syncing.get(slot, 0))


def _read(db: Session, slots: list[Slot]) -> dict[Slot, int]:
    """The table's sums of these counters (0 for a counter without a row)."""
    found = {(key, end): used for key, end, used in db.connection().execute(_READ, {"slots": slots}).all()}
    return {slot: found.get(slot, 0) for slot in slots}


# Built once: they run on the request path and in every sync.
_READ = select(_COUNTERS.key, _COUNTERS.window_end, _COUNTERS.used).where(
    tuple_(_COUNTERS.key, _COUNTERS.window_end).in_(bindparam("slots", expanding=True)))


@functools.cache
def _add(dialect: str):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(QuotaCounter).values(key=bindparam("key"), window_end=bindparam("end"), used=bindparam("amount"))
    return stmt.on_conflict_do_update(
        index_elements=["key", "window_end"], set_={"used": _COUNTERS.used + stmt.excluded.used},
    )


@dataclass(frozen=True)
class WriteQuotas:
    """The write quotas of the service, from the settings (app.state.write_quotas), and this process's ledger."""

    writes: Quota  # per account, per minute
    writes_address: Quota  # per client address, per minute
    chars: Quota  # per account, per hour
    chars_address: Quota  # per client address, per hour
    ledger: Ledger = field(default_factory=Ledger, compare=False)

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

    def text_charges(self, user_id: int, address: str, chars: int) -> tuple[Charge, ...]:
        """Only the text part of a write's charges (an autosave learns what it adds inside its write)."""
        return self.charges(user_id, address, chars)[2:]

    @contextmanager
    def admitted(self, db: Session, now: datetime, charges: tuple[Charge, ...]) -> Iterator[Admission]:
        """Admit a write the quotas count before it begins (in memory, or one read), or raise RateLimited; its
        charges are given back if the block fails. Admission.charge() adds what is learnt while writing."""
        admission = Admission(self, db, now, self.ledger.reserve(db, now, charges))
        try:
            yield admission
        except BaseException:
            self.ledger.settle(admission.slots, committed=False)
            raise
        self.ledger.settle(admission.slots, committed=True)

    @contextmanager
    def charged_write(self, db: Session, now: datetime, charges: tuple[Charge, ...]) -> Iterator[Admission]:
        """admitted() around a write_transaction."""
        with self.admitted(db, now, charges) as admission, write_transaction(db):
            yield admission

    def run_sync(self, engine: Engine, clock: Callable[[], datetime], stop: threading.Event) -> None:
        """The ledger's sync every SYNC_S until `stop`, and once more after it (a thread of the app's)."""
        failing = False
        while True:
            stopping = stop.wait(SYNC_S)
            try:
                self.ledger.sync(engine, clock().timestamp())
                failing = False
            except Exception:
                if not failing:  # once per outage, not four times a second
                    log.exception("write quotas: cannot add the counts to the database; kept for the next try")
                failing = True
            if stopping:
                return


@dataclass
class Admission:
    """A write admitted by the quotas, open for charges it learns while writing."""

    quotas: WriteQuotas
    db: Session
    now: datetime
    slots: list[tuple[Slot, int]]

    def charge(self, charges: tuple[Charge, ...]) -> None:
        """Admit more charges for this write, or raise RateLimited (the write is rolled back)."""
        if charges:
            self.slots += self.quotas.ledger.reserve(self.db, self.now, charges)
