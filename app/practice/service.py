"""Attempts, review cards and the dashboard. Services never commit (see app.db.write_transaction); the keyset
pages of my lists are in app.practice.listing, the export in app.practice.export."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Date, case, cast, literal, true
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app import rate_limits
from app.content.loader import Content
from app.content.model import Question
from app.db import for_update, write_transaction
from app.errors import AppError, NotFound
from app.models import Attempt, Interview, ReviewCard, User
from app.practice import due, leeches, marks, scheduler_fits, scheduling, stats
from app.practice import mistakes as mistake_list
from app.practice.scheduling import utc
from app.rate_limits import Limits
from app.runtime.replacements import recorded_id
from app.scoring.check import CheckResult
from app.views import question_view
from app.write_quotas import WriteQuotas, answer_size

RECENT_INTERVIEWS = 10


def scored_only(column: Any, content: Content) -> Any:
    """A WHERE clause leaving out the questions marked `scored: false`: the cards and attempts they got before
    they were marked are never due and count in no statistic."""
    return col(column).not_in(sorted(content.unscored)) if content.unscored else true()


# --- recording --------------------------------------------------------------------------------


def _card_row(db: Session, user_id: int, question_id: str) -> ReviewCard | None:
    return db.exec(for_update(select(ReviewCard).where(ReviewCard.user_id == user_id,
                                                       ReviewCard.question_id == question_id))).first()


def record_attempt(
    db: Session, *, user_id: int, question_id: str, qtype: str, score: float, correct: bool, now: datetime,
    seed: int | None = None, answer: Any = None, self_rating: str | None = None, source: str = "practice",
    interview_id: str | None = None, desired_retention: float | None = None,
) -> tuple[Attempt, ReviewCard | None]:
    """Store one answered question and review the user's card for it with the rating the answer earns. An
    open item earns none until the candidate rates it (DESIGN: open items are scheduled only from the
    self-rating): its attempt is stored with rating null, the card is left as it is (None), and rerate() or
    rerate_interview_item() schedules it from the rating when it comes. An id merged into another item is
    recorded under that item (app.runtime.replacements)."""
    question_id = recorded_id(db, question_id)
    now = utc(now)
    rating = None if awaits_self_rating(qtype, self_rating) else scheduling.rating_for(qtype, score, self_rating)
    attempt = Attempt(user_id=user_id, question_id=question_id, seed=seed, answer=answer, score=score,
                      correct=correct, rating=scheduling.rating_name(rating) if rating is not None else None,
                      source=source, interview_id=interview_id, created_at=now)
    db.add(attempt)
    db.flush()
    if rating is None:
        return attempt, None
    if desired_retention is None:
        user = db.get(User, user_id)
        desired_retention = user.desired_retention if user else 0.9
    return attempt, _review(db, user_id, question_id, rating, now, attempt.id, desired_retention)


def awaits_self_rating(qtype: str, self_rating: str | None) -> bool:
    """An open answer without the candidate's own rating schedules nothing yet."""
    return qtype == "open" and not self_rating


def _review(db: Session, user_id: int, question_id: str, rating: Any, when: datetime, attempt_id: int | None,
            desired_retention: float) -> ReviewCard:
    """Review the user's card for the question (made now if it is the first answer) as of `when`."""
    row = _card_row(db, user_id, question_id)
    parameters = scheduler_fits.parameters_of(db, user_id)  # the candidate's own, once a fit has made them
    reviewed = scheduling.review(row.card if row else None, rating, when, desired_retention, parameters)
    if row is None:
        row = ReviewCard(user_id=user_id, question_id=question_id, card=reviewed.card, due=reviewed.due)
        try:
            with db.begin_nested():  # a concurrent first answer to the same question may have won the insert
                db.add(row)
        except IntegrityError:
            row = _card_row(db, user_id, question_id)
            assert row is not None
            reviewed = scheduling.review(row.card, rating, when, desired_retention, parameters)
    if row.id is not None and row.card is not reviewed.card:
        row.previous = row.card
    _apply(row, reviewed, rating, attempt_id)
    _suspend_leech(db, user_id, row, reviewed.lapse, when)
    row.reps += 1
    if row.reps == 2:  # its first review: a new card no more, counted against today's cap (app.practice.due)
        row.first_review_at = reviewed.last_review
    db.add(row)
    db.flush()
    scheduler_fits.note_review(db, user_id, reviewed.last_review)  # the review that crosses a count starts a fit
    return row


def _apply(row: ReviewCard, reviewed: scheduling.Reviewed, rating: Any, attempt_id: int | None) -> None:
    row.card = reviewed.card
    row.due = reviewed.due
    row.last_review = reviewed.last_review
    row.last_rating = scheduling.rating_name(rating)
    row.last_attempt_id = attempt_id
    row.lapses += int(reviewed.lapse)


def _suspend_leech(db: Session, user_id: int, row: ReviewCard, lapsed: bool, when: datetime) -> None:
    user = db.get(User, user_id)  # in the session already (the caller's account)
    leeches.suspend_if_leech(row, lapsed, user.leech_lapses if user else 8, when)


class NotScored(AppError):
    """409: a check of an item marked `scored: false` (a self-introduction, 反问): nothing is scored,
    recorded or revealed."""

    status_code = 409

    def __init__(self, question_id: str) -> None:
        super().__init__(f"question {question_id!r} is not scored (a self-introduction, 反问 or a description): "
                         "nothing to check, and it is never scheduled")


def refuse_unscored(question: Question) -> None:
    if not question.scored:
        raise NotScored(question.id)


class UnreadableAnswer(AppError):
    """422: the scorer cannot read the answer ("abc" for a number); `hint` says the format it expects. Refused
    before anything is recorded or revealed: no attempt, no card change, no reference answer."""

    status_code = 422
    PREFIX = "the answer cannot be read for this question: "

    def __init__(self, hint: str) -> None:
        super().__init__(self.PREFIX + hint, hint=hint)
        self.hint = hint


def admit_code_run(db: Session, limits: Limits, user: User, now: datetime) -> None:
    """Count one code check or example run against the account's limit (429 past it), committed at once: a
    sandbox run is spent whether or not what follows is recorded."""
    rate_limits.admit(db, now, (limits.code_runs, str(user.id)))
    db.commit()


def refuse_unreadable(result: CheckResult) -> CheckResult:
    """The result of a practice check, or UnreadableAnswer when the scorer could not read the answer."""
    if result.unreadable is not None:
        raise UnreadableAnswer(result.unreadable)
    return result


def check_and_record(db: Session, *, user: User | None, question: Question, seed: int | None, answer: Any,
                     rating: str | None, now: datetime, quotas: WriteQuotas, address: str,
                     score: Callable[[], CheckResult]) -> tuple[CheckResult, dict[str, Any] | None]:
    """A check by the API or the practice page: a known user's within the write quotas (refused before it
    is scored: a refusal costs no write), scored before the write (a model grader takes seconds), then the
    attempt and the card in one write. Returns the result and the review (None for a visitor without an
    account). An answer the scorer cannot read is refused (UnreadableAnswer) before the write, and an item
    that is not scored (NotScored) before anything."""
    refuse_unscored(question)
    if user is None:
        return refuse_unreadable(score()), None
    with quotas.admitted(db, now, quotas.charges(user.id, address, answer_size(answer))):
        result = refuse_unreadable(score())
        with write_transaction(db):
            review = record_check(db, user=user, question=question, seed=seed, answer=answer, result=result,
                                  rating=rating, now=now)
    return result, review


def record_check(db: Session, *, user: User, question: Question, seed: int | None, answer: Any,
                 result: CheckResult, rating: str | None, now: datetime) -> dict[str, Any]:
    """The check endpoint's bookkeeping for a known user: the attempt and the review card. `rating` is the
    one that scheduled the card (null: an open answer waiting for the candidate's rating, `due` null too),
    `proposed` the one its score suggests."""
    attempt, card = record_attempt(
        db, user_id=user.id, question_id=question.id, qtype=question.type, score=result.score,
        correct=result.correct, now=now, seed=seed if question.type == "generated" else None, answer=answer,
        self_rating=rating, desired_retention=user.desired_retention)
    # A self-rated item has no coverage to propose a rating from: the candidate's is the only one.
    proposed = None if question.self_rated else scheduling.rating_name(scheduling.rating_for(question.type,
                                                                                             result.score))
    return {"attempt_id": attempt.id, "rating": attempt.rating, "proposed": proposed,
            "due": card.due.isoformat() if card else None,
            "suspended": card is not None and card.suspended_at is not None,
            "lapses": card.lapses if card else 0}


def record_interview_item(db: Session, interview: Interview, item: dict[str, Any], row: Any,
                          result: dict[str, Any], now: datetime) -> None:
    """Called by interviews.service.finish() for every item the candidate answered."""
    if not result.get("answered"):
        return
    saved = row.saved_at
    when = min(utc(now), saved) if saved is not None else utc(now)
    q = item["question"]
    record_attempt(db, user_id=interview.user_id, question_id=q["id"], qtype=q["type"], score=result["score"],
                   correct=result["correct"], now=when, seed=item.get("seed"), answer=row.answer,
                   self_rating=row.self_rating if q["type"] == "open" else None, source="interview",
                   interview_id=interview.id)


def rerate(db: Session, content: Content, user: User, question_id: str, rating: str) -> ReviewCard:
    """The user's own rating of their latest answer to an open question: it schedules the card when that
    answer waits for it, and replaces the rating the card was last reviewed with otherwise."""
    q = content.by_id.get(question_id)
    if q is None:
        raise NotFound(f"no question with id {question_id!r}")
    if q.type != "open":
        # No such rating to set, as for an unanswered question: only open questions have one (a 404, not a
        # 422: the request is well formed, which questions are open is the content's business).
        raise NotFound("only open questions take a self-rating; other answers are rated from their score")
    if not q.scored:
        raise NotFound("this question is not scored: it takes no self-rating and is never scheduled")
    question_id = recorded_id(db, question_id)
    latest = _latest_attempt(db, user.id, question_id)
    if latest is None:
        raise NotFound("you have not answered this question yet")
    new = scheduling.parse_rating(rating)
    if latest.rating is None:
        return _rate_waiting(db, user, latest, new)
    row = _card_row(db, user.id, question_id)
    if row is None or row.last_review is None:
        raise NotFound("you have not answered this question yet")
    return _rerate(db, user, row, new)


def rerate_interview_item(db: Session, user: User, interview_id: str, question_id: str, rating: str) -> bool:
    """A self-rating given on a finished interview's report: it schedules the card when this interview's
    answer is the latest and waits for it, or replaces the card's latest review if that review came from
    this interview; a later answer (practice, another interview) has moved the card on otherwise. The plan's
    id may since have been merged into another item: its attempts and card are that item's."""
    question_id = recorded_id(db, question_id)
    attempt = db.exec(select(Attempt).where(Attempt.user_id == user.id, Attempt.interview_id == interview_id,
                                            Attempt.question_id == question_id)).first()
    if attempt is None:
        return False
    new = scheduling.parse_rating(rating)
    if attempt.rating is None:
        latest = _latest_attempt(db, user.id, question_id)
        if latest is None or latest.id != attempt.id:
            return False
        _rate_waiting(db, user, attempt, new)
        return True
    row = _card_row(db, user.id, question_id)
    if row is None or row.last_review is None or row.last_attempt_id != attempt.id:
        return False
    _rerate(db, user, row, new)
    return True


def latest_answers(db: Session, user: User, question_ids: list[str]) -> dict[str, tuple[int, str | None]]:
    """question id -> (id, rating) of my latest attempt at it, for those of `question_ids` I have answered."""
    if not question_ids:
        return {}
    newest_first = (col(Attempt.created_at).desc(), col(Attempt.id).desc())
    ranked = select(Attempt.question_id, Attempt.id, Attempt.rating,
                    func.row_number().over(partition_by=Attempt.question_id, order_by=newest_first).label("rn")
                    ).where(Attempt.user_id == user.id, col(Attempt.question_id).in_(question_ids)).subquery()
    rows = db.connection().execute(select(ranked.c.question_id, ranked.c.id, ranked.c.rating)
                                   .where(ranked.c.rn == 1)).all()
    return {qid: (attempt_id, rating) for qid, attempt_id, rating in rows}


def _latest_attempt(db: Session, user_id: int, question_id: str) -> Attempt | None:
    return db.exec(select(Attempt).where(Attempt.user_id == user_id, Attempt.question_id == question_id)
                   .order_by(col(Attempt.created_at).desc(), col(Attempt.id).desc()).limit(1)).first()


def _rate_waiting(db: Session, user: User, attempt: Attempt, new: Any) -> ReviewCard:
    """An open answer's card scheduled from the candidate's rating, as of the answer."""
    attempt.rating = scheduling.rating_name(new)
    db.add(attempt)
    return _review(db, user.id, attempt.question_id, new, attempt.created_at, attempt.id, user.desired_retention)


def _rerate(db: Session, user: User, row: ReviewCard, new: Any) -> ReviewCard:
    assert row.last_review is not None
    old_lapse = row.previous is not None and row.previous.get("state") == 2 and row.last_rating == "again"
    reviewed = scheduling.review(row.previous, new, row.last_review, user.desired_retention,
                                 scheduler_fits.parameters_of(db, user.id))
    row.lapses -= int(old_lapse)
    _apply(row, reviewed, new, row.last_attempt_id)
    _suspend_leech(db, user.id, row, reviewed.lapse, row.last_review)
    if row.last_attempt_id is not None:
        attempt = db.get(Attempt, row.last_attempt_id)
        if attempt is not None and attempt.user_id == user.id:
            attempt.rating = scheduling.rating_name(new)
            db.add(attempt)
    db.add(row)
    db.flush()
    return row


def set_timezone(db: Session, user: User, name: str) -> User:
    """The zone the candidate's days are counted in (app.practice.due.candidate_zone); 422 for an unknown one."""
    try:
        due.zone_named(name)
    except ValueError as exc:
        raise AppError(str(exc), status_code=422) from None
    user.timezone = name
    db.add(user)
    db.flush()
    return user


def set_retention(db: Session, user: User, value: float) -> User:
    if not scheduling.MIN_RETENTION <= value <= scheduling.MAX_RETENTION:
        raise AppError(f"desired_retention must be between {scheduling.MIN_RETENTION} and "
                       f"{scheduling.MAX_RETENTION}", status_code=422)
    user.desired_retention = value
    db.add(user)
    db.flush()
    return user


def set_leech_lapses(db: Session, user: User, value: int) -> User:
    user.leech_lapses = value
    db.add(user)
    db.flush()
    return user


# --- reading ----------------------------------------------------------------------------------


def _topics_of(content: Content) -> dict[str, tuple[str, ...]]:
    return {q.id: q.topics for q in content.questions}


def _per_question(db: Session, content: Content, user_id: int) -> dict[str, tuple[float, int]]:
    """question id -> (latest score, attempts) of the scored questions, aggregated by the database (one row per
    question)."""
    newest_first = (col(Attempt.created_at).desc(), col(Attempt.id).desc())
    ranked = select(
        Attempt.question_id, Attempt.score,
        func.row_number().over(partition_by=Attempt.question_id, order_by=newest_first).label("rn"),
        func.count().over(partition_by=Attempt.question_id).label("n"),
    ).where(Attempt.user_id == user_id, scored_only(Attempt.question_id, content)).subquery()
    rows = db.connection().execute(select(ranked.c.question_id, ranked.c.score, ranked.c.n)
                                   .where(ranked.c.rn == 1)).all()
    return {qid: (score, n) for qid, score, n in rows}


def _per_day(db: Session, content: Content, user_id: int, now: datetime, tz: Any) -> dict[date, int]:
    """Attempts of scored questions per local date over the activity window, grouped by the database (at
    most 365 rows)."""
    start = stats.activity_start(now, tz)
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        day: Any = cast(func.timezone(getattr(tz, "key", "UTC"), Attempt.created_at), Date)
    else:
        # SQLite has no zones: shift the stored UTC text by the zone's offset in force at each moment.
        segments = stats.offset_segments(tz, start, max(now, start))
        def modifier(offset: timedelta) -> str:
            return f"{int(offset.total_seconds() // 60):+d} minutes"
        whens = [(col(Attempt.created_at) < until, modifier(off))
                 for (_, off), (until, _) in zip(segments, segments[1:], strict=False)]
        shift = case(*whens, else_=modifier(segments[-1][1])) if whens else literal(modifier(segments[-1][1]))
        day = func.date(Attempt.created_at, shift)
    rows = conn.execute(select(day.label("day"), func.count())
                        .where(Attempt.user_id == user_id, Attempt.created_at >= start,
                               scored_only(Attempt.question_id, content))
                        .group_by("day")).all()
    return {d if isinstance(d, date) else date.fromisoformat(d): n for d, n in rows}


def dashboard(db: Session, content: Content, user: User, now: datetime, tz: Any,
              new_per_day: int | None) -> dict[str, Any]:
    now = utc(now)
    conn = db.connection()  # plain Core rows: no ORM bookkeeping for thousands of timestamps
    forecast = due.read_days(db, content, user, now, tz, stats.FORECAST_DAYS, new_per_day).forecast()
    interviews = conn.execute(select(Interview.id, Interview.round_id, Interview.round_title, Interview.state,
                                     Interview.score, Interview.started_at, Interview.finished_at)
                              .where(Interview.user_id == user.id)
                              .order_by(col(Interview.started_at).desc()).limit(RECENT_INTERVIEWS)).all()
    recent = [{"id": i, "round": r, "title": t, "state": s, "score": sc, "started_at": st.isoformat(),
               "finished_at": f.isoformat() if f else None}
              for i, r, t, s, sc, st, f in interviews]
    out = stats.dashboard(questions=_per_question(db, content, user.id), per_day=_per_day(db, content, user.id, now, tz),
                          topics_of=_topics_of(content), forecast=forecast, interviews=recent, now=now, tz=tz)
    out["desired_retention"] = user.desired_retention
    out["due_now"] = next(iter(forecast.values()))  # today's entry: the due list's count (app.practice.due)
    return out


@dataclass(frozen=True)
class PracticeFilters:
    """What to practise: any of these banks, topics and types (empty: all), difficulty within a range,
    and optionally only my weakest topics."""

    banks: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    difficulty: tuple[int, int] = (1, 5)
    weak: bool = False
    mistakes: bool = False  # only the questions in my 错题本 now (app.practice.mistakes)
    bookmarks: bool = False  # only the questions I starred (app.practice.marks)

    def matching(self, content: Content) -> list[Question]:
        """The questions these filters allow, in bank order (through the content's indexes)."""
        return content.filter(banks=self.banks, topics=self.topics, types=self.types, difficulty=self.difficulty)


def next_question(db: Session | None, content: Content, user: User | None, now: datetime,
                  filters: PracticeFilters, *, tz: tzinfo = UTC, new_per_day: int | None = None,
                  avoid: str | None = None, first: str | None = None, clear_after: int = 2) -> dict[str, Any]:
    """A question to practise: one of mine that is due today (app.practice.due), else one I have never
    answered, else the one due soonest (a new card held back by the cap: the day it is held back to);
    anonymous callers get a random match. filters.weak restricts to my
    weakest topics, filters.mistakes to my 错题本, filters.bookmarks to what I starred. `avoid` (the question just shown) is not picked again unless
    nothing else matches; `first`, when it matches, is the one (再练一次 on the 错题本: a fresh instance of a
    generated item). Items that are not scored are never offered: there is nothing to check."""
    candidates = [q for q in filters.matching(content) if q.scored]
    if "code" not in filters.types:  # code items come when asked for (types=code), as in rounds
        candidates = [q for q in candidates if q.type != "code"]
    weak_topics: list[str] = []
    if filters.weak:
        if user is None or db is None:
            raise AppError("weak=true needs a user: log in, or send Authorization: Bearer <token>",
                           status_code=401, headers={"WWW-Authenticate": "Bearer"})
        rows = stats.weakest(stats.mastery(_per_question(db, content, user.id), _topics_of(content)))
        weak_topics = [r["topic"] for r in rows]
        if weak_topics:
            wanted = set(weak_topics)
            candidates = [q for q in candidates if wanted.intersection(q.topics)]
    if filters.mistakes or filters.bookmarks:
        if user is None or db is None:
            raise AppError("mistakes=true and bookmarks=true need a user: log in, or send Authorization: Bearer "
                           "<token>", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if filters.mistakes:
            wrong = mistake_list.active_ids(db, content, user, tz, clear_after)
            candidates = [q for q in candidates if q.id in wrong]
        if filters.bookmarks:
            starred = marks.starred_ids(db, user_id=user.id)
            candidates = [q for q in candidates if q.id in starred]
    if not candidates:
        raise NotFound("no question matches these filters")
    candidates = [q for q in candidates if q.id != avoid] or candidates
    candidates = [q for q in candidates if q.id == first] or candidates
    reason, when = "random", None
    if user is None or db is None:
        q = random.choice(candidates)
    else:
        found = due.read_days(db, content, user, now, tz, None, new_per_day)  # every card: the soonest too
        # A suspended leech is drawn only when asked for by name (再练一次); never as new or due.
        candidates = [q for q in candidates if q.id not in found.suspended or q.id == first]
        if not candidates:
            raise NotFound("every question these filters match is a suspended leech: resume it first "
                           "(POST /api/v1/me/leeches/{question_id}/resume)")
        allowed = {q.id for q in candidates}
        mine = [c for c in found.cards if c.question_id in allowed]
        waiting = [c for c in found.on(found.today) if c.question_id in allowed]
        seen = {c.question_id for c in mine}
        unseen = [q for q in candidates if q.id not in seen]
        if waiting:
            q, reason, when = content.by_id[waiting[0].question_id], "due", waiting[0].due
        elif unseen:
            q, reason = random.choice(unseen), "new"
        else:
            far = datetime.max.replace(tzinfo=UTC)  # a new card while the cap is 0: never due, asked last
            soonest = min(mine, key=lambda c: (found.due_at(c) or far, c.question_id))
            q, reason, when = content.by_id[soonest.question_id], "ahead", found.due_at(soonest)
    view = question_view(q)  # a generated item gets a fresh seed
    view["practice"] = {"reason": reason, "due": when.isoformat() if when else None, "weak_topics": weak_topics}
    return view


def account_work(db: Session, user: User) -> dict[str, int]:
    """What an account holds: its interviews, review cards and recorded answers (all a guest loses when it
    signs out: nothing else leads back to a guest account)."""
    conn = db.connection()

    def count(model: Any) -> int:
        return conn.execute(select(func.count()).select_from(model).where(model.user_id == user.id)).scalar_one()

    return {"interviews": count(Interview), "cards": count(ReviewCard), "attempts": count(Attempt)}
