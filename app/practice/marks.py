"""Bookmarks (收藏) and personal notes: a candidate's own marks on questions, one QuestionMark row per account
and question (issue 20). Services never commit (app.db.write_transaction); routers check the quotas.

Ids go through the merge mapping (app.runtime.replacements.recorded_id) on the way in and out: a mark is
kept under the item an id was merged into, and a report's frozen plan (older ids) finds it there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.content.loader import Content
from app.db import for_update
from app.errors import AppError, NotFound
from app.models import QuestionAlias, QuestionMark
from app.pagination import INT_ID, Page, page_of
from app.practice.scheduling import utc
from app.runtime.replacements import recorded_id


@dataclass(frozen=True)
class Mark:
    """What I marked on one question: starred since `starred_at` (None: not starred), my note (None: none)."""

    question_id: str
    starred_at: datetime | None = None
    note: str | None = None
    updated_at: datetime | None = None

    @property
    def starred(self) -> bool:
        return self.starred_at is not None


@dataclass(frozen=True)
class MarkFilters:
    """Which bookmarks to list: any of these banks, topics and types (empty: all)."""

    banks: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    types: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.banks or self.topics or self.types)


def _mark(row: QuestionMark | None, question_id: str) -> Mark:
    if row is None:
        return Mark(question_id)
    return Mark(row.question_id, row.starred_at, row.note, row.updated_at)


def known_question(db: Session, *, content: Content, question_id: str) -> str:
    """The id my marks on `question_id` are kept under; 404 for a question the content does not have."""
    kept = recorded_id(db, question_id)
    if kept not in content.by_id:
        raise NotFound(f"no question with id {question_id!r}")
    return kept


def mark_of(db: Session, *, user_id: int, question_id: str) -> Mark:
    """My mark on one question (an empty Mark when I have none), under the id it is kept under."""
    kept = recorded_id(db, question_id)
    row = db.exec(select(QuestionMark).where(QuestionMark.user_id == user_id,
                                             QuestionMark.question_id == kept)).first()
    return _mark(row, kept)


def marks_of(db: Session, *, user_id: int, question_ids: Iterable[str]) -> dict[str, Mark]:
    """My marks on these questions, by the id asked for (a report's plan may hold ids merged since): two
    reads, whatever their number."""
    asked = sorted(set(question_ids))
    if not asked:
        return {}
    aliases = dict(db.exec(select(QuestionAlias.old_id, QuestionAlias.new_id)
                           .where(col(QuestionAlias.old_id).in_(asked))).all())
    kept = {qid: aliases.get(qid, qid) for qid in asked}
    rows = {r.question_id: r for r in db.exec(select(QuestionMark).where(
        QuestionMark.user_id == user_id, col(QuestionMark.question_id).in_(sorted(set(kept.values()))))).all()}
    return {qid: _mark(rows.get(k), k) for qid, k in kept.items()}


def _row(db: Session, user_id: int, question_id: str) -> QuestionMark | None:
    return db.exec(for_update(select(QuestionMark).where(QuestionMark.user_id == user_id,
                                                         QuestionMark.question_id == question_id))).first()


def _row_to_change(db: Session, user_id: int, question_id: str, now: datetime) -> QuestionMark:
    """My row for the question, made if I have none (a concurrent first mark may win the insert)."""
    row = _row(db, user_id, question_id)
    if row is not None:
        return row
    row = QuestionMark(user_id=user_id, question_id=question_id, updated_at=now)
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        row = _row(db, user_id, question_id)
        assert row is not None
    return row


def _save(db: Session, row: QuestionMark, now: datetime) -> Mark:
    """Keep the row, or delete it when it holds neither a star nor a note (no empty rows to list or export)."""
    mark = Mark(row.question_id, row.starred_at, row.note, now)
    if row.starred_at is None and row.note is None:
        db.delete(row)
    else:
        row.updated_at = now
        db.add(row)
    db.flush()
    return mark


def _clear(db: Session, user_id: int, question_id: str, now: datetime, field: str) -> Mark:
    """Take the star or the note off my mark (a mark left with neither is deleted by _save)."""
    row = _row(db, user_id, question_id)
    if row is None:
        return Mark(question_id)
    setattr(row, field, None)
    return _save(db, row, now)


def set_star(db: Session, *, content: Content, user_id: int, question_id: str, starred: bool,
             now: datetime) -> Mark:
    """Star (or unstar) a question; starring one already starred keeps its date (PUT is idempotent)."""
    kept = known_question(db, content=content, question_id=question_id)
    now = utc(now)
    if not starred:
        return _clear(db, user_id, kept, now, "starred_at")
    row = _row_to_change(db, user_id, kept, now)
    if row.starred_at is None:
        row.starred_at = now
    return _save(db, row, now)


def check_note(note: str, max_chars: int) -> None:
    """422 for a note longer than max_chars (NUL and lone surrogates are refused by the routers' Text)."""
    if len(note) > max_chars:
        raise AppError(f"the note has {len(note)} characters, more than the {max_chars} a note may hold "
                       "(MIANJING_MAX_NOTE_CHARS): shorten it", status_code=422)


def set_note(db: Session, *, content: Content, user_id: int, question_id: str, note: str, now: datetime,
             max_chars: int) -> Mark:
    """Write my note on a question (markdown); an empty one (only spaces) deletes it. 422 past max_chars."""
    check_note(note, max_chars)
    kept = known_question(db, content=content, question_id=question_id)
    now = utc(now)
    if not note.strip():
        return _clear(db, user_id, kept, now, "note")
    row = _row_to_change(db, user_id, kept, now)
    row.note = note
    return _save(db, row, now)


def bookmarks_page(db: Session, *, content: Content, user_id: int, filters: MarkFilters, limit: int,
                   cursor: str | None = None) -> Page[Mark]:
    """My starred questions, most recently starred first, by (starred_at, id) after `cursor`
    (ix_questionmark_user_id_starred_at). Filters go through the content's indexes to a set of ids."""
    stmt = (select(QuestionMark).where(QuestionMark.user_id == user_id, col(QuestionMark.starred_at).is_not(None))
            .order_by(col(QuestionMark.starred_at).desc(), col(QuestionMark.id).desc()).limit(limit + 1))
    if filters.any:
        wanted = [q.id for q in content.filter(banks=filters.banks, topics=filters.topics, types=filters.types)]
        if not wanted:
            return Page([], None)
        stmt = stmt.where(col(QuestionMark.question_id).in_(wanted))
    if cursor is not None:
        stmt = stmt.where(tuple_(QuestionMark.starred_at, QuestionMark.id) < tuple_(*INT_ID.decode(cursor)))
    rows = list(db.exec(stmt).all())
    page = page_of(rows, limit, lambda r: INT_ID.encode(r.starred_at, r.id))
    return Page([_mark(r, r.question_id) for r in page.items], page.next)


def all_marks(db: Session, *, user_id: int) -> list[Mark]:
    """Every mark of mine, for the account archive (bounded by the content: one per question)."""
    rows = db.exec(select(QuestionMark).where(QuestionMark.user_id == user_id)
                   .order_by(col(QuestionMark.id))).all()
    return [_mark(r, r.question_id) for r in rows]


def starred_ids(db: Session, *, user_id: int) -> set[str]:
    """The questions I have starred (what practice from bookmarks draws from)."""
    return set(db.exec(select(QuestionMark.question_id).where(
        QuestionMark.user_id == user_id, col(QuestionMark.starred_at).is_not(None))).all())
