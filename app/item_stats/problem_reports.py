"""纠错: a candidate reports a problem with a question (a wrong answer key, an unclear stem, a typo); the
report keeps what they saw (the content version) and their latest answer to it, and waits in the admins'
queue until one resolves it with a note. A candidate sees only their own reports."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal

from sqlalchemy import func, tuple_
from sqlmodel import Session, col, select

from app import rate_limits
from app.content.loader import Content
from app.db import for_update
from app.errors import AppError, NotFound
from app.models import Attempt, ProblemReport, User
from app.pagination import INT_ID, Page, page_of
from app.rate_limits import Limits

KINDS = ("wrong_answer", "unclear", "typo", "other")
Kind = Literal["wrong_answer", "unclear", "typo", "other"]
STATES = ("open", "resolved")


def _capped(text: str, max_chars: int, what: str) -> str:
    text = text.strip()
    if len(text) > max_chars:
        raise AppError(f"{what}最多 {max_chars} 个字符（现在 {len(text)} 个）。", status_code=422,
                       max_chars=max_chars)
    return text


def latest_answer(db: Session, user: User, question_id: str) -> object:
    """The user's latest recorded answer to the question (practice or interview), or None."""
    return db.exec(select(Attempt.answer).where(Attempt.user_id == user.id, Attempt.question_id == question_id)
                   .order_by(col(Attempt.created_at).desc(), col(Attempt.id).desc()).limit(1)).first()


def file_report(*, db: Session, content: Content, user: User, question_id: str, kind: str, comment: str,
                now: datetime, limits: Limits, max_chars: int) -> ProblemReport:
    """Store a report (inside the caller's write). 404 for a question the live content lacks, 422 for an
    unknown kind or a comment over `max_chars`, 429 past the account's reports per hour."""
    if question_id not in content.by_id:
        raise NotFound(f"no question with id {question_id!r}")
    if kind not in KINDS:
        raise AppError(f"kind must be one of {', '.join(KINDS)}", status_code=422)
    comment = _capped(comment, max_chars, "说明")
    rate_limits.admit(db, now, (limits.problem_reports, str(user.id)))
    report = ProblemReport(user_id=user.id, question_id=question_id, content_version=content.version, kind=kind,
                           comment=comment, answer=latest_answer(db, user, question_id), created_at=now)
    db.add(report)
    db.flush()
    return report


def my_reports(db: Session, user: User, question_id: str | None = None) -> list[ProblemReport]:
    """The user's own reports, newest first (of one question, when given)."""
    stmt = select(ProblemReport).where(ProblemReport.user_id == user.id)
    if question_id is not None:
        stmt = stmt.where(ProblemReport.question_id == question_id)
    return list(db.exec(stmt.order_by(col(ProblemReport.created_at).desc(), col(ProblemReport.id).desc())
                        .limit(200)).all())


def get_mine(db: Session, user: User, report_id: int) -> ProblemReport:
    """The user's report; 404 alike for a missing one and for someone else's."""
    report = db.get(ProblemReport, report_id)
    if report is None or report.user_id != user.id:
        raise NotFound("no such report")
    return report


def queue(db: Session, state: str | None, limit: int, cursor: str | None = None) -> Page[ProblemReport]:
    """The admins' queue, oldest first (keyset pages by created_at and id); every state when None."""
    if state is not None and state not in STATES:
        raise AppError(f"state must be one of {', '.join(STATES)}", status_code=422)
    stmt = select(ProblemReport)
    if state is not None:
        stmt = stmt.where(ProblemReport.state == state)
    if cursor is not None:
        stmt = stmt.where(tuple_(ProblemReport.created_at, ProblemReport.id) > tuple_(*INT_ID.decode(cursor)))
    rows = list(db.exec(stmt.order_by(col(ProblemReport.created_at), col(ProblemReport.id)).limit(limit + 1)).all())
    return page_of(rows, limit, lambda r: INT_ID.encode(r.created_at, r.id or 0))


def resolve(*, db: Session, report_id: int, note: str, now: datetime, max_chars: int) -> ProblemReport:
    """Close a report with the admin's note (inside the caller's write); 404 if missing, 409 if resolved."""
    note = _capped(note, max_chars, "处理说明")
    report = db.exec(for_update(select(ProblemReport).where(ProblemReport.id == report_id))).first()
    if report is None:
        raise NotFound("no such report")
    if report.state == "resolved":
        raise AppError("这条纠错已经处理过了。", status_code=409, state="resolved")
    report.state, report.resolved_at, report.resolution_note = "resolved", now, note
    db.add(report)
    db.flush()
    return report


def counts_by_question(db: Session, question_ids: Collection[str] | None = None) -> dict[str, tuple[int, int]]:
    """(open, all) reports per question."""
    stmt = select(ProblemReport.question_id, ProblemReport.state, func.count()).group_by(
        col(ProblemReport.question_id), col(ProblemReport.state))
    if question_ids is not None:
        stmt = stmt.where(col(ProblemReport.question_id).in_(list(question_ids)))
    counts: dict[str, tuple[int, int]] = {}
    for qid, state, n in db.exec(stmt).all():
        open_n, all_n = counts.get(qid, (0, 0))
        counts[qid] = (open_n + (n if state == "open" else 0), all_n + n)
    return counts
