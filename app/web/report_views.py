"""Pure shaping for the interview report page: durations as the countdown writes them, the questions grouped
under their sections (all of them, or only the mistakes), and the drill link for the weakest topics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.practice.service import PracticeFilters
from app.web.practice_views import QueryParams, practice_url

ONLY_WRONG = "wrong"  # ?only=wrong: the report's "wrong only" filter


def clock_text(seconds: float) -> str:
    """A duration as the countdown shows it: m:ss, h:mm:ss from an hour on."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def only_wrong(params: QueryParams) -> bool:
    return params.get("only") == ONLY_WRONG


def section_groups(report: Mapping[str, Any], *, wrong_only: bool) -> list[dict[str, Any]]:
    """Each section of the report with its questions (only its mistakes when `wrong_only`), in plan order;
    a section keeps its place when none of its questions is shown, so the jump list always lands."""
    questions: Sequence[Mapping[str, Any]] = report["questions"]
    groups = []
    for index, section in enumerate(report["sections"]):
        mine = [q for q in questions if q["section"] == index and (q["mistake"] or not wrong_only)]
        groups.append({"index": index, "anchor": f"section-{index + 1}", "section": section, "questions": mine})
    return groups


def drill_url(weak_topics: Sequence[str]) -> str | None:
    """Practice filtered by the weakest topics (the practice page's own filter URL), or None without any."""
    return practice_url(PracticeFilters(topics=tuple(weak_topics))) if weak_topics else None
