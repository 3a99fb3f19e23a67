"""From a scored answer to an FSRS rating, and one review of a card (pure: plain data and a `now`).

The scheduler is the `fsrs` package (FSRS-6); nothing here computes intervals by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from fsrs import Card, Rating, Scheduler, State

from app.scoring.check import OPEN_CORRECT_THRESHOLD

RatingName = Literal["again", "hard", "good", "easy"]
RATINGS: tuple[str, ...] = get_args(RatingName)
_BY_NAME = {name: Rating(i + 1) for i, name in enumerate(RATINGS)}
MIN_RETENTION, MAX_RETENTION = 0.7, 0.99
FULL_SCORE = 0.999  # the same slack check.py uses for "fully right"
OBJECTIVE_HARD = 0.5  # partial credit (multiple choice) at or above this is a struggle, below it a miss
OPEN_HARD = 0.3  # open answers: key-point coverage at or above this is "hard", below "again"


def rating_name(rating: Rating) -> str:
    return RATINGS[int(rating) - 1]


def parse_rating(name: str) -> Rating:
    """'again' | 'hard' | 'good' | 'easy' (any case) to an fsrs Rating; ValueError otherwise."""
    try:
        return _BY_NAME[name.strip().lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"rating must be one of {', '.join(RATINGS)}") from None


def rating_for(qtype: str, score: float, self_rating: str | None = None) -> Rating:
    """The rating an answer gives its card.

    Objective items (single, multiple, numeric, shape, generated): full marks -> Good, at least half -> Hard,
    else Again; a self-rating is ignored because the score already says how it went.
    Open items: the user's own rating when given, otherwise the rating the key-point coverage proposes
    (>= 0.6, the threshold for "answered" -> Good; >= 0.3 -> Hard; else Again), which only ever proposes:
    their cards are scheduled from the user's own rating (app.practice.service.record_attempt). Coverage never
    yields Easy: only the user can say that.
    """
    if qtype == "open":
        if self_rating:
            return parse_rating(self_rating)
        if score >= OPEN_CORRECT_THRESHOLD:
            return Rating.Good
        return Rating.Hard if score >= OPEN_HARD else Rating.Again
    if score >= FULL_SCORE:
        return Rating.Good
    return Rating.Hard if score >= OBJECTIVE_HARD else Rating.Again


def is_mistake(qtype: str, score: float, self_rating: str | None = None, *, self_rated: bool = False) -> bool:
    """Whether an answer goes into the mistakes (错题, DESIGN): an objective item scored below full marks;
    an open item self-rated Again or covering less than OPEN_CORRECT_THRESHOLD of its key points; an open
    item without key points (`self_rated`: no coverage to fall short of) self-rated Again."""
    if self_rated:
        return self_rating == "again"
    if qtype == "open":
        return self_rating == "again" or score < OPEN_CORRECT_THRESHOLD
    return score < FULL_SCORE


def utc(dt: datetime) -> datetime:
    """fsrs insists on tzinfo == UTC; SQLite gives naive datetimes and PostgreSQL fixed offsets."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


Parameters = Sequence[float] | None  # a candidate's fitted FSRS-6 weights (app.practice.scheduler_fits); None: defaults


def scheduler(desired_retention: float, parameters: Parameters = None) -> Scheduler:
    """The scheduler at the candidate's retention, with their fitted parameters when they have some."""
    retention = min(max(desired_retention, MIN_RETENTION), MAX_RETENTION)
    if parameters is None:
        return Scheduler(desired_retention=retention)
    return Scheduler(parameters=tuple(parameters), desired_retention=retention)


@dataclass(frozen=True)
class Reviewed:
    card: dict[str, Any]  # fsrs.Card.to_dict()
    due: datetime
    last_review: datetime
    lapse: bool  # a card that had graduated to Review was forgotten


def new_card(now: datetime) -> dict[str, Any]:
    # card_id given explicitly: fsrs would otherwise derive it from the wall clock and sleep 1 ms.
    return Card(card_id=0, due=utc(now)).to_dict()


def review(card: dict[str, Any] | None, rating: Rating, now: datetime, desired_retention: float,
           parameters: Parameters = None) -> Reviewed:
    """Review `card` (None: a question never seen before) with `rating` at `now`, by the candidate's fitted
    parameters (None: the defaults)."""
    before = Card.from_dict(card) if card is not None else Card.from_dict(new_card(now))
    when = utc(now)
    if before.last_review is not None and utc(before.last_review) > when:
        when = utc(before.last_review)  # never review into the past (late-closing interviews, clock skew)
    after, _log = scheduler(desired_retention, parameters).review_card(before, rating, review_datetime=when)
    lapse = before.state == State.Review and rating == Rating.Again
    return Reviewed(card=after.to_dict(), due=utc(after.due), last_review=when, lapse=lapse)
