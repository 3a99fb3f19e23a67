"""Dashboard figures from plain data and a `now` (pure: no database, no clock, no content store).

Days are calendar days in the caller's time zone (`tz`, UTC by default).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

ACTIVITY_DAYS = 365
FORECAST_DAYS = 14
WEAK_MIN_ATTEMPTS = 2
WEAK_LIMIT = 5


class AttemptRow(NamedTuple):
    question_id: str
    score: float
    created_at: datetime
    id: int = 0  # breaks ties between attempts stored with the same timestamp


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def local_day(dt: datetime, tz: tzinfo = UTC) -> date:
    return _aware(dt).astimezone(tz).date()


def per_question(attempts: Iterable[AttemptRow]) -> dict[str, tuple[float, int]]:
    """question id -> (score of the most recent attempt, number of attempts)."""
    best: dict[str, tuple[datetime, int, float]] = {}
    counts: Counter[str] = Counter()
    for a in attempts:
        counts[a.question_id] += 1
        key = (_aware(a.created_at), a.id, a.score)
        cur = best.get(a.question_id)
        if cur is None or key[:2] > cur[:2]:
            best[a.question_id] = key
    return {qid: (v[2], counts[qid]) for qid, v in best.items()}


def mastery(questions: Mapping[str, tuple[float, int]], topics_of: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """Per topic: mean of the latest score of each attempted question, how many questions, how many attempts.

    `questions` is question id -> (latest score, attempts), as per_question() makes it or the database
    aggregates it. Questions no longer in the content (unknown to `topics_of`) are left out. Sorted by topic.
    """
    scores: dict[str, list[float]] = defaultdict(list)
    counts: Counter[str] = Counter()
    for qid, (score, n) in questions.items():
        for t in topics_of.get(qid, ()):
            scores[t].append(score)
            counts[t] += n
    return [
        {"topic": t, "mastery": round(sum(s) / len(s), 4), "questions": len(s), "attempts": counts[t]}
        for t, s in sorted(scores.items())
    ]


def weakest(mastery_rows: Sequence[Mapping[str, Any]], *, min_attempts: int = WEAK_MIN_ATTEMPTS,
            limit: int = WEAK_LIMIT) -> list[dict[str, Any]]:
    """The lowest-mastery topics among those with at least `min_attempts` attempts; a topic whose every
    question was last answered fully right (mastery 1.0) is not weak."""
    eligible = [dict(r) for r in mastery_rows if r["attempts"] >= min_attempts and r["mastery"] < 1.0]
    return sorted(eligible, key=lambda r: (r["mastery"], -r["attempts"], r["topic"]))[:limit]


def day_counts(created: Iterable[datetime], tz: tzinfo = UTC) -> Counter[date]:
    """Local date -> how many of `created` fall on it."""
    return Counter(local_day(dt, tz) for dt in created)


def activity(created: Iterable[datetime], now: datetime, tz: tzinfo = UTC,
             days: int = ACTIVITY_DAYS) -> dict[str, int]:
    """ISO date -> attempts that day, for the `days` days ending today (oldest first, zeros included)."""
    return activity_series(day_counts(created, tz), now, tz, days)


def activity_series(per_day: Mapping[date, int], now: datetime, tz: tzinfo = UTC,
                    days: int = ACTIVITY_DAYS) -> dict[str, int]:
    """The same from counts already grouped by local date (the database does that for the dashboard)."""
    first = local_day(now, tz) - timedelta(days=days - 1)
    return {(first + timedelta(days=i)).isoformat(): per_day.get(first + timedelta(days=i), 0) for i in range(days)}


def activity_start(now: datetime, tz: tzinfo = UTC, days: int = ACTIVITY_DAYS) -> datetime:
    """The UTC instant the activity window starts: local midnight `days - 1` days before today."""
    first = local_day(now, tz) - timedelta(days=days - 1)
    return datetime.combine(first, time.min).replace(tzinfo=tz).astimezone(UTC)


def offset_segments(tz: tzinfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """The zone's UTC offsets between `start` and `end`: [(from, offset), ...], the first from `start`.
    Lets a database without time zones (SQLite) group UTC timestamps by local date exactly."""
    start, end = _aware(start).astimezone(UTC), _aware(end).astimezone(UTC)

    def off(dt: datetime) -> timedelta:
        return dt.astimezone(tz).utcoffset() or timedelta(0)

    segments = [(start, off(start))]
    day = start
    while day < end:
        nxt = min(day + timedelta(days=1), end)
        if off(nxt) != segments[-1][1]:
            lo, hi = day, nxt  # the change is in (lo, hi]: narrow it to the minute
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (lo, mid) if off(mid) != segments[-1][1] else (mid, hi)
            hi = hi.replace(second=0, microsecond=0)
            segments.append((hi, off(hi)))
        day = nxt
    return segments


def dashboard(
    *,
    questions: Mapping[str, tuple[float, int]],
    per_day: Mapping[date, int],
    topics_of: Mapping[str, Sequence[str]],
    forecast: Mapping[str, int],
    interviews: Sequence[Mapping[str, Any]],
    now: datetime,
    tz: tzinfo = UTC,
) -> dict[str, Any]:
    """Everything GET /me/stats shows. `questions`: question id -> (latest score, attempts);
    `per_day`: attempts per local date; `forecast`: ISO date -> cards due that day (app.practice.due)."""
    topics = mastery(questions, topics_of)
    return {
        "generated_at": now.isoformat(),
        "attempts": sum(n for _, n in questions.values()),
        "questions_attempted": len(questions),
        "mastery": topics,
        "weakest_topics": weakest(topics),
        "activity": activity_series(per_day, now, tz),
        "forecast": dict(forecast),
        "recent_interviews": list(interviews),
    }
