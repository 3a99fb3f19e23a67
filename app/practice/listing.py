"""Keyset pages of my due reviews and my attempts (app.pagination): a page of attempts costs an index range
read of one page, however long the account has practised."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from app.content.loader import Content
from app.models import Attempt, User
from app.pagination import INT_ID, Page, page_of
from app.practice import due
from app.scoring.answers import readable_answer


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
