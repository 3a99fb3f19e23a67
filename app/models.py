"""SQLModel tables. Content lives in memory; the database holds people, interviews and their answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, MetaData, Text, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Explicit constraint names so migrations are stable across SQLite and PostgreSQL.
SQLModel.metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that always reads back as an aware UTC datetime: SQLite hands back naive values and
    PostgreSQL the session's offset, and fsrs and the clock comparisons want UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class User(SQLModel, table=True):
    __table_args__ = (Index("ix_user_is_guest_last_seen_at", "is_guest", "last_seen_at"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str | None = Field(default=None, unique=True, index=True, max_length=64)
    password_hash: str | None = None
    is_guest: bool = False
    is_admin: bool = False
    desired_retention: float = 0.9
    # Lapses that make a card a leech and suspend it (Anki's default, 8); again every half as many after
    # the candidate resumes it (app.practice.leeches).
    leech_lapses: int = Field(default=8, sa_column_kwargs={"server_default": "8"})
    # The IANA zone the browser reports (app.practice.due.candidate_zone): the candidate's days. NULL: UTC.
    timezone: str | None = Field(default=None, max_length=64)
    created_at: datetime = _ts(nullable=False, default=utcnow)
    # The last request, to the hour (app.auth.sessions.note_activity): a guest unseen for
    # MIANJING_GUEST_TTL_DAYS is removed by `mianjing db prune`. NULL is never pruned.
    last_seen_at: datetime | None = _ts(nullable=True, default=utcnow)


class AuthSession(SQLModel, table=True):
    """A browser session or an API token; only a hash of the secret is stored."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(default="cookie", max_length=16)  # cookie | bearer
    created_at: datetime = _ts(nullable=False, default=utcnow)
    expires_at: datetime = _ts(nullable=False)


class PasswordResetToken(SQLModel, table=True):
    """A one-time link to set a new password, issued by an admin (there is no mail server): only a hash of
    the secret is stored, and it is deleted when used, replaced or expired."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = _ts(nullable=False, default=utcnow)
    expires_at: datetime = _ts(nullable=False)


class RateLimitEvent(SQLModel, table=True):
    """One counted event of a rate limit (app/rate_limits.py): a guest created, an account registered, an
    interview started, a login attempted. Kept for the limit's window in the database, so that every worker
    counts it."""

    __table_args__ = (Index("ix_ratelimitevent_key_at", "key", "at"), Index("ix_ratelimitevent_at", "at"))
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128)  # the limit's kind, ":", and a SHA-256 of the address, account or both
    at: datetime = _ts(nullable=False)


class QuotaCounter(SQLModel, table=True):
    """What a key (a quota and an account or address, app/write_quotas.py) has used of its quota in one fixed
    window: one row per key and window, added to by an upsert in the write it counts."""

    __table_args__ = (Index("ix_quotacounter_window_end", "window_end"),)
    key: str = Field(primary_key=True, max_length=128)  # the quota's kind, ":", a SHA-256 of the account or address
    # The window's end, in seconds since the epoch (UTC); a BIGINT, as 2038 is in the windows' future.
    window_end: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    used: int = 0


class Interview(SQLModel, table=True):
    # The history, newest first, is read by keyset pages (app.pagination) along this index. At most one
    # running interview per account and round, in the schema too: app.interviews.service checks it under a
    # lock and answers 409; the partial unique index is the guarantee if anything ever slips past that check.
    __table_args__ = (Index("ix_interview_user_id_started_at", "user_id", "started_at", "id"),
                      Index("uq_interview_running_round", "user_id", "round_id", unique=True,
                            sqlite_where=text("state = 'active'"), postgresql_where=text("state = 'active'")))
    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="user.id", index=True)
    round_id: str = Field(max_length=64)
    round_title: str
    content_version: str = Field(max_length=32)
    state: str = Field(default="active", max_length=16)  # active | finished | abandoned
    started_at: datetime = _ts(nullable=False)
    deadline: datetime = _ts(nullable=False)
    finished_at: datetime | None = _ts(nullable=True)
    score: float | None = None
    current_position: int = 0
    question_count: int = 0  # len(plan["items"]), so the autosave path need not load the plan
    position_since: datetime | None = _ts(nullable=True)  # when the candidate moved to current_position
    share_token: str | None = Field(default=None, index=True, max_length=64)
    # The frozen plan: sections and, per position, the full question snapshot and generated seed.
    plan: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class InterviewAnswer(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("interview_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    interview_id: str = Field(foreign_key="interview.id", index=True, max_length=32)
    position: int
    # The planned question at this position (the plan has it too): written when the interview is scored, so
    # that item statistics (app/item_stats) read answers without their plans. NULL before the finish.
    question_id: str | None = Field(default=None, max_length=64)
    answer: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The answer's size as the write quotas count it (app.write_quotas.answer_size): an autosave is charged
    # only what it adds to this.
    answer_chars: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    saved_at: datetime = _ts(nullable=False, default=utcnow)
    first_seen_at: datetime | None = _ts(nullable=True)
    time_spent_ms: int = 0
    score: float | None = None
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    self_rating: str | None = Field(default=None, max_length=8)


class ContentState(SQLModel, table=True):
    """One row: the content version every worker should serve (reload broadcast)."""

    id: int = Field(default=1, primary_key=True)
    version: str = Field(max_length=32)
    updated_at: datetime = _ts(nullable=False, default=utcnow)


class QuestionAlias(SQLModel, table=True):
    """A question id merged into another item (`replaces` in content): what is recorded under the old id is
    kept under the new one (app/runtime/replacements.py)."""

    old_id: str = Field(primary_key=True, max_length=64)
    new_id: str = Field(max_length=64)
    at: datetime = _ts(nullable=False, default=utcnow)  # when a publication last set it


class ReloadLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(nullable=False, default=utcnow)
    actor: str = Field(max_length=64)
    version_before: str | None = Field(default=None, max_length=32)
    version_after: str | None = Field(default=None, max_length=32)
    ok: bool
    detail: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


# --- practice and spaced review (issue 7) ---


class Attempt(SQLModel, table=True):
    """One answered question, from the practice check endpoint or from a finished mock interview."""

    __table_args__ = (
        Index("ix_attempt_user_id_created_at", "user_id", "created_at"),
        Index("ix_attempt_user_id_question_id", "user_id", "question_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    question_id: str = Field(max_length=64)
    seed: int | None = None
    answer: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    score: float
    correct: bool
    rating: str | None = Field(default=None, max_length=8)  # again | hard | good | easy, as given to the scheduler
    source: str = Field(default="practice", max_length=16)  # practice | interview
    interview_id: str | None = Field(default=None, foreign_key="interview.id", index=True, max_length=32)
    created_at: datetime = _ts(nullable=False, default=utcnow)


class ReviewCard(SQLModel, table=True):
    """A user's FSRS card for one question; `card` is fsrs.Card.to_dict(), `previous` the card before the
    last review (so a later self-rating of that answer replaces the automatic rating instead of adding one)."""

    __table_args__ = (
        UniqueConstraint("user_id", "question_id", name="uq_reviewcard_user_id_question_id"),
        Index("ix_reviewcard_user_id_due", "user_id", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    question_id: str = Field(max_length=64)
    card: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    previous: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    due: datetime = _ts(nullable=False)
    last_review: datetime | None = _ts(nullable=True)
    last_rating: str | None = Field(default=None, max_length=8)
    last_attempt_id: int | None = None
    reps: int = 0
    lapses: int = 0
    # The second answer, which took the card out of the new ones: it counts against that day's cap of new
    # cards (app.practice.due). NULL while the card is new.
    first_review_at: datetime | None = _ts(nullable=True)
    # Set when the card became a leech and was suspended (never due, never drawn) until the candidate resumes it.
    suspended_at: datetime | None = _ts(nullable=True)


class SchedulerFit(SQLModel, table=True):
    """A candidate's own FSRS parameters, fitted to their review log by a separate process
    (app.practice.fit_job), and the state of that process: one row per user, and at most one fit running per
    user (`state` is claimed under the row's lock). No row, or `parameters` null: the default parameters."""

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    state: str = Field(default="idle", max_length=16)  # idle | running | failed
    parameters: list[float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # 21 FSRS-6 weights
    fitted_at: datetime | None = _ts(nullable=True)
    reviews_at_fit: int = 0  # the reviews the parameters were fitted on
    # log_loss_before/after, rmse_before/after (defaults vs fitted, on the held-out tail), evaluated, trained
    metrics: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # expected reviews per day at a few desired retentions, simulated over the candidate's cards at the fit
    forecast: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    started_at: datetime | None = _ts(nullable=True)  # the last fit's start; new reviews are counted from it
    finished_at: datetime | None = _ts(nullable=True)
    error: str | None = Field(default=None, max_length=500)  # why the last fit failed


# --- bookmarks and notes (issue 20) ---


class QuestionMark(SQLModel, table=True):
    """A candidate's star (收藏) and personal note on one question (app/practice/marks.py): one row per account
    and question, deleted when it holds neither. Keyed by question id, so it follows a merge
    (app/runtime/replacements.py)."""

    __table_args__ = (
        UniqueConstraint("user_id", "question_id", name="uq_questionmark_user_id_question_id"),
        # My bookmarks, newest first, are read by keyset pages (app.pagination) along this index.
        Index("ix_questionmark_user_id_starred_at", "user_id", "starred_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    question_id: str = Field(max_length=64)
    starred_at: datetime | None = _ts(nullable=True)  # NULL: not starred
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # markdown; NULL: no note
    updated_at: datetime = _ts(nullable=False, default=utcnow)


# --- item statistics and problem reports (issue 20) ---


class ItemAggregate(SQLModel, table=True):
    """The running sums of one question's item statistics in one round (app.stats.running.ItemState as JSON),
    added to by every finish in the write that scores it (app/item_stats/aggregates.py)."""

    round_id: str = Field(primary_key=True, max_length=64)
    question_id: str = Field(primary_key=True, max_length=64)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts(nullable=False, default=utcnow)


class ProblemReport(SQLModel, table=True):
    """纠错: a candidate's report of a problem with a question, with what they saw (the content version) and
    their latest answer to it, until an admin resolves it with a note."""

    __table_args__ = (Index("ix_problemreport_state_created_at", "state", "created_at"),
                      Index("ix_problemreport_question_id_state", "question_id", "state"),
                      Index("ix_problemreport_user_id_created_at", "user_id", "created_at"))
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    question_id: str = Field(max_length=64)
    content_version: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # wrong_answer | unclear | typo | other
    comment: str = ""
    answer: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    state: str = Field(default="open", max_length=16)  # open | resolved
    created_at: datetime = _ts(nullable=False, default=utcnow)
    resolved_at: datetime | None = _ts(nullable=True)
    resolution_note: str | None = None
