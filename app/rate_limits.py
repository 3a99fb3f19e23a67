"""Sliding-window rate limits counted in the database, so that every worker process (and the service after a
restart) sees the same events.

One table (RateLimitEvent: a key and a time) and one rule: a key may have `events` events in any `window`.
With a back-off, the events past those are not refused for the rest of the window but spaced out: the k-th
one past them (k = 1, 2, ...) waits `backoff * 2**(k-1)` after the event before it, never more than
`max_backoff`. What is limited (docs/security.md):

- guest accounts created per client address (API, POST /start, POST /guest) and registrations per address;
- interviews started per account, and per address whatever the account;
- logins: per (account, client address) with the back-off, so that a stranger guessing a password slows
  down only their own guesses, and per address whatever the account (password spraying); successful logins
  per address, as each stores a session.

A check and its record run in one write transaction under a lock on each key (pg_advisory_xact_lock on
PostgreSQL; on SQLite the write lock already serialises every writer of every process), so concurrent
requests on any number of workers never get past a limit together.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, text
from sqlmodel import Session, col, delete, select
from starlette.requests import HTTPConnection

from app.db import write_transaction
from app.errors import AppError
from app.models import RateLimitEvent
from app.settings import Settings

LONGEST_WINDOW = timedelta(days=1)  # no limit remembers longer; older events are swept
SWEEP_EVERY = 200  # admissions per process between sweeps of every key's expired events
_admissions = itertools.count(1)


def client_address(request: HTTPConnection) -> str:
    """The address every limit counts: the peer uvicorn saw, or, when that peer is one of
    MIANJING_TRUSTED_PROXIES, the client that proxy named in X-Forwarded-For (uvicorn's
    forwarded_allow_ips, set by `mianjing serve`). Nobody else's X-Forwarded-For is believed."""
    return request.client.host if request.client and request.client.host else "unknown"


def limit_key(kind: str, value: str) -> str:
    """A key for any value a client sends: hashed, so NUL bytes, lone surrogates or odd lengths reach the
    database as 64 hex digits."""
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


class RateLimited(AppError):
    """429 with Retry-After in whole seconds (at least 1)."""

    status_code = 429

    def __init__(self, message: str, wait: float) -> None:
        seconds = max(1, math.ceil(wait))
        super().__init__(message.format(seconds=seconds), headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


@dataclass(frozen=True)
class Limit:
    kind: str  # the key's prefix: one per limit
    events: int  # allowed in any `window` (with a back-off: before the back-off starts)
    window: timedelta
    message: str  # the 429's detail; {seconds} is the wait
    backoff: timedelta | None = None
    max_backoff: timedelta | None = None

    def __post_init__(self) -> None:
        if self.window > LONGEST_WINDOW:
            raise ValueError(f"{self.kind}: the sweep forgets events older than {LONGEST_WINDOW}")
        if (self.backoff is None) != (self.max_backoff is None):
            raise ValueError(f"{self.kind}: a back-off needs both its first and its longest wait")

    def key(self, value: str) -> str:
        return limit_key(self.kind, value)

    def wait(self, db: Session, value: str, now: datetime) -> float:
        """Seconds until `value` may have another event (0: now)."""
        key, since = self.key(value), now - self.window
        if self.backoff is None or self.max_backoff is None:
            # The oldest of the last `events` events leaves the window first.
            recent = db.exec(select(RateLimitEvent.at).where(RateLimitEvent.key == key, RateLimitEvent.at > since)
                             .order_by(col(RateLimitEvent.at).desc()).limit(self.events)).all()
            if len(recent) < self.events:
                return 0.0
            return max(0.0, (recent[-1] + self.window - now).total_seconds())
        count, last = db.exec(select(func.count(), func.max(RateLimitEvent.at))
                              .where(RateLimitEvent.key == key, RateLimitEvent.at > since)).one()
        if count < self.events:
            return 0.0
        extra = count - self.events  # events already past the free ones
        delay = self.max_backoff if extra >= 40 else min(self.max_backoff, self.backoff * 2**extra)
        return max(0.0, (last + delay - now).total_seconds())


Check = tuple[Limit, str]  # a limit and the value (address, account, ...) it counts


def check(db: Session, now: datetime, *checks: Check) -> None:
    """Raise RateLimited if any of `checks` is at its limit now. A plain read, without the lock: a cheap
    refusal before expensive work (argon2); admit() decides."""
    _refuse_if_waiting(db, now, checks)


def admit(db: Session, now: datetime, *checks: Check) -> list[int]:
    """Record one event for each check, or raise RateLimited and record none. Joins the caller's write
    transaction (or runs in one of its own): the events are rolled back with it if the caller fails later,
    so a request refused for another reason (a username taken, an interview already running) costs nothing.
    Returns the events' ids, in the order of `checks`."""
    with write_transaction(db):
        lock(db, *checks)
        _refuse_if_waiting(db, now, checks)
        for limit, value in checks:  # this key's expired events: what a key keeps stays bounded
            db.exec(delete(RateLimitEvent).where(RateLimitEvent.key == limit.key(value),
                                                 RateLimitEvent.at <= now - limit.window))
        if next(_admissions) % SWEEP_EVERY == 0:  # keys never seen again (an address that went away)
            db.exec(delete(RateLimitEvent).where(RateLimitEvent.at <= now - LONGEST_WINDOW))
        events = [RateLimitEvent(key=limit.key(value), at=now) for limit, value in checks]
        db.add_all(events)
        db.flush()
        return [e.id for e in events if e.id is not None]  # all of them: flushed


def lock(db: Session, *checks: Check) -> None:
    """Serialise, until the write transaction ends, every request that counts these keys. Keys are locked in
    one order, so two requests locking overlapping keys never deadlock; taking a lock twice is harmless."""
    if db.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE has serialised every writer already
    for key in sorted({limit.key(value) for limit, value in checks}):
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        db.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def forget(db: Session, limit: Limit, value: str) -> None:
    """Drop every event of this key (a correct password ends that account's back-off from that address)."""
    db.exec(delete(RateLimitEvent).where(RateLimitEvent.key == limit.key(value)))


def forget_events(db: Session, ids: list[int]) -> None:
    if ids:
        db.exec(delete(RateLimitEvent).where(col(RateLimitEvent.id).in_(ids)))


def _refuse_if_waiting(db: Session, now: datetime, checks: tuple[Check, ...]) -> None:
    waits = [(limit.wait(db, value, now), limit) for limit, value in checks]
    wait, limit = max(waits, key=lambda w: w[0])
    if wait > 0:
        raise RateLimited(limit.message, wait)


@dataclass(frozen=True)
class Limits:
    """Every rate limit of the service, from the settings (app.state.limits)."""

    guests: Limit
    registrations: Limit
    interviews: Limit
    interviews_address: Limit
    login_account: Limit  # per (account, address), with the back-off
    login_address: Limit
    logins_address: Limit  # successful logins, each a new session
    code_runs: Limit  # code checks and example runs per account: each takes a sandbox
    scheduler_fits: Limit  # fits of the scheduler asked for per account: each runs a process
    problem_reports: Limit  # 纠错 reports per account: each lands in the admins' queue

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        hour, day = timedelta(hours=1), timedelta(days=1)
        login = "登录失败次数过多，请 {seconds} 秒后再试。"
        return cls(
            guests=Limit("guest", s.limit_guests_per_hour, hour, "这个地址创建游客账号太频繁，请 {seconds} 秒后再试。"),
            registrations=Limit("register", s.limit_registrations_per_hour, hour,
                                "这个地址注册账号太频繁，请 {seconds} 秒后再试。"),
            interviews=Limit("interview", s.limit_interviews_per_day, day,
                             "24 小时内开始的面试已达上限，请 {seconds} 秒后再试。"),
            interviews_address=Limit("interview-address", s.limit_interviews_per_address_per_hour, hour,
                                     "这个地址一小时内开始的面试已达上限，请 {seconds} 秒后再试。"),
            # Remembered for a day: a quiet day forgets an account's failures from an address.
            login_account=Limit("login", s.limit_login_free_failures, day, login,
                                backoff=timedelta(seconds=s.limit_login_backoff_seconds),
                                max_backoff=timedelta(seconds=s.limit_login_backoff_max_seconds)),
            login_address=Limit("login-address", s.limit_login_failures_per_address_per_hour, hour, login),
            logins_address=Limit("logins-address", s.limit_logins_per_address_per_hour, hour,
                                 "这个地址一小时内登录的次数已达上限，请 {seconds} 秒后再试。"),
            code_runs=Limit("code-run", s.limit_code_runs_per_minute, timedelta(minutes=1),
                            "代码提交太频繁，请 {seconds} 秒后再试。"),
            scheduler_fits=Limit("fsrs-fit", s.limit_fsrs_fits_per_hour, hour,
                                 "一小时内重新拟合复习算法的次数已达上限，请 {seconds} 秒后再试。"),
            problem_reports=Limit("problem-report", s.limit_problem_reports_per_hour, hour,
                                  "一小时内提交的纠错已达上限，请 {seconds} 秒后再试。"),
        )
