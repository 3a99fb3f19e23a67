"""错题本, the page (issue 20): my mistakes with my answer beside the reference, filtered, a page at a time;
GET /api/v1/me/mistakes serves the same list (app.practice.mistakes)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.api.deps import ContentDep, NowDep, SessionDep
from app.content.loader import Content
from app.db import write_transaction
from app.pagination import COUNT_ID, invalid_cursor
from app.practice import leeches, listing, mistakes
from app.practice.service import PracticeFilters
from app.scoring.check import instance_for
from app.views import explanation_html, question_view, reference_html
from app.web.practice_views import (
    CHOICE_TYPES,
    answer_text,
    chosen_keys,
    filter_choices,
    local_time,
    marked_options,
    practice_url,
    query_values,
)
from app.web.routes import Visitor, VisitorDep, redirect, render

router = APIRouter(include_in_schema=False)
PAGE = 20
STATES: tuple[mistakes.State, ...] = ("active", "cleared")
LEECHES = "leeches"  # the third tab: suspended leeches, which are cards, not mistakes
SORTS: tuple[mistakes.Sort, ...] = ("often", "recent")


def _url(pairs: list[tuple[str, str]], **extra: str) -> str:
    return "/mistakes?" + urlencode([*pairs, *((k, v) for k, v in extra.items() if v)])


def _shown(content: Content, item: dict[str, Any], tz: Any) -> dict[str, Any]:
    """One entry as its card shows it: my last wrong and latest answers, the reference, the explanation of
    the instance I got wrong, and where to practise it again."""
    q = content.by_id[item["question_id"]]
    wrong = item["last_wrong"]
    seed = wrong["seed"] if q.type == "generated" else None
    inst = instance_for(q, seed) if seed is not None else None
    view = question_view(q, seed, inst)
    return {**item, "is_open": q.type == "open", "is_code": q.type == "code",
            "wrong_text": answer_text(wrong["answer"]) if q.type not in ("open", "code") else wrong["answer"],
            "latest_text": answer_text(item["latest"]["answer"]) if q.type not in ("open", "code")
            else item["latest"]["answer"],
            "latest_is_wrong": item["latest"]["attempt_id"] == wrong["attempt_id"],
            "expected_text": answer_text(item["expected"]) if q.type not in ("open", "code") else "",
            "reference_html": reference_html(q), "explanation_html": explanation_html(q, seed, inst),
            "prompt_html": view["prompt_html"],
            "options": marked_options(view["options"], chosen_keys(wrong["answer"], q.type), item["expected"])
            if q.type in CHOICE_TYPES else [],
            "last_wrong_at": local_time(wrong["created_at"], tz), "cleared_at": local_time(item["cleared_at"], tz),
            "round_titles": [content.rounds_by_id[r].title if r in content.rounds_by_id else r for r in item["rounds"]],
            "redo": practice_url(PracticeFilters(mistakes=item["cleared_at"] is None), first=q.id)}


@router.get("/mistakes", response_class=HTMLResponse)
def mistakes_page(request: Request, visitor: VisitorDep, db: SessionDep, content: ContentDep) -> Response:
    params = request.query_params
    if params.get("state") == LEECHES:
        return _leeches_page(visitor, db, content)
    state = params.get("state") if params.get("state") in STATES else "active"
    sort = params.get("sort") if params.get("sort") in SORTS else "often"
    cursor = params.get("cursor") or None
    if cursor is not None and not COUNT_ID.matches(cursor):
        raise invalid_cursor()
    chosen = {key: query_values(params, key) for key in ("bank", "topic", "type", "round")}
    context: dict[str, Any] = {"clear_after": request.app.state.settings.mistake_clear_after_days, "state": state, "sort": sort, "chosen": chosen, "choices": filter_choices(content),
                               "rounds": [(r.id, r.title) for r in content.rounds], "items": [], "older": None,
                               "first_page": cursor is None, "counts": {}}
    if visitor.user is not None:
        tz = visitor.zone()
        every = mistakes.mistakes_of(db, content, visitor.user, tz,
                                     request.app.state.settings.mistake_clear_after_days).values()
        filters = {"banks": chosen["bank"], "topics": chosen["topic"], "types": chosen["type"], "rounds": chosen["round"]}
        matching = mistakes.select_entries(every, content, state="all", sort=sort, **filters)  # both tabs at once
        counts = {"active": sum(e.active for e in matching), "cleared": sum(not e.active for e in matching)}
        entries = [e for e in matching if e.active == (state == "active")]
        page = listing.mistakes_page(db, entries, content, sort, PAGE, cursor)
        kept = [(k, v) for k, values in chosen.items() for v in values] + [("sort", sort)]
        context |= {"items": [_shown(content, item, tz) for item in page.items], "counts": counts,
                    "tab_urls": {s: _url(kept, state=s) for s in STATES}, "first_url": _url(kept, state=state),
                    "leech_count": len(leeches.suspended_ids(db, visitor.user.id) & content.by_id.keys()),
                    "older": _url(kept, state=state, cursor=page.next) if page.next else None}
    return render(visitor, "mistakes.html", context)


def _leeches_page(visitor: Visitor, db: Session, content: Content) -> Response:
    """The third tab: my suspended leeches (app.practice.leeches), each with its explanation and 恢复复习."""
    items = []
    if visitor.user is not None:
        tz = visitor.zone()
        for row in leeches.leeches(db, content, visitor.user):
            q = content.by_id[row.question_id]
            items.append({**listing.leech_record(content, row), "suspended_text": local_time(row.suspended_at, tz),
                          "explanation_html": explanation_html(q)})
    return render(visitor, "leeches.html", {"items": items})


@router.post("/leeches/{question_id}/resume")
def resume_leech(question_id: str, visitor: VisitorDep, db: SessionDep, now: NowDep) -> Response:
    if visitor.user is not None:
        with write_transaction(db):
            leeches.resume(db, visitor.user, question_id, now)  # 404 page when it is not mine or not suspended
    return redirect(visitor, "/mistakes?state=leeches")
