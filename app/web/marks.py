"""Bookmarks and notes on the pages (issue 20): the star and note widget (templates/_mark.html) that htmx
posts and swaps, the bookmarks page, and a page for one question (where a bookmark leads).

The widget's posts are the API's writes (app.practice.marks within the write quotas), rendered: a
server-rendered fragment, never JSON filled in by the browser (DESIGN: "a bookmark star").
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import AddressDep, ContentDep, NowDep, SessionDep, WriteQuotasDep
from app.auth.rules import Text
from app.content.loader import Content
from app.errors import AppError, NotFound
from app.pagination import DEFAULT_LIMIT, INT_ID
from app.practice import marks
from app.practice.marks import Mark
from app.views import followed_up, question_view
from app.web.i18n import translator
from app.web.mark_views import mark_for, mark_view
from app.web.practice_views import filter_choices, query_values
from app.web.routes import Visitor, VisitorDep, redirect, render

router = APIRouter(include_in_schema=False)


def _back(url: str) -> str:
    """Where a form post without htmx returns: one of our own pages, never another site."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return "/bookmarks"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _widget(visitor: Visitor, mark: dict[str, Any], back: str, editor: str, *, status_code: int = 200) -> Response:
    if visitor.request.headers.get("HX-Request") != "true":
        return redirect(visitor, _back(back))
    response = render(visitor, "_mark.html", {"m": mark, "back": back, "unfolded_editor": editor == "unfolded",
                                              "due_count": None}, status_code=status_code)
    if status_code >= 400:  # htmx swaps no 4xx: static/app.js lets one aimed at a widget through
        response.headers["HX-Retarget"] = f"#mark-{mark['qid']}"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


@router.post("/marks/{question_id}/star", response_class=HTMLResponse)
def star(question_id: str, visitor: VisitorDep, db: SessionDep, content: ContentDep, now: NowDep,
         quotas: WriteQuotasDep, address: AddressDep, starred: Annotated[Text, Form(max_length=1)] = "1",
         back: Annotated[Text, Form(max_length=2048)] = "",
         editor: Annotated[Text, Form(max_length=16)] = "") -> Response:
    """Star or unstar (starred=0) a question; the widget again, as a fragment (htmx) or by going back."""
    user = visitor.signed_in()
    with quotas.charged_write(db, now, quotas.charges(user.id, address)):
        mark = marks.set_star(db, content=content, user_id=user.id, question_id=question_id,
                              starred=starred != "0", now=now)
    return _widget(visitor, mark_view(mark), back, editor)


@router.post("/marks/{question_id}/note", response_class=HTMLResponse)
def note(question_id: str, visitor: VisitorDep, db: SessionDep, content: ContentDep, now: NowDep,
         quotas: WriteQuotasDep, address: AddressDep, note: Annotated[Text, Form(max_length=200_000)] = "",
         back: Annotated[Text, Form(max_length=2048)] = "",
         editor: Annotated[Text, Form(max_length=16)] = "") -> Response:
    """Save my note (empty deletes it); a note over MIANJING_MAX_NOTE_CHARS is 422 with the widget saying so
    and keeping the text."""
    user = visitor.signed_in()
    max_chars = visitor.request.app.state.settings.max_note_chars
    note = note.replace("\r\n", "\n")  # a textarea sends CRLF; count and keep what was typed
    try:
        marks.check_note(note, max_chars)
    except AppError:
        kept = marks.known_question(db, content=content, question_id=question_id)
        view = {**mark_view(marks.mark_of(db, user_id=user.id, question_id=kept)), "note": note,
                "error": translator(visitor.lang)("note_too_long", n=max_chars, got=len(note))}
        if visitor.request.headers.get("HX-Request") != "true":
            raise
        return _widget(visitor, view, back, editor, status_code=422)
    with quotas.charged_write(db, now, quotas.charges(user.id, address, len(note))):
        mark = marks.set_note(db, content=content, user_id=user.id, question_id=question_id, note=note, now=now,
                              max_chars=max_chars)
    return _widget(visitor, mark_view(mark), back, editor)


@router.get("/bookmarks", response_class=HTMLResponse)
def bookmarks_page(request: Request, visitor: VisitorDep, db: SessionDep, content: ContentDep) -> Response:
    """My bookmarks, most recently starred first, with my notes; filtered by bank, topic and type."""
    if visitor.user is None:
        return render(visitor, "bookmarks.html", {"login_needed": True})
    params = request.query_params
    filters = marks.MarkFilters(banks=query_values(params, "bank"), topics=query_values(params, "topic"),
                                types=query_values(params, "type"))
    cursor = params.get("cursor")
    if cursor is not None and not INT_ID.matches(cursor):
        cursor = None  # a hand-edited URL: the first page
    page = marks.bookmarks_page(db, content=content, user_id=visitor.user.id, filters=filters,
                                limit=DEFAULT_LIMIT, cursor=cursor)
    items = [_bookmark_row(content, m) for m in page.items]
    base = [("bank", b) for b in filters.banks] + [("topic", t) for t in filters.topics] + \
        [("type", t) for t in filters.types]
    more = "/bookmarks?" + urlencode([*base, ("cursor", page.next)]) if page.next else None
    here = "/bookmarks?" + urlencode([*base, *([("cursor", cursor)] if cursor else [])]) if base or cursor \
        else "/bookmarks"
    return render(visitor, "bookmarks.html", {"items": items, "filters": filters, "choices": filter_choices(content),
                                              "more": more, "here": here, "first_page": cursor is None})


def _bookmark_row(content: Content, mark: Mark) -> dict[str, Any]:
    q = content.by_id.get(mark.question_id)
    bank = next((b.title for b in content.banks if q is not None and b.id == q.bank), None)
    return {"id": mark.question_id, "title": q.title if q else None, "bank": bank, "type": q.type if q else None,
            "topics": list(q.topics) if q else [], "mark": mark_view(mark)}


@router.get("/questions/{question_id}", response_class=HTMLResponse)
def question_page(question_id: str, visitor: VisitorDep, content: ContentDep) -> Response:
    """One question to answer, with my star and note: where a bookmark leads. Checked as in practice."""
    q = content.by_id.get(question_id)
    if q is None:
        raise NotFound(f"no question with id {question_id!r}")
    view = question_view(q)  # a generated item gets a fresh seed
    bank = next((b.title for b in content.banks if b.id == q.bank), q.bank)
    return render(visitor, "question.html", {
        "q": view, "why": {"reason": None, "due": None, "weak": [], "bank": bank},
        "parents": followed_up(content, q.id), "next_url": "/practice", "left": None, "mode": "question",
        "mark": mark_for(visitor.db, visitor.user, q.id), "back": f"/questions/{q.id}"})
