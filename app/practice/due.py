"""What is due, defined once: the nav badge, 今日复习, GET /api/v1/me/reviews/due, the dashboard's `due_now`
and forecast, and practice's "due" pick all read it from here, so they can never disagree.

A card is due on the candidate's day D when its due time falls before the end of D in their time zone, its
question is in the current content and is scored. A card overdue from an earlier day counts for today; a
card due later today is due today (as in Anki, the day is the unit: the forecast's today, the count and the
list are one set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlmodel import Session, col, select

from app.content.loader import Content
from app.models import ReviewCard, User
from app.practice.scheduling import utc
from app.practice.stats import FORECAST_DAYS, local_day


@dataclass(frozen=True)
class DueCard:
    """A card as the due lists see it (`reps`: how many answers it has had)."""

    id: int
    question_id: str
    due: datetime
    last_rating: str | None
    reps: int

    @property
    def key(self) -> tuple[datetime, int]:
        """The order of every due list: most overdue first, the card id breaking ties."""
        return (self.due, self.id)


def day_end(day: date, tz: tzinfo) -> datetime:
    """The UTC instant `day` ends in `tz` (the next local midnight; DST days are 23 or 25 hours long)."""
    return datetime.combine(day + timedelta(days=1), time.min).replace(tzinfo=tz).astimezone(UTC)


def day_start(day: date, tz: tzinfo) -> datetime:
    return day_end(day - timedelta(days=1), tz)


@dataclass(frozen=True)
class DueDays:
    """The day each card is due on (pure): `cards` in due order, `today` the candidate's day."""

    cards: Sequence[DueCard]
    today: date
    tz: tzinfo

    def day_of(self, card: DueCard) -> date:
        return max(local_day(card.due, self.tz), self.today)

    def on(self, day: date) -> list[DueCard]:
        """The cards due on `day` (overdue ones count for today), most overdue first."""
        return [c for c in self.cards if self.day_of(c) == day]

    def forecast(self, days: int = FORECAST_DAYS) -> dict[str, int]:
        """ISO date -> cards due that day, `days` days from today; its first entry is len(on(today))."""
        counts = {self.today + timedelta(days=i): 0 for i in range(days)}
        for c in self.cards:
            d = self.day_of(c)
            if d in counts:
                counts[d] += 1
        return {d.isoformat(): n for d, n in counts.items()}

    def next_day(self) -> date | None:
        """The first day after today with a card due (None: no card waits)."""
        later = [self.day_of(c) for c in self.cards if self.day_of(c) > self.today]
        return min(later, default=None)


def read_days(db: Session, content: Content, user: User, now: datetime, tz: tzinfo,
              days: int | None = 1) -> DueDays:
    """The user's cards that can be due within `days` days from today (None: all of them), in due order; cards
    of questions gone from the content or not scored are left out. One indexed range read
    (ix_reviewcard_user_id_due): an account holds at most one card per question."""
    today = local_day(utc(now), tz)
    stmt = (select(ReviewCard.id, ReviewCard.question_id, ReviewCard.due, ReviewCard.last_rating, ReviewCard.reps)
            .where(ReviewCard.user_id == user.id)
            .order_by(col(ReviewCard.due), col(ReviewCard.id)))
    if days is not None:
        stmt = stmt.where(ReviewCard.due < day_end(today + timedelta(days=days - 1), tz))
    cards = []
    for card_id, qid, due, last_rating, reps in db.connection().execute(stmt).all():
        q = content.by_id.get(qid)
        if q is not None and q.scored:
            cards.append(DueCard(card_id, qid, utc(due), last_rating, reps))
    return DueDays(cards, today, tz)


def due_today(db: Session, content: Content, user: User, now: datetime, tz: tzinfo) -> list[DueCard]:
    """The cards due on the candidate's today, most overdue first: the one list and count of due reviews."""
    found = read_days(db, content, user, now, tz)
    return found.on(found.today)
