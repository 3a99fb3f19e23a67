"""Guest accounts nobody kept expire: a guest unseen for the time to live (MIANJING_GUEST_TTL_DAYS, since
its last request, User.last_seen_at) is removed with everything it left: sessions, interviews and their
answers, practice attempts, review cards, bookmarks and notes. `mianjing db prune` runs this from cron, beside the service.

It runs safely while serving: a few accounts per batch, each batch one short write transaction of its own
(a few milliseconds holding SQLite's write lock; row locks on PostgreSQL), with a pause between batches so
that the service's own writers, waiting on SQLite's busy handler, get the lock in between. Each batch
chooses its accounts inside its transaction, so an account that came back (a new last_seen_at) or was
kept meanwhile is not removed; on PostgreSQL the chosen rows are locked FOR UPDATE, and an account a
request is touching at that moment is skipped (SKIP LOCKED), left for the next run.

With the default time to live (30 days, the lifetime of a session) a pruned guest can no longer sign in
anyway: a guest has no password, and its last session expired when it was last seen plus 30 days.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.db import request_session, write_transaction
from app.models import (
    Attempt,
    AuthSession,
    Interview,
    InterviewAnswer,
    PasswordResetToken,
    ProblemReport,
    QuestionMark,
    ReviewCard,
    SchedulerFit,
    User,
)


@dataclass
class Pruned:
    accounts: int = 0
    sessions: int = 0
    interviews: int = 0
    answers: int = 0
    attempts: int = 0
    review_cards: int = 0
    marks: int = 0  # bookmarks and notes
    reset_links: int = 0  # a guest has none (no username): left out of the prune's summary
    scheduler_fits: int = 0  # fitted FSRS parameters (app.practice.scheduler_fits)
    problem_reports: int = 0  # the item statistics' running sums keep the account's marks, anonymously
    batches: int = 0

    def add(self, other: Pruned) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def summary(self) -> str:
        return (f"{self.accounts} guest account(s), {self.sessions} session(s), {self.interviews} interview(s), "
                f"{self.answers} interview answer(s), {self.attempts} attempt(s), {self.review_cards} review card(s)")


def _expired(cutoff: datetime):
    # NULL is never pruned: an account whose activity is unknown is not known to be idle.
    return col(User.is_guest).is_(True) & (col(User.last_seen_at) < cutoff)


def count_expired(engine: Engine, cutoff: datetime) -> int:
    with request_session(engine) as db:
        return db.exec(select(func.count()).select_from(User).where(_expired(cutoff))).one()[0]  # type: ignore[call-overload]


def prune_guests(engine: Engine, cutoff: datetime, *, batch_size: int = 10, pause_s: float = 0.1,
                 on_batch: Callable[[Pruned], None] | None = None) -> Pruned:
    """Remove every guest last seen before `cutoff`, `batch_size` accounts per write transaction."""
    total = Pruned()
    while True:
        with request_session(engine) as db, write_transaction(db):
            ids = list(db.exec(select(User.id).where(_expired(cutoff)).order_by(User.id)  # type: ignore[call-overload]
                               .limit(batch_size).with_for_update(skip_locked=True)).scalars())
            batch = delete_accounts(db, ids) if ids else Pruned()
        if not ids:
            return total
        total.add(batch)
        if on_batch is not None:
            on_batch(batch)
        if len(ids) < batch_size:
            return total
        time.sleep(pause_s)


def delete_accounts(db: Session, ids: list[int]) -> Pruned:
    """Everything of these accounts, children first (the foreign keys have no ON DELETE CASCADE), inside the
    caller's write: the prune's batches, and a candidate deleting their own account (app.auth.accounts)."""
    interviews = select(Interview.id).where(col(Interview.user_id).in_(ids))

    def gone(stmt) -> int:
        return db.exec(stmt.execution_options(synchronize_session=False)).rowcount  # type: ignore[call-overload]

    return Pruned(
        answers=gone(delete(InterviewAnswer).where(col(InterviewAnswer.interview_id).in_(interviews))),
        attempts=gone(delete(Attempt).where(col(Attempt.user_id).in_(ids))),
        review_cards=gone(delete(ReviewCard).where(col(ReviewCard.user_id).in_(ids))),
        marks=gone(delete(QuestionMark).where(col(QuestionMark.user_id).in_(ids))),
        sessions=gone(delete(AuthSession).where(col(AuthSession.user_id).in_(ids))),
        reset_links=gone(delete(PasswordResetToken).where(col(PasswordResetToken.user_id).in_(ids))),
        scheduler_fits=gone(delete(SchedulerFit).where(col(SchedulerFit.user_id).in_(ids))),
        problem_reports=gone(delete(ProblemReport).where(col(ProblemReport.user_id).in_(ids))),
        interviews=gone(delete(Interview).where(col(Interview.user_id).in_(ids))),
        accounts=gone(delete(User).where(col(User.id).in_(ids))),
        batches=1,
    )


def cutoff_for(now: datetime, ttl_days: int) -> datetime:
    return now - timedelta(days=ttl_days)
