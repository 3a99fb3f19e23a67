"""Leeches: cards the candidate keeps forgetting (Anki's name and rule). A card becomes a leech when its
lapses reach the candidate's threshold (`User.leech_lapses`, 8 as in Anki) and is suspended: never due, never
drawn by practice, until the candidate resumes it — after reading the explanation or writing a note, which
is what drilling it again would not give. Resumed, it is suspended again every half threshold of lapses
more (Anki: 8, then 12, 16…), so a card that stays a leech keeps saying so."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.content.loader import Content
from app.db import for_update
from app.errors import NotFound
from app.models import ReviewCard, User
from app.practice.scheduling import utc

MIN_LAPSES, MAX_LAPSES = 2, 99


def turns_leech(lapses: int, threshold: int) -> bool:
    """Whether the lapse that brought the card to `lapses` suspends it."""
    if lapses < threshold:
        return False
    return (lapses - threshold) % max(1, threshold // 2) == 0


def suspend_if_leech(row: ReviewCard, lapsed: bool, threshold: int, when: datetime) -> bool:
    """Called after a review: suspend the card when this review's lapse makes it a leech. True if it did."""
    if lapsed and row.suspended_at is None and turns_leech(row.lapses, threshold):
        row.suspended_at = utc(when)
        return True
    return False


def suspended_ids(db: Session, user_id: int) -> set[str]:
    return set(db.exec(select(ReviewCard.question_id).where(
        ReviewCard.user_id == user_id, col(ReviewCard.suspended_at).is_not(None))).all())


def leeches(db: Session, content: Content, user: User) -> list[ReviewCard]:
    """My suspended leeches, the most recently suspended first (questions gone from the content left out)."""
    rows = db.exec(select(ReviewCard).where(ReviewCard.user_id == user.id, col(ReviewCard.suspended_at).is_not(None))
                   .order_by(col(ReviewCard.suspended_at).desc(), col(ReviewCard.id).desc())).all()
    return [r for r in rows if r.question_id in content.by_id]


def resume(db: Session, user: User, question_id: str, now: datetime) -> ReviewCard:
    """Unsuspend my card for the question: it is due at once (it was overdue while suspended, or is now)."""
    row = db.exec(for_update(select(ReviewCard).where(ReviewCard.user_id == user.id,
                                                      ReviewCard.question_id == question_id))).first()
    if row is None or row.suspended_at is None:
        raise NotFound("no suspended card of yours for this question")
    row.suspended_at = None
    row.due = min(utc(row.due), utc(now))
    db.add(row)
    db.flush()
    return row
