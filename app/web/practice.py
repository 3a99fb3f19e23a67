"""Practice, today's reviews and the progress dashboard (issue 7), server-rendered.

An answer is checked through POST /practice/{id}/check, which records a signed-in visitor's attempt and
updates their card as the API's check does, and answers the result as a fragment (static/app.js puts it in
place and wires the self-rating).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import AddressDep, ContentDep, LimitsDep, NowDep, SessionDep, WriteQuotasDep, outside_turn
from app.auth import accounts
from app.auth.rules import Text
from app.content.loader import Content
from app.db import write_transaction
from app.errors import AppError, NotFound
from app.judge import client as judge_client
from app.practice import due, leeches, scheduler_fits, service
from app.scoring.answers import answer_problem
from app.scoring.check import check_answer, instance_for
from app.views import followed_up, question_view
from app.web.i18n import translator
from app.web.mark_views import mark_for
from app.web.practice_views import (
    activity_summary,
    check_view,
    dashboard_charts,
    filter_choices,
    filter_summary,
    filters_query,
    form_answer,
    local_time,
    parse_filters,
    practice_url,
    query_values,
    reason_topics,
    recent_rows,
    weak_rows,
)
from app.web.routes import Visitor, VisitorDep, login_as, redirect, render

router = APIRouter(include_in_schema=False)
GUEST_TARGETS = ("/practice", "/reviews", "/dashboard", "/mistakes", "/bookmarks")  # where "start as a guest" may send the visitor back to


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _slot(visitor: Visitor, content: Content, view: dict[str, Any] | None, *, next_url: str, back: str,
          **extra: Any) -> dict[str, Any]:
    """The context of templates/_question_slot.html: the question, why it was chosen, what it follows up (a
    追问 shown alone is read with its parent question), my star and note on it, the next link."""
    why = None
    if view is not None:
        bank = next((b.title for b in content.banks if b.id == view["bank"]), view["bank"])
        why = {"reason": view["practice"]["reason"], "due": local_time(view["practice"]["due"], visitor.zone()),
               "weak": reason_topics(view), "bank": bank}
    return {"q": view, "why": why, "parents": followed_up(content, view["id"]) if view else [],
            "next_url": next_url, "left": None, "mark": mark_for(visitor.db, visitor.user, view["id"]) if view else None,
            "back": back, **extra}


def _page(visitor: Visitor, name: str, context: dict[str, Any]) -> Response:
    """The whole page, or only the question slot (and the nav's due count) for htmx's "next question"."""
    if _is_htmx(visitor.request):
        return render(visitor, "_question_slot.html", {**context, "oob_badge": visitor.user is not None})
    return render(visitor, name, context)


@router.get("/practice", response_class=HTMLResponse)
def practice_page(request: Request, visitor: VisitorDep, db: SessionDep, content: ContentDep, now: NowDep) -> Response:
    filters = parse_filters(request.query_params)
    first = request.query_params.get("first")  # 再练一次 on the 错题本: this question first
    if "prev" not in request.query_params and parse_qsl(request.url.query) != parse_qsl(
            filters_query(filters, first=first or "")):
        return redirect(visitor, practice_url(filters, first=first or ""))  # one clean URL per filter (no dmin=1&dmax=5)
    weak_needs_login = filters.weak and visitor.user is None
    mistakes_need_login = (filters.mistakes or filters.bookmarks) and visitor.user is None
    if weak_needs_login or mistakes_need_login:
        filters = replace(filters, weak=False, mistakes=False, bookmarks=False)
    try:
        view = service.next_question(db if visitor.user else None, content, visitor.user, now, filters,
                                     tz=visitor.zone(), new_per_day=visitor.new_cards_per_day,
                                     avoid=request.query_params.get("prev"), first=first,
                                     clear_after=request.app.state.settings.mistake_clear_after_days)
    except NotFound:
        view = None
    next_url = practice_url(filters, prev=view["id"] if view else "")
    return _page(visitor, "practice.html", {
        **_slot(visitor, content, view, next_url=next_url, back=practice_url(filters), mode="practice",
                weak=filters.weak),
        "filters": filters, "choices": filter_choices(content),
        "summary": filter_summary(filters, content, translator(visitor.lang)),
        "weak_needs_login": weak_needs_login, "here": practice_url(filters), "mistakes": filters.mistakes or filters.bookmarks,
        "mistakes_need_login": mistakes_need_login,
    })


@router.get("/reviews", response_class=HTMLResponse)
def reviews_page(request: Request, visitor: VisitorDep, db: SessionDep, content: ContentDep, now: NowDep) -> Response:
    """The cards due today (app.practice.due) one at a time, most overdue first. `skip` carries the cards
    shown in this run, each as `id.answer` (its latest answer's id when it was shown). One not answered since
    was passed over: it is skipped, and counted. One answered since is not skipped: reviewed, it has left the
    list or, due again today, comes back in its turn; an open answer waiting for its self-rating (nothing
    scheduled yet) stays out of this run."""
    if visitor.user is None:
        return render(visitor, "reviews.html", {"login_needed": True})
    tz = visitor.zone()
    user = visitor.user
    cards = due.due_today(db, content, user, now, tz, visitor.new_cards_per_day)
    passed = dict(skip_entry(v) for v in query_values(request.query_params, "skip"))
    latest = service.latest_answers(db, user, [c.question_id for c in cards if c.question_id in passed])
    skipped, answered = [], []
    for c in cards:
        if c.question_id in passed:
            answer_id, rating = latest.get(c.question_id, (0, None))
            if passed[c.question_id] in (None, answer_id):
                skipped.append(c)
            elif rating is None:
                answered.append(c)
    waiting = [c for c in cards if c not in skipped and c not in answered]
    view = None
    if waiting:
        view = question_view(content.by_id[waiting[0].question_id])  # generated: a fresh instance
        view["practice"] = {"reason": "due", "due": waiting[0].due.isoformat(), "weak_topics": []}
        latest |= service.latest_answers(db, user, [waiting[0].question_id])
    shown = [(c.question_id, latest.get(c.question_id, (0, None))[0]) for c in (*skipped, *answered, *waiting[:1])]
    next_url = "/reviews?" + urlencode([("skip", f"{qid}.{answer_id}") for qid, answer_id in shown])
    next_day = None if cards else due.read_days(db, content, visitor.user, now, tz, None,
                                                visitor.new_cards_per_day).next_day()
    return _page(visitor, "reviews.html", _slot(
        visitor, content, view, next_url=next_url, back="/reviews", mode="reviews", left=len(cards), due_count=len(cards),
        skipped=len(skipped), next_due=next_day.isoformat() if next_day else None))


def skip_entry(value: str) -> tuple[str, int | None]:
    """`id.answer` of a card shown in this run (a bare id, from before the answer was carried: skipped)."""
    qid, _, answer_id = value.rpartition(".")
    return (qid, int(answer_id)) if qid and answer_id.isdecimal() else (value, None)


@router.post("/practice/{question_id}/check", response_class=HTMLResponse)
def check(question_id: str, visitor: VisitorDep, db: SessionDep, content: ContentDep, now: NowDep,
          quotas: WriteQuotasDep, address: AddressDep,
          text: Annotated[Text | None, Form()] = None, choice: Annotated[list[Text] | None, Form()] = None,
          left: Annotated[list[Text] | None, Form()] = None, right: Annotated[list[Text] | None, Form()] = None,
          seed: Annotated[int | None, Form(ge=0, le=2**31 - 1)] = None) -> Response:
    """Score the practice or review form's answer and render the result; 422 for an answer the API would
    refuse too (longer than MIANJING_MAX_ANSWER_CHARS, say) or a generated item without its seed, and, as a
    fragment with the scorer's hint, for one it cannot read (nothing recorded or revealed); 429 past a
    signed-in visitor's write quotas, as the API's check (refused before it is scored, nothing recorded)."""
    q = content.by_id.get(question_id)
    if q is None:
        raise NotFound(f"no question with id {question_id!r}")
    if q.type == "generated" and seed is None:
        raise AppError("this is a generated question: send the instance's seed with the answer", status_code=422)
    answer = form_answer(q.type, text, choice or [], left or [], right or [])
    settings = visitor.request.app.state.settings
    if problem := answer_problem(answer, max_depth=settings.max_json_depth, max_chars=settings.max_answer_chars):
        raise AppError(f"the answer {problem}", status_code=422)
    inst = instance_for(q, seed) if q.type == "generated" and seed is not None else None
    judge = None
    if q.type == "code":  # a sandbox run: an account's (a guest is fine), within its code limit
        if visitor.user is None:
            return _needs_account(visitor)
        service.admit_code_run(db, visitor.request.app.state.limits, visitor.user, now)
        judge = outside_turn(visitor.request, judge_client.scorer(visitor.request.app.state.judge, "submit"))
    try:
        result, review = service.check_and_record(
            db, user=visitor.user, question=q, seed=seed, answer=answer, rating=None, now=now, quotas=quotas,
            address=address, score=lambda: check_answer(q, answer, seed=seed, inst=inst, grade=visitor.grader.grade,
                                                         judge=judge))
    except service.UnreadableAnswer as refused:  # the form keeps the text; the hint says what to write
        return render(visitor, "_check_refused.html", {"hint": refused.hint, "due_count": None}, status_code=422)
    view = check_view(q, result, seed=seed, inst=inst, review=review, t=translator(visitor.lang), tz=visitor.zone())
    return render(visitor, "_check_result.html", {"res": view, "due_count": None})


@router.post("/practice/{question_id}/run", response_class=HTMLResponse)
def run_code(question_id: str, visitor: VisitorDep, db: SessionDep, content: ContentDep, now: NowDep,
             text: Annotated[Text | None, Form()] = None) -> Response:
    """运行示例: a code item's source on its shown examples, not scored and not recorded; the verdict table as a
    fragment (what the API's POST /questions/{id}/run answers, rendered)."""
    q = content.by_id.get(question_id)
    if q is None or q.type != "code":
        raise NotFound(f"no code question with id {question_id!r}")
    if visitor.user is None:
        return _needs_account(visitor)
    settings = visitor.request.app.state.settings
    if not (text or "").strip() or len(text or "") > settings.max_answer_chars:
        raise AppError(f"the source must hold 1 to {settings.max_answer_chars} characters", status_code=422)
    service.admit_code_run(db, visitor.request.app.state.limits, visitor.user, now)
    verdict = outside_turn(visitor.request, judge_client.scorer(visitor.request.app.state.judge, "examples"))(
        q, text or "")
    return render(visitor, "_code_run.html", {"verdict": verdict})


def _needs_account(visitor: Visitor) -> Response:
    """Code runs in a sandbox of its own: a visitor starts as a guest first (one click, nothing to fill in)."""
    return render(visitor, "_check_refused.html", {"hint": translator(visitor.lang)("code_needs_account"),
                                                    "due_count": None}, status_code=401)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, visitor: VisitorDep, content: ContentDep) -> Response:
    if visitor.user is None:
        return render(visitor, "dashboard.html", {"login_needed": True})
    return _dashboard(visitor, content, saved=request.query_params.get("saved") == "1",
                      fit_started=request.query_params.get("fit") == "started")


def _dashboard(visitor: Visitor, content: Content, *, status_code: int = 200, **extra: Any) -> Response:
    assert visitor.user is not None
    tz = visitor.zone()
    figures = service.dashboard(visitor.db, content, visitor.user, visitor.now, tz, visitor.new_cards_per_day)
    today = visitor.now.astimezone(tz).date()
    t = translator(visitor.lang)
    return render(visitor, "dashboard.html", {
        "f": figures, "charts": dashboard_charts(figures, t, today), "recent": recent_rows(
            figures["recent_interviews"], tz), "activity": activity_summary(figures["activity"], today),
        "forecast_total": sum(figures["forecast"].values()), "retention": figures["desired_retention"],
        "leech_lapses": visitor.user.leech_lapses,
        "weakest": weak_rows(figures["weakest_topics"]),
        **scheduler_context(visitor),
        **extra,
    }, status_code=status_code)


def scheduler_context(visitor: Visitor) -> dict[str, Any]:
    """The dashboard's 复习算法 section (templates/_scheduler.html)."""
    assert visitor.user is not None
    sched = scheduler_fits.status(visitor.db, visitor.user, visitor.now, visitor.request.app.state.fit_policy)
    return {"sched": sched, "sched_fitted_at": local_time(sched["fitted_at"], visitor.zone())}


@router.post("/dashboard/retention")
def retention(visitor: VisitorDep, db: SessionDep, content: ContentDep,
              desired_retention: Annotated[Text, Form(max_length=64)] = "",
              leech_lapses: Annotated[Text, Form(max_length=64)] = "") -> Response:
    """The review settings: desired retention and, when sent, the leech threshold (app.practice.leeches)."""
    if visitor.user is None:
        return redirect(visitor, "/dashboard")
    raw, raw_leech = desired_retention.strip(), leech_lapses.strip()
    leech = int(raw_leech) if raw_leech.isdecimal() else None
    if raw_leech and (leech is None or not leeches.MIN_LAPSES <= leech <= leeches.MAX_LAPSES):
        return _dashboard(visitor, content, status_code=422, leech_error=True, leech_lapses=raw_leech[:20])
    try:
        with write_transaction(db):
            service.set_retention(db, visitor.user, float(raw))
            if leech is not None:
                service.set_leech_lapses(db, visitor.user, leech)
    except (ValueError, AppError):
        return _dashboard(visitor, content, status_code=422, retention_error=True, retention=raw[:20])
    return redirect(visitor, "/dashboard?saved=1#settings")


@router.post("/guest")
def start_as_guest(visitor: VisitorDep, db: SessionDep, now: NowDep, limits: LimitsDep, address: AddressDep,
                   next: Annotated[Text, Form(max_length=2048)] = "") -> Response:
    """A guest account for practising, so answers are recorded and reviews scheduled (no password yet); 429
    (the error page) past the guest limit of the client's address."""
    response = redirect(visitor, _guest_target(next))
    if visitor.user is None:
        with write_transaction(db):
            login_as(visitor, db, accounts.create_guest(db, limits, address, now), now, response)
    return response


def _guest_target(url: str) -> str:
    """Only our own practice pages, never another site (no open redirect)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or parts.path not in GUEST_TARGETS:
        return GUEST_TARGETS[0]
    return parts.path + (f"?{parts.query}" if parts.query else "")
