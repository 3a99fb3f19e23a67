"""A finished interview's summary: score per section and per topic, the time spent on each section against
the round's plan, the weakest topics and the mistakes. Pure: plain data in (the frozen plan's sections and
one outcome per item), plain data out; app.interviews.service.report shapes it for the API and the page.

Time is what the server accounted to each question while it was the current one (InterviewAnswer.
time_spent_ms, added at each move and at the finish), so a section's time is the sum over its questions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.practice.scheduling import is_mistake

WEAK_BELOW = 0.6  # a topic scored below this is weak (the report's chart marks the same bars)
MAX_WEAK_TOPICS = 5


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What the summary needs of one planned item and its scored answer."""

    position: int
    section: int
    type: str
    topics: tuple[str, ...]
    score: float
    self_rating: str | None = None
    spent_seconds: float = 0.0
    scored: bool = True  # items marked `scored: false` (self-introduction, 反问) count in time only
    self_rated: bool = False  # an open item without key points: its self-rating is its only grade

    @property
    def mistake(self) -> bool:
        return self.scored and is_mistake(self.type, self.score, self.self_rating, self_rated=self.self_rated)


@dataclass(frozen=True, slots=True)
class SectionSummary:
    index: int
    title: str
    start: int  # the section's first position
    count: int  # its items, follow-ups included
    planned_seconds: float
    spent_seconds: float
    score: float | None  # mean over its scored items; None when it has none
    mistakes: int

    @property
    def over_seconds(self) -> float:
        """How far the time spent ran past the plan (0 within it)."""
        return max(0.0, self.spent_seconds - self.planned_seconds)


@dataclass(frozen=True, slots=True)
class TopicSummary:
    topic: str
    score: float
    count: int
    mistakes: int


@dataclass(frozen=True, slots=True)
class ReportSummary:
    sections: tuple[SectionSummary, ...]
    topics: tuple[TopicSummary, ...]  # weakest first (lowest score, then by name)
    weak_topics: tuple[str, ...]  # the weakest of those below WEAK_BELOW, at most MAX_WEAK_TOPICS
    mistakes: tuple[int, ...]  # positions, in order
    scored: int  # items that count towards the score
    planned_seconds: float  # the round's duration
    spent_seconds: float


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarize(sections: Sequence[Mapping[str, Any]], items: Sequence[ItemOutcome],
              duration_minutes: float | None = None) -> ReportSummary:
    """The summary of a plan's `sections` (title, minutes, start, count) and its items' outcomes; the plan
    is `duration_minutes` long (the sections' minutes added up when not given)."""
    scores: dict[int, list[float]] = defaultdict(list)
    spent: dict[int, float] = defaultdict(float)
    section_mistakes: dict[int, int] = defaultdict(int)
    topic_scores: dict[str, list[float]] = defaultdict(list)
    topic_mistakes: dict[str, int] = defaultdict(int)
    for item in items:
        spent[item.section] += item.spent_seconds
        if not item.scored:
            continue
        scores[item.section].append(item.score)
        section_mistakes[item.section] += item.mistake
        for topic in item.topics:
            topic_scores[topic].append(item.score)
            topic_mistakes[topic] += item.mistake
    shown = tuple(
        SectionSummary(index=i, title=str(s["title"]), start=int(s.get("start", 0)), count=int(s.get("count", 0)),
                       planned_seconds=float(s["minutes"]) * 60,
                       spent_seconds=round(spent[i], 1), score=_mean(scores[i]), mistakes=section_mistakes[i])
        for i, s in enumerate(sections))
    topics = tuple(sorted(
        (TopicSummary(t, _mean(v) or 0.0, len(v), topic_mistakes[t]) for t, v in topic_scores.items()),
        key=lambda t: (t.score, t.topic)))
    planned = duration_minutes * 60 if duration_minutes is not None else sum(s.planned_seconds for s in shown)
    return ReportSummary(
        sections=shown, topics=topics,
        weak_topics=tuple(t.topic for t in topics if t.score < WEAK_BELOW)[:MAX_WEAK_TOPICS],
        mistakes=tuple(i.position for i in items if i.mistake),
        scored=sum(1 for i in items if i.scored),
        planned_seconds=float(planned), spent_seconds=round(sum(spent.values()), 1),
    )
