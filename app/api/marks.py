"""My bookmarks (收藏) and notes on questions (issue 20): star, unstar, list with filters, one note each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from app.api.deps import AddressDep, CallerDep, ContentDep, NowDep, SessionDep, WriteQuotasDep
from app.api.me import question_link
from app.api.schemas import (
    AUTH_WRITE_ERRORS,
    REQUEST_ERRORS,
    BookmarkPage,
    IntCursor,
    PageLimit,
    QuestionMarkPublic,
    errors,
    links,
)
from app.auth.rules import Text
from app.content.loader import Content, one
from app.content.model import QUESTION_TYPES, QuestionType
from app.content.render import render_note
from app.pagination import DEFAULT_LIMIT
from app.practice import marks
from app.practice.marks import Mark

router = APIRouter(prefix="/api/v1/me", tags=["me"])
READ = {**REQUEST_ERRORS, **errors(401)}
QUOTA = ("the account or the client address has used up its writes for the minute (or, for a note, its text "
         "for the hour): nothing was changed; see Retry-After")
WRITE = {**REQUEST_ERRORS, **AUTH_WRITE_ERRORS, **errors(e404="no such question", e429=QUOTA)}


class NoteRequest(BaseModel):
    note: Text = Field(description="markdown; empty (or only spaces) deletes the note. At most "
                                   "MIANJING_MAX_NOTE_CHARS characters (4000 by default), else 422")


def mark_json(mark: Mark) -> dict[str, Any]:
    return {"question_id": mark.question_id, "starred": mark.starred,
            "starred_at": mark.starred_at.isoformat() if mark.starred_at else None, "note": mark.note,
            "note_html": render_note(mark.note) if mark.note else None,
            "updated_at": mark.updated_at.isoformat() if mark.updated_at else None}


def bookmark_json(content: Content, mark: Mark) -> dict[str, Any]:
    q = content.by_id.get(mark.question_id)
    return {**mark_json(mark), "title": q.title if q else None, "bank": q.bank if q else None,
            "type": q.type if q else None, "topics": list(q.topics) if q else [],
            "url": question_link(mark.question_id)}


@router.get("/bookmarks", response_model=BookmarkPage, operation_id="list_bookmarks", responses={
    **READ, **links(200, next_page=("list_bookmarks", {"cursor": "$response.body#/next"}),
                    first=("get_question", {"question_id": "$response.body#/items/0/question_id"}))})
def list_bookmarks(caller: CallerDep, db: SessionDep, content: ContentDep,
                   bank: str | None = None, topic: str | None = None,
                   type: Annotated[QuestionType | None, Query(description=f"one of {', '.join(QUESTION_TYPES)}")] = None,
                   limit: PageLimit = DEFAULT_LIMIT, cursor: IntCursor = None) -> dict[str, Any]:
    """My starred questions, most recently starred first, with my note on each; filtered by bank, topic and
    type as the question list is, `limit` at a time (pass a page's `next` as `cursor`)."""
    user = caller.user(db)
    filters = marks.MarkFilters(banks=one(bank), topics=one(topic), types=one(type))
    page = marks.bookmarks_page(db, content=content, user_id=user.id, filters=filters, limit=limit, cursor=cursor)
    return {"items": [bookmark_json(content, m) for m in page.items], "next": page.next}


@router.put("/bookmarks/{question_id}", response_model=QuestionMarkPublic, operation_id="star_question",
            responses=WRITE)
def star(question_id: str, caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep,
         quotas: WriteQuotasDep, address: AddressDep) -> dict[str, Any]:
    """Star a question (收藏); starring it again changes nothing. Counted as one write of the write quotas."""
    user = caller.user(db)
    with quotas.charged_write(db, now, quotas.charges(user.id, address)):
        mark = marks.set_star(db, content=content, user_id=user.id, question_id=question_id, starred=True, now=now)
    return mark_json(mark)


@router.delete("/bookmarks/{question_id}", response_model=QuestionMarkPublic, operation_id="unstar_question",
               responses=WRITE)
def unstar(question_id: str, caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep,
           quotas: WriteQuotasDep, address: AddressDep) -> dict[str, Any]:
    """Take the star off a question (my note on it stays). Counted as one write of the write quotas."""
    user = caller.user(db)
    with quotas.charged_write(db, now, quotas.charges(user.id, address)):
        mark = marks.set_star(db, content=content, user_id=user.id, question_id=question_id, starred=False, now=now)
    return mark_json(mark)


@router.get("/notes/{question_id}", response_model=QuestionMarkPublic, operation_id="get_note",
            responses={**READ, **errors(e404="no such question")})
def get_note(question_id: str, caller: CallerDep, db: SessionDep, content: ContentDep) -> dict[str, Any]:
    """My star and note on one question (`note` null when I wrote none)."""
    user = caller.user(db)
    kept = marks.known_question(db, content=content, question_id=question_id)
    return mark_json(marks.mark_of(db, user_id=user.id, question_id=kept))


@router.put("/notes/{question_id}", response_model=QuestionMarkPublic, operation_id="put_note", responses={
    **WRITE, **errors(e422="the request is malformed (a NUL or a lone surrogate in the note), or the note is "
                           "longer than MIANJING_MAX_NOTE_CHARS: `detail` says by how much")})
def put_note(question_id: str, body: NoteRequest, request: Request, caller: CallerDep, db: SessionDep,
             content: ContentDep, now: NowDep, quotas: WriteQuotasDep, address: AddressDep) -> dict[str, Any]:
    """Write my note on a question (one per question, markdown, rendered as content is); an empty note deletes
    it. Counted as one write and its characters of the write quotas."""
    user = caller.user(db)
    max_chars = request.app.state.settings.max_note_chars
    marks.check_note(body.note, max_chars)  # before the quotas: a refused note costs no write
    with quotas.charged_write(db, now, quotas.charges(user.id, address, len(body.note))):
        mark = marks.set_note(db, content=content, user_id=user.id, question_id=question_id, note=body.note,
                              now=now, max_chars=max_chars)
    return mark_json(mark)
