"""Keyset pages of my due reviews and my attempts (app.pagination): a page of attempts costs an index range
read of one page, however long the account has practised."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from app.content.loader import Content
from app.models import Attempt, ReviewCard, User
from app.pagination import COUNT_ID, INT_ID, Page, page_of
from app.practice import due, mistakes
from app.scoring.answers import readable_answer
from app.scoring.check import expected_answer


def due_page(db: Session, content: Content, user: User, now: datetime, tz: tzinfo, new_per_day: int | None,
             limit: int, cursor: str | None = None) -> Page[dict[str, Any]]:
    """The cards due on the candidate's today (app.practice.due), most overdue first, by (due, id) after
    `cursor`. Today's list is read whole and paged here: it is bounded by the content (one card per question)
    and must be the very set the count and the forecast see."""
    after = INT_ID.decode(cursor) if cursor is not None else None
    cards = [c for c in due.due_today(db, content, user, now, tz, new_per_day) if after is None or c.key > after]
    page = page_of(cards, limit, lambda c: INT_ID.encode(*c.key))
    return Page([due_item(content, c) for c in page.items], page.next)


def due_item(content: Content, card: due.DueCard) -> dict[str, Any]:
    q = content.by_id[card.question_id]
    return {"question_id": q.id, "title": q.title, "bank": q.bank, "type": q.type, "topics": list(q.topics),
            "due": card.due.isoformat(), "last_rating": card.last_rating}


def attempts_page(db: Session, content: Content, user: User, limit: int,
                  cursor: str | None = None) -> Page[dict[str, Any]]:
    """My attempts newest first, by (created_at, id) after `cursor` (ix_attempt_user_id_created_at)."""
    stmt = (select(Attempt).where(Attempt.user_id == user.id)
            .order_by(col(Attempt.created_at).desc(), col(Attempt.id).desc()).limit(limit + 1))
    if cursor is not None:
        stmt = stmt.where(tuple_(Attempt.created_at, Attempt.id) < tuple_(*INT_ID.decode(cursor)))
    page = page_of(list(db.exec(stmt).all()), limit, lambda a: INT_ID.encode(a.created_at, a.id))
    return Page([attempt_record(content, a) for a in page.items], page.next)


def attempt_record(content: Content, a: Attempt) -> dict[str, Any]:
    q = content.by_id.get(a.question_id)
    readable = readable_answer(a.answer)  # older versions stored answers of any nesting
    return {"id": a.id, "created_at": a.created_at.isoformat(), "question_id": a.question_id,
            "question_title": q.title if q else None, "seed": a.seed, "answer": a.answer if readable else None,
            "answer_unreadable": not readable, "score": a.score,
            "correct": a.correct, "rating": a.rating, "source": a.source, "interview_id": a.interview_id}


def mistakes_page(db: Session, entries: list[mistakes.MistakeEntry], content: Content, sort: mistakes.Sort,
                  limit: int, cursor: str | None = None) -> Page[dict[str, Any]]:
    """A page of selected 错题本 entries (in the order app.practice.mistakes.select_entries gives) after
    `cursor`: the (times wrong, last mistake's attempt id) of the last entry seen, descending; the page's
    answers are read for it alone."""
    if cursor is not None:
        after = COUNT_ID.decode(cursor)
        entries = [e for e in entries if mistakes.sort_key(e, sort) < after]
    page = page_of(entries, limit, lambda e: COUNT_ID.encode(*mistakes.sort_key(e, sort)))
    return Page([mistake_record(content, e) for e in mistakes.with_answers(db, page.items)], page.next)


def _answer_record(a: mistakes.AttemptFact) -> dict[str, Any]:
    readable = readable_answer(a.answer)
    return {"attempt_id": a.id, "created_at": a.created_at.isoformat(), "answer": a.answer if readable else None,
            "score": a.score, "rating": a.rating, "source": a.source, "interview_id": a.interview_id, "seed": a.seed}


def mistake_record(content: Content, e: mistakes.MistakeEntry) -> dict[str, Any]:
    q = content.by_id[e.question_id]
    seed = e.last_wrong.seed if q.type == "generated" else None
    expected = expected_answer(q, seed=seed) if q.type != "generated" or seed is not None else None
    return {"question_id": q.id, "title": q.title, "bank": q.bank, "type": q.type, "topics": list(q.topics),
            "wrong": e.wrong, "answered": e.answered, "first_wrong_at": e.first_wrong_at.isoformat(),
            "last_wrong": _answer_record(e.last_wrong), "latest": _answer_record(e.last),
            "expected": expected, "correct_days": e.correct_days,
            "cleared_at": e.cleared_at.isoformat() if e.cleared_at else None, "rounds": sorted(e.rounds)}


def leech_record(content: Content, row: ReviewCard) -> dict[str, Any]:
    q = content.by_id[row.question_id]
    assert row.suspended_at is not None
    return {"question_id": q.id, "title": q.title, "bank": q.bank, "type": q.type, "lapses": row.lapses,
            "suspended_at": row.suspended_at.isoformat()}
