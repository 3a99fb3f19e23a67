"""What is due, defined once: the nav badge, 今日复习, GET /api/v1/me/reviews/due, the dashboard's `due_now`
and forecast, and practice's "due" pick all read it from here, so they can never disagree.

A card is due on the candidate's day D when its due time falls before the end of D in their time zone, its
question is in the current content and is scored. A card overdue from an earlier day counts for today; a
card due later today is due today (as in Anki, the day is the unit: the forecast's today, the count and the
list are one set). The candidate's days are those of their time zone (`candidate_zone`: the IANA zone the
browser reported, UTC until known).

New cards per day (MIANJING_NEW_CARDS_PER_DAY), as Anki caps them. A new card is one never reviewed since
the answer that made it (an interview's or a check's: `reps` is 1). Each day takes at most `new_per_day` of
them, first come (by due time) first served; the others are held back to the next day with room, and a
day's room is what its first reviews of new cards (`first_review_at`) have not used yet. They are held back
in the lists and counts, not by rewriting their due dates: the due date stays what FSRS said (a later
change of the cap, or a card that leaves the content, lets the held-back cards move up at once, and the
scheduler's own data is never bent), and nothing needs to be written when a card is held back, so a read
(the nav badge) stays a read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.content.loader import Content
from app.models import ReviewCard, User
from app.practice.scheduling import utc
from app.practice.stats import FORECAST_DAYS, local_day

ZONES: tuple[str, ...] = tuple(sorted(available_timezones()))  # the IANA names this server knows
_KNOWN_ZONES = frozenset(ZONES)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone `name` ("Asia/Shanghai"); ValueError for a name this server does not know (a typo, an
    empty string, a path)."""
    if name not in _KNOWN_ZONES:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai")
    return ZoneInfo(name)


def candidate_zone(user: User | None) -> tzinfo:
    """The candidate's time zone, as their browser reported it: their days are counted in it. UTC until it
    is known (and should the zone database ever drop the stored name)."""
    try:
        return zone_named(user.timezone) if user is not None and user.timezone else UTC
    except ValueError:
        return UTC


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

    @property
    def is_new(self) -> bool:
        """Never reviewed since the answer that made it."""
        return self.reps <= 1


def day_end(day: date, tz: tzinfo) -> datetime:
    """The UTC instant `day` ends in `tz` (the next local midnight; DST days are 23 or 25 hours long)."""
    return datetime.combine(day + timedelta(days=1), time.min).replace(tzinfo=tz).astimezone(UTC)


def day_start(day: date, tz: tzinfo) -> datetime:
    return day_end(day - timedelta(days=1), tz)


def assign_days(cards: Sequence[DueCard], today: date, tz: tzinfo, new_per_day: int | None = None,
                introduced_today: int = 0) -> dict[int, date | None]:
    """card id -> the day it is due on (pure). A card is due on the day its due time falls in, overdue ones
    today; a new card on the first day from there that has room among `new_per_day` (None: no cap; 0: new
    cards are never due). Today's room is what `introduced_today` (new cards reviewed today) left."""
    days: dict[int, date | None] = {}
    used: Counter[date] = Counter({today: introduced_today})
    room = today  # every day before this one is full (or before the card's own day)
    for c in sorted(cards, key=lambda c: c.key):
        natural = max(local_day(c.due, tz), today)
        if not c.is_new or new_per_day is None:
            days[c.id] = natural
        elif new_per_day <= 0:
            days[c.id] = None
        else:
            d = max(natural, room)
            while used[d] >= new_per_day:
                d += timedelta(days=1)
            used[d] += 1
            days[c.id] = room = d
    return days


@dataclass(frozen=True)
class DueDays:
    """The day each of `cards` is due on (pure), from `today` on in `tz`; see assign_days."""

    cards: Sequence[DueCard]
    today: date
    tz: tzinfo
    new_per_day: int | None = None
    introduced_today: int = 0
    suspended: frozenset[str] = frozenset()  # questions whose cards are suspended leeches: never due
    days: Mapping[int, date | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", assign_days(self.cards, self.today, self.tz, self.new_per_day,
                                                     self.introduced_today))

    def on(self, day: date) -> list[DueCard]:
        """The cards due on `day`, most overdue first (today: the due list)."""
        return sorted((c for c in self.cards if self.days[c.id] == day), key=lambda c: c.key)

    def due_at(self, card: DueCard) -> datetime | None:
        """When the card counts as due: its due time, or the start of the later day a cap held it back to."""
        day = self.days[card.id]
        if day is None:
            return None
        return card.due if day == max(local_day(card.due, self.tz), self.today) else day_start(day, self.tz)

    def forecast(self, days: int = FORECAST_DAYS) -> dict[str, int]:
        """ISO date -> cards due that day, `days` days from today; its first entry is len(on(today))."""
        counts = {self.today + timedelta(days=i): 0 for i in range(days)}
        for c in self.cards:
            d = self.days[c.id]
            if d in counts:
                counts[d] += 1
        return {d.isoformat(): n for d, n in counts.items()}

    def next_day(self) -> date | None:
        """The first day after today with a card due (None: no card waits)."""
        return min((d for d in self.days.values() if d is not None and d > self.today), default=None)


def read_days(db: Session, content: Content, user: User, now: datetime, tz: tzinfo, days: int | None,
              new_per_day: int | None) -> DueDays:
    """The user's cards that can be due within `days` days from today (None: all of them), in due order, and
    the new cards reviewed today; cards of questions gone from the content or not scored are left out. One
    indexed range read (ix_reviewcard_user_id_due): an account holds at most one card per question."""
    today = local_day(utc(now), tz)
    start, end = day_start(today, tz), day_end(today, tz)
    stmt = (select(ReviewCard.id, ReviewCard.question_id, ReviewCard.due, ReviewCard.last_rating, ReviewCard.reps,
                   ReviewCard.first_review_at, ReviewCard.suspended_at)
            .where(ReviewCard.user_id == user.id)
            .order_by(col(ReviewCard.due), col(ReviewCard.id)))
    until = day_end(today + timedelta(days=days - 1), tz) if days is not None else None
    if until is not None:
        stmt = stmt.where(or_(col(ReviewCard.due) < until, col(ReviewCard.first_review_at) >= start))
    cards, introduced, suspended = [], 0, set()
    for card_id, qid, due, last_rating, reps, first_review, suspended_at in db.connection().execute(stmt).all():
        introduced += int(first_review is not None and start <= first_review < end)
        q = content.by_id.get(qid)
        if suspended_at is not None:
            suspended.add(qid)  # a leech (app.practice.leeches): out of every due list and forecast
        elif q is not None and q.scored and (until is None or due < until):
            cards.append(DueCard(card_id, qid, utc(due), last_rating, reps))
    return DueDays(cards, today, tz, new_per_day, introduced, frozenset(suspended))


def due_today(db: Session, content: Content, user: User, now: datetime, tz: tzinfo,
              new_per_day: int | None) -> list[DueCard]:
    """The cards due on the candidate's today, most overdue first: the one list and count of due reviews."""
    found = read_days(db, content, user, now, tz, 1, new_per_day)
    return found.on(found.today)
