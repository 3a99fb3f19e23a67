"""Keyset pages of my due reviews and my attempts (app.pagination): a page costs an index range read of
one page, however long the account has practised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from app.content.loader import Content
from app.models import Attempt, ReviewCard, User
from app.pagination import INT_ID, Page, page_of
from app.practice.scheduling import utc
from app.scoring.answers import readable_answer


def due_page(db: Session, content: Content, user: User, now: datetime, limit: int,
             cursor: str | None = None) -> Page[dict[str, Any]]:
    """Cards due at `now`, most overdue first, by (due, id) after `cursor` (ix_reviewcard_user_id_due).
    Cards of questions gone from the content, or not scored, are left out: the read goes on, a page at a time, until a
    page is full or the due cards run out."""
    after = INT_ID.decode(cursor) if cursor is not None else None
    found: list[tuple[tuple[datetime, int], dict[str, Any]]] = []
    while True:
        stmt = (select(ReviewCard.id, ReviewCard.question_id, ReviewCard.due, ReviewCard.last_rating)
                .where(ReviewCard.user_id == user.id, ReviewCard.due <= utc(now))
                .order_by(col(ReviewCard.due), col(ReviewCard.id)).limit(limit + 1))
        if after is not None:
            stmt = stmt.where(tuple_(ReviewCard.due, ReviewCard.id) > tuple_(*after))
        rows = db.exec(stmt).all()
        for card_id, qid, due, last_rating in rows:
            q = content.by_id.get(qid)
            if q is not None and q.scored:
                found.append(((due, card_id), {
                    "question_id": qid, "title": q.title, "bank": q.bank, "type": q.type, "topics": list(q.topics),
                    "due": due.isoformat(), "last_rating": last_rating}))
        if len(found) > limit or len(rows) <= limit:
            break
        after = (rows[-1][2], rows[-1][0])
    page = page_of(found, limit, lambda entry: INT_ID.encode(*entry[0]))
    return Page([item for _, item in page.items], page.next)


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
