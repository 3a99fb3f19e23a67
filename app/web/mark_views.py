"""My star and note on a question as the pages show them (templates/_mark.html): for the practice slot, the
question page, the report and the bookmarks page alike."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.content.render import render_note
from app.models import User
from app.practice import marks
from app.practice.marks import Mark


def mark_view(mark: Mark) -> dict[str, Any]:
    """The context of templates/_mark.html for one question: posted to under the id the mark is kept under."""
    return {"qid": mark.question_id, "starred": mark.starred, "note": mark.note,
            "note_html": render_note(mark.note) if mark.note else None, "error": None}


def mark_for(db: Session, user: User | None, question_id: str) -> dict[str, Any] | None:
    """My mark on a question for a page that shows it; None for a visitor without an account."""
    if user is None:
        return None
    return mark_view(marks.mark_of(db, user_id=user.id, question_id=question_id))


def marks_for(db: Session, user: User | None, question_ids: list[str]) -> dict[str, dict[str, Any]]:
    """My marks on many questions (a report), by the ids the page holds: two reads."""
    if user is None:
        return {}
    found = marks.marks_of(db, user_id=user.id, question_ids=question_ids)
    return {qid: mark_view(m) for qid, m in found.items()}
