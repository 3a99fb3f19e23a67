"""A scheduler fitted to each candidate: when a fit starts, the separate process that runs it, and what the
candidate sees of it (docs/fsrs-fit.md).

A fit never runs in a web process: claiming it (a row per user, `state` = running, under the row's lock) is
part of the write that asks for it, and the process (`python -m app.practice.fit_job`) is started only once
that write has committed, detached, as the judge's server is (app.judge.client). At most one fit runs per
user: a claim while one runs is refused, unless it has run past MIANJING_FSRS_FIT_TIMEOUT_S (its process
died), when it counts as failed.

Fits start on demand (POST /api/v1/me/scheduler/fit, rate-limited per account) and automatically: a review
that brings the candidate to MIANJING_FSRS_FIT_MIN_REVIEWS reviews starts the first, and afterwards one starts
each time MIANJING_FSRS_FIT_EVERY reviews have been added since the last one started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, func, select

from app import rate_limits
from app.db import for_update, write_transaction
from app.errors import AppError
from app.models import Attempt, SchedulerFit, User
from app.practice.fsrs_fit import default_parameters
from app.rate_limits import Limits
from app.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]
NICE = shutil.which("nice")
STATES = ("idle", "running", "failed")


@dataclass(frozen=True)
class FitPolicy:
    min_reviews: int
    every: int
    holdout: float
    timeout: timedelta
    log: Path

    @classmethod
    def from_settings(cls, s: Settings) -> FitPolicy:
        return cls(min_reviews=s.fsrs_fit_min_reviews, every=s.fsrs_fit_every, holdout=s.fsrs_fit_holdout,
                   timeout=timedelta(seconds=s.fsrs_fit_timeout_s), log=s.fsrs_fit_log.resolve())


# The policy of each engine the app made (create_app): the reviews recorded through it may start a fit. An
# engine nobody configured (a script's, a test's plain Session) starts none.
_policies: weakref.WeakKeyDictionary[Engine, FitPolicy] = weakref.WeakKeyDictionary()
_children: list[subprocess.Popen[bytes]] = []


def configure(engine: Engine, policy: FitPolicy) -> None:
    _policies[engine] = policy


def _engine_of(db: Session) -> Engine:
    modes = db.info.get("modes")
    return modes.writer if modes is not None else db.get_bind()  # type: ignore[return-value]


def parameters_of(db: Session, user_id: int) -> list[float] | None:
    """The candidate's fitted parameters, None until a fit succeeded (the defaults)."""
    row = db.get(SchedulerFit, user_id)
    return row.parameters if row is not None else None


def review_count(db: Session, user_id: int, since: datetime | None = None) -> int:
    """The candidate's reviews (rated answers; an open answer waiting for its rating is none), made after
    `since` if given."""
    stmt = select(func.count()).select_from(Attempt).where(Attempt.user_id == user_id, col(Attempt.rating).is_not(None))
    if since is not None:
        stmt = stmt.where(col(Attempt.created_at) > since)
    return db.exec(stmt).one()


def _running(row: SchedulerFit | None, now: datetime, timeout: timedelta) -> bool:
    return row is not None and row.state == "running" and row.started_at is not None and row.started_at > now - timeout


def claim(db: Session, user_id: int, now: datetime, policy: FitPolicy, *, start_process: bool = True) -> bool:
    """Mark a fit of the user's log running (inside the caller's write), its process to start once the write
    commits (unless the caller runs it: `mianjing fsrs fit`); False when one runs already."""
    stmt = for_update(select(SchedulerFit).where(SchedulerFit.user_id == user_id))
    row = db.exec(stmt).first()
    if row is None:
        try:
            with db.begin_nested():  # a concurrent first claim may have won the insert
                row = SchedulerFit(user_id=user_id)
                db.add(row)
        except IntegrityError:
            row = db.exec(stmt).first()
            assert row is not None
    if _running(row, now, policy.timeout):
        return False
    row.state, row.started_at, row.finished_at, row.error = "running", now, None, None
    db.add(row)
    db.flush()
    if start_process:
        db.info.setdefault("fits_to_start", {})[user_id] = (_engine_of(db), policy)
    return True


def note_review(db: Session, user_id: int, now: datetime) -> None:
    """Called in the write of every new review: the one that crosses the threshold, or adds the N-th review
    since the last fit started, claims a fit."""
    policy = _policies.get(_engine_of(db))
    if policy is None:
        return
    row = db.get(SchedulerFit, user_id)
    if _running(row, now, policy.timeout):
        return
    since = row.started_at if row is not None else None
    need = policy.every if since is not None else policy.min_reviews
    if review_count(db, user_id, since) >= need:
        claim(db, user_id, now, policy)


def request_fit(db: Session, limits: Limits, user: User, now: datetime, policy: FitPolicy) -> dict[str, Any]:
    """A fit the candidate asked for: 409 below the threshold, 429 past the account's hourly fits; while one
    runs, its status (nothing new starts, nothing is counted)."""
    assert user.id is not None
    reviews = review_count(db, user.id)
    if reviews < policy.min_reviews:
        raise AppError(f"a fit needs at least {policy.min_reviews} reviews; you have {reviews}: until then the "
                       "default parameters schedule your reviews", status_code=409)
    with write_transaction(db):
        if not _running(db.exec(for_update(select(SchedulerFit).where(SchedulerFit.user_id == user.id))).first(),
                        now, policy.timeout):
            rate_limits.admit(db, now, (limits.scheduler_fits, str(user.id)))
            claim(db, user.id, now, policy)
    return status(db, user, now, policy)


def status(db: Session, user: User, now: datetime, policy: FitPolicy) -> dict[str, Any]:
    """What GET /me/scheduler and the dashboard show."""
    assert user.id is not None
    row = db.get(SchedulerFit, user.id)
    if row is not None:
        db.refresh(row)  # the fit process writes it: not what this session may have read before
    state, error = (row.state, row.error) if row is not None else ("idle", None)
    if state == "running" and not _running(row, now, policy.timeout):
        state, error = "failed", f"the fit did not finish within {policy.timeout.total_seconds():.0f} s"

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "state": state, "error": error,
        "fitted": row is not None and row.parameters is not None,
        "parameters": row.parameters if row is not None and row.parameters is not None else default_parameters(),
        "fitted_at": iso(row.fitted_at) if row else None, "started_at": iso(row.started_at) if row else None,
        "finished_at": iso(row.finished_at) if row else None,
        "reviews": review_count(db, user.id), "reviews_at_fit": row.reviews_at_fit if row else 0,
        "min_reviews": policy.min_reviews, "refit_every": policy.every,
        "metrics": row.metrics if row else None, "forecast": row.forecast if row else None,
        "desired_retention": user.desired_retention,
    }


def spawn(engine: Engine, user_id: int, policy: FitPolicy) -> subprocess.Popen[bytes] | None:
    """Start the fit process for a claimed fit, detached (its own session: it outlives a worker's restart)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None  # a private in-memory database: no other process can see it (the claim times out)
    _children[:] = [p for p in _children if p.poll() is None]  # reap the finished ones: no zombies pile up
    policy.log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(PROJECT), MIANJING_DATABASE_URL=url.render_as_string(hide_password=False))
    # At the lowest CPU priority, its imports included: the web workers beside it come first (docs/benchmarks.md).
    nice = [NICE, "-n", "19"] if NICE else []
    with open(policy.log, "ab") as log:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*nice, sys.executable, "-m", "app.practice.fit_job", str(user_id), "--holdout", str(policy.holdout),
             "--min-reviews", str(policy.min_reviews)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env, cwd=str(PROJECT))
    _children.append(child)
    return child


@event.listens_for(OrmSession, "after_commit")
def _start_claimed(session: OrmSession) -> None:
    for user_id, (engine, policy) in session.info.pop("fits_to_start", {}).items():
        spawn(engine, user_id, policy)


@event.listens_for(OrmSession, "after_rollback")
def _forget_claimed(session: OrmSession) -> None:
    session.info.pop("fits_to_start", None)
