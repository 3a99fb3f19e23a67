"""错题本: the questions a candidate got wrong, read from their attempts (DESIGN: what counts as a mistake).

Why no table of its own: the attempts are the history already, in practice and interviews alike, and a
mistake can change after the fact (an open answer rated Again on the report an hour later). Reading the
list from the attempts keeps one truth; an account's attempts are read once, by the index on
(user_id, created_at), and folded here.

A question enters the list with its first mistake and leaves it (`cleared_at`) once the answers since its
last mistake are all correct and fall on `clear_after` different days of the candidate's calendar (two
by default, MIANJING_MISTAKE_CLEAR_AFTER_DAYS): right twice in one sitting is recall from a minute ago,
not learning. A later mistake brings it back; the counts keep the whole history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from typing import Any, Literal

from sqlmodel import Session, col, select

from app.content.loader import Content
from app.models import Attempt, Interview, User
from app.practice.scheduling import is_mistake, utc

Sort = Literal["often", "recent"]
State = Literal["active", "cleared", "all"]


@dataclass(frozen=True, slots=True)
class AttemptFact:
    """What the rule needs of one attempt (the round it was part of, if any)."""

    id: int
    question_id: str
    score: float
    rating: str | None
    created_at: datetime
    source: str
    answer: Any = None
    seed: int | None = None
    interview_id: str | None = None
    round_id: str | None = None


@dataclass(slots=True)
class MistakeEntry:
    question_id: str
    wrong: int  # how many answers were mistakes
    answered: int  # how many answers in all
    first_wrong_at: datetime
    last_wrong: AttemptFact
    last: AttemptFact  # the latest answer, wrong or not
    correct_days: int  # days with a correct answer since the last mistake
    cleared_at: datetime | None = None
    rounds: set[str] = field(default_factory=set)  # the rounds in which it went wrong

    @property
    def active(self) -> bool:
        return self.cleared_at is None


def collect(attempts: Iterable[AttemptFact], types: Mapping[str, str], tz: tzinfo,
            clear_after: int, self_rated: frozenset[str] = frozenset()) -> dict[str, MistakeEntry]:
    """Fold attempts (oldest first) into one entry per question that has had a mistake. `types` holds the
    type of each question still in the content; attempts at others are left out. `self_rated`: the open items
    graded by the candidate's rating alone."""
    entries: dict[str, MistakeEntry] = {}
    days: dict[str, set[date]] = {}  # per question: the days of the correct answers since its last mistake
    for a in attempts:
        qtype = types.get(a.question_id)
        if qtype is None:
            continue
        entry = entries.get(a.question_id)
        if is_mistake(qtype, a.score, a.rating, self_rated=a.question_id in self_rated):
            if entry is None:
                entry = entries[a.question_id] = MistakeEntry(a.question_id, 0, 0, a.created_at, a, a, 0)
            entry.wrong += 1
            entry.last_wrong = a
            entry.cleared_at = None
            entry.correct_days = 0
            days[a.question_id] = set()
            if a.round_id:
                entry.rounds.add(a.round_id)
        elif entry is not None:
            seen = days[a.question_id]
            seen.add(utc(a.created_at).astimezone(tz).date())
            entry.correct_days = len(seen)
            if entry.cleared_at is None and len(seen) >= clear_after:
                entry.cleared_at = a.created_at
        if entry is not None:
            entry.answered += 1
            entry.last = a
    return entries


def select_entries(entries: Iterable[MistakeEntry], content: Content, *, state: State = "active",
                   banks: tuple[str, ...] = (), topics: tuple[str, ...] = (), types: tuple[str, ...] = (),
                   rounds: tuple[str, ...] = (), sort: Sort = "often") -> list[MistakeEntry]:
    """The entries the filters keep (each filter: any of its values; empty: all), most often wrong first
    (then the most recent mistake), or the most recent mistake first."""
    kept = []
    for e in entries:
        q = content.by_id[e.question_id]
        if state != "all" and e.active != (state == "active"):
            continue
        if (banks and q.bank not in banks) or (types and q.type not in types) \
                or (topics and not set(topics).intersection(q.topics)) or (rounds and not e.rounds.intersection(rounds)):
            continue
        kept.append(e)
    if sort == "recent":
        kept.sort(key=lambda e: e.last_wrong.id, reverse=True)
    else:
        kept.sort(key=lambda e: (e.wrong, e.last_wrong.id), reverse=True)
    return kept


def sort_key(entry: MistakeEntry, sort: Sort) -> tuple[int, int]:
    """Where an entry stands in its order, as the page cursor carries it (descending)."""
    return (entry.wrong if sort == "often" else 0, entry.last_wrong.id)


def read_attempts(db: Session, user_id: int) -> list[AttemptFact]:
    """Every attempt of the account, oldest first, with the round of the interview it came from; without
    the answers (the fold needs none, and they are most of a row: with_answers reads a page's)."""
    stmt = (select(Attempt.id, Attempt.question_id, Attempt.score, Attempt.rating, Attempt.created_at,
                   Attempt.source, Attempt.seed, Attempt.interview_id, Interview.round_id)
            .outerjoin(Interview, col(Interview.id) == col(Attempt.interview_id))
            .where(Attempt.user_id == user_id)
            .order_by(col(Attempt.created_at), col(Attempt.id)))
    return [AttemptFact(id=i, question_id=q, score=sc, rating=r, created_at=at, source=src, seed=seed,
                        interview_id=iid, round_id=rid)
            for i, q, sc, r, at, src, seed, iid, rid in db.connection().execute(stmt).all()]


def with_answers(db: Session, entries: list[MistakeEntry]) -> list[MistakeEntry]:
    """The entries with the answers of their last mistake and latest attempt, read in one query."""
    wanted = {a.id for e in entries for a in (e.last_wrong, e.last)}
    if not wanted:
        return entries
    answers = dict(db.exec(select(Attempt.id, Attempt.answer).where(col(Attempt.id).in_(wanted))).all())
    for e in entries:
        e.last_wrong = replace(e.last_wrong, answer=answers.get(e.last_wrong.id))
        e.last = replace(e.last, answer=answers.get(e.last.id))
    return entries


def mistakes_of(db: Session, content: Content, user: User, tz: tzinfo, clear_after: int) -> dict[str, MistakeEntry]:
    """My 错题本, every entry (active and cleared), by question id."""
    types = {q.id: q.type for q in content.questions if q.scored}
    self_rated = frozenset(q.id for q in content.questions if q.self_rated)
    return collect(read_attempts(db, user.id), types, tz, clear_after, self_rated)


def active_ids(db: Session, content: Content, user: User, tz: tzinfo, clear_after: int) -> set[str]:
    """The questions in my 错题本 now (what practice from mistakes draws from)."""
    return {qid for qid, e in mistakes_of(db, content, user, tz, clear_after).items() if e.active}
