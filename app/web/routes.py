"""Server-rendered pages (Jinja2 + htmx + static/app.js): rounds, the timed interview, reports, history.

Practice, reviews and the dashboard are in app/web/practice.py; the helpers here serve both."""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from app.api.deps import (
    ANON_COOKIE,
    AddressDep,
    ContentDep,
    LimitsDep,
    NowDep,
    SessionDep,
    anon_value,
    carried_tokens,
    outside_turn,
)
from app.auth import accounts, rules
from app.auth.cookies import clear_session_cookie, is_https, read_session_cookie, set_session_cookie
from app.auth.csrf import anon_csrf_token, session_csrf_token
from app.auth.passwords import hash_password
from app.auth.rules import Text
from app.auth.sessions import issue_token, revoke_token, user_for_token
from app.content.render import render_markdown
from app.db import write_transaction
from app.errors import AppError, NotFound
from app.interviews import service
from app.judge import client as judge_client
from app.models import Interview, User
from app.pagination import DEFAULT_LIMIT, HEX_ID, Page, invalid_cursor
from app.practice import due
from app.practice import service as practice_service
from app.rate_limits import RateLimited
from app.runtime.grader import OpenGrader
from app.runtime.reload import reload_content, reload_history
from app.views import mark_unavailable, needs_judge, round_view
from app.web import report_views
from app.web.charts import bar_chart, line_chart
from app.web.i18n import DEFAULT_LANG, LANG_COOKIE, LANGS, translator
from app.web.mark_views import marks_for
from app.web.practice_views import (
    CHOICE_TYPES,
    answer_text,
    chosen_keys,
    expected_words,
    local_time,
    marked_options,
    shown_pairs,
)
from app.web.verdicts import open_verdicts

HISTORY_PAGE = DEFAULT_LIMIT  # interviews per /history page, as the API's default page


def _templates_dir() -> str:
    for candidate in (Path.cwd() / "templates", Path(__file__).resolve().parents[2] / "templates"):
        if candidate.is_dir():
            return str(candidate)
    raise FileNotFoundError("templates/ not found")


templates = Jinja2Templates(directory=_templates_dir())
router = APIRouter(include_in_schema=False)


# --- the visitor: session, language, CSRF ---------------------------------------------------------------


class Visitor:
    """Who is asking: the session token from the cookie (if any), its user, and the page language.

    Built by a dependency without touching the database; `user` is looked up on first use, in the route's
    thread (a sync dependency would cost a hop to the thread pool of its own).
    """

    def __init__(self, request: Request, db: Session, now: datetime) -> None:
        self.request = request
        self.db, self.now = db, now
        # The cookie's signature is checked here once; CSRF, login and logout reuse what it said.
        self.cookie_token = read_session_cookie(request)
        q_lang = request.query_params.get("lang")
        self.set_lang = q_lang if q_lang in LANGS else None
        cookie_lang = request.cookies.get(LANG_COOKIE)
        self.lang = self.set_lang or (cookie_lang if cookie_lang in LANGS else DEFAULT_LANG)
        self.anon = anon_value(request)
        self.new_anon = False

    @cached_property
    def user(self) -> User | None:
        return user_for_token(self.db, self.cookie_token, self.now) if self.cookie_token else None

    @property
    def token(self) -> str | None:
        """The session token, when it names a live session."""
        return self.cookie_token if self.user is not None else None

    def csrf_token(self) -> str:
        if self.token:
            return session_csrf_token(self.request, self.token)
        if not self.anon:
            self.anon = secrets.token_urlsafe(24)
            self.new_anon = True
        return anon_csrf_token(self.request, self.anon)

    def zone(self) -> tzinfo:
        """The visitor's time zone for calendar days: the one their browser reported (static/app.js sends it to
        PATCH /api/v1/me/settings); UTC until known, and for nobody signed in."""
        return due.candidate_zone(self.user)

    def due_count(self) -> int:
        """My cards due today, for the nav badge (app.practice.due; 0 when nobody is signed in)."""
        if self.user is None:
            return 0
        content = self.request.app.state.store.current
        return len(due.due_today(self.db, content, self.user, self.now, self.zone(), self.new_cards_per_day))

    @property
    def new_cards_per_day(self) -> int:
        """MIANJING_NEW_CARDS_PER_DAY, for every count and list of due cards (app.practice.due)."""
        return self.request.app.state.settings.new_cards_per_day

    @property
    def grader(self) -> OpenGrader:
        """Who grades open answers (app.runtime.grader), for the interviews a page may close and score."""
        return self.request.app.state.grader

    def signed_in(self) -> User:
        """The visitor's user; the one 404 of pages that belong to someone (never a hint that they exist)."""
        if self.user is None:
            raise NotFound("not signed in")
        return self.user


async def get_visitor(request: Request, db: SessionDep, now: NowDep) -> Visitor:
    return Visitor(request, db, now)


VisitorDep = Annotated[Visitor, Depends(get_visitor)]


def render(visitor: Visitor, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> Response:
    request = visitor.request
    t = translator(visitor.lang)
    context = context or {}
    due_count = context["due_count"] if "due_count" in context else visitor.due_count()  # a page may know it
    other = "en" if visitor.lang == "zh" else "zh"
    # The language switch keeps the page's own query (a report's ?only=wrong, practice filters).
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", other)]
    ctx = {"t": t, "lang": visitor.lang, "user": visitor.user, "csrf": visitor.csrf_token(),
           "lang_switch_url": "?" + urlencode(query),
           "path": request.url.path, "due_count": due_count,
           "max_answer_chars": request.app.state.settings.max_answer_chars,
           "max_note_chars": request.app.state.settings.max_note_chars,
           "report_max_chars": request.app.state.settings.problem_report_max_chars,
           "grader": request.app.state.grader.describe(), **context}
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    _finish_cookies(visitor, response)
    return response


def _finish_cookies(visitor: Visitor, response: Response) -> None:
    secure = is_https(visitor.request)
    if visitor.set_lang:
        response.set_cookie(LANG_COOKIE, visitor.set_lang, max_age=365 * 24 * 3600, samesite="lax",
                            secure=secure, httponly=True, path="/")
    if visitor.new_anon:
        response.set_cookie(ANON_COOKIE, visitor.anon, max_age=24 * 3600, samesite="lax", secure=secure,
                            httponly=True, path="/")


def redirect(visitor: Visitor, url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    _finish_cookies(visitor, response)
    return response


def login_as(visitor: Visitor, db: Session, user: User, now: datetime, response: Response) -> None:
    """A new session id at every login: the old token is revoked, a new one issued (inside a write)."""
    if visitor.cookie_token:
        revoke_token(db, visitor.cookie_token)
    token = issue_token(db, user, now, kind="cookie")
    set_session_cookie(visitor.request, response, token)


# --- pages ----------------------------------------------------------------------------------------------
# Plain `def`s: FastAPI runs each in the thread pool once, with all its database work and its rendering.
# Form fields are Form() parameters, so the body is read before the route opens any transaction.


@router.get("/", response_class=HTMLResponse)
def home(visitor: VisitorDep, content: ContentDep) -> Response:
    rounds = mark_unavailable([round_view(content, r) for r in content.rounds],
                              lambda: judge_client.availability(visitor.request.app.state.judge))
    deleted = visitor.request.query_params.get("deleted") == "1"  # where /account/delete leads
    return render(visitor, "home.html", {"rounds": rounds, "account_deleted": deleted})


@router.post("/start")
def start(visitor: VisitorDep, db: SessionDep, content: ContentDep, now: NowDep, limits: LimitsDep,
          address: AddressDep, round: Annotated[Text, Form(max_length=64)] = "",
          abandon: Annotated[Text, Form(max_length=64)] = "") -> Response:
    """Start a round (as a new guest when nobody is signed in). While one of the round runs, nothing starts:
    a page (409) offers to continue it or to abandon it and start again, which posts here with `abandon`
    (its id). 429 (the error page) past the guest or the daily interview limit."""
    if round not in content.rounds_by_id:
        raise NotFound(f"no round with id {round!r}")
    if needs_judge(content, content.rounds_by_id[round]):
        judge_client.refuse_unless_available(visitor.request.app.state.judge)
    user = visitor.user
    if user is not None:
        service.close_expired_running(db=db, user=user, round_id=round, now=now, grader=visitor.grader)
    try:
        with write_transaction(db):
            new_guest = user is None
            if user is None:
                user = accounts.create_guest(db, limits, address, now)
            elif abandon:
                service.abandon_to_restart(db=db, user=user, interview_id=abandon, round_id=round, now=now,
                                           grader=visitor.grader)
            interview = service.start_interview(db=db, content=content, user=user, round_id=round, now=now,
                                                limits=limits, address=address, grader=visitor.grader)
            response = redirect(visitor, f"/interviews/{interview.id}")
            if new_guest:
                login_as(visitor, db, user, now, response)
    except service.InterviewRunning as running:
        return _running_page(visitor, running.interview_id)
    return response


def _running_page(visitor: Visitor, interview_id: str) -> Response:
    """What a start finds running: continue it, or abandon it (asked to confirm) and start again."""
    interview = service.get_owned(visitor.db, visitor.signed_in(), interview_id, plan=False)
    answers = service.answers_by_position(visitor.db, interview)
    left = max(0.0, (interview.deadline - visitor.now).total_seconds())
    return render(visitor, "running.html", {
        "interview": interview, "total": interview.question_count,
        "answered": sum(1 for r in answers.values() if r.answer not in (None, "", [])),
        "started": local_time(interview.started_at, visitor.zone()), "minutes_left": math.ceil(left / 60),
    }, status_code=409)


def _owned_interview(visitor: Visitor, interview_id: str, state: str, elsewhere: str) -> Interview | Response:
    """The visitor's own interview (closed first if its time is up) when it is in `state`; otherwise the
    response instead: 404 for anyone else's or a missing one, a redirect to its `elsewhere` page."""
    interview = service.get_owned(visitor.db, visitor.signed_in(), interview_id)
    service.close_if_expired(visitor.db, interview, visitor.now, visitor.grader)
    if interview.state != state:
        return redirect(visitor, f"/interviews/{interview.id}{elsewhere}")
    return interview


@router.get("/interviews/{interview_id}", response_class=HTMLResponse)
def interview_page(interview_id: str, visitor: VisitorDep) -> Response:
    """The current question; it never moves on a GET (POST .../position does)."""
    interview = _owned_interview(visitor, interview_id, "active", elsewhere="/report")
    if isinstance(interview, Response):
        return interview
    return render(visitor, "interview.html", _interview_context(visitor, interview))


@router.post("/interviews/{interview_id}/judge/{position}", response_class=HTMLResponse)
def judge_interview_code(interview_id: str, position: int, visitor: VisitorDep) -> Response:
    """提交 in an interview: the code item's saved source (the page flushes its autosave first) judged on every
    case now, as the finish will judge it; the verdict as a fragment, hidden cases by kind and status only.
    Nothing is recorded (the finish scores the last saved source); the judge remembers the verdict."""
    interview = _owned_interview(visitor, interview_id, "active", elsewhere="/report")
    if isinstance(interview, Response):
        return interview
    items = interview.plan["items"]
    if not 0 <= position < len(items) or items[position]["question"]["type"] != "code":
        raise NotFound(f"no code question at position {position}")
    q = service.from_snapshot(items[position]["question"])
    row = service.answers_by_position(visitor.db, interview).get(position)
    source = row.answer if row is not None and isinstance(row.answer, str) else ""
    if not source.strip():
        raise AppError("nothing saved at this position yet: write the function first", status_code=422)
    state = visitor.request.app.state
    practice_service.admit_code_run(visitor.db, state.limits, visitor.signed_in(), visitor.now)
    verdict = outside_turn(visitor.request, judge_client.scorer(state.judge, "submit"))(q, source)
    return render(visitor, "_code_run.html", {"verdict": verdict, "submitted": True})


@router.post("/interviews/{interview_id}/position")
def move(interview_id: str, request: Request, visitor: VisitorDep, db: SessionDep, now: NowDep,
         position: Annotated[int, Form(ge=0, le=10_000)]) -> Response:
    """Go to another question: 303 to the interview page, or for htmx the interview's part of it."""
    user = visitor.signed_in()
    with write_transaction(db):
        interview = service.move_to(db=db, user=user, interview_id=interview_id, position=position, now=now,
                                    grader=visitor.grader)
    if request.headers.get("HX-Request") != "true":
        return redirect(visitor, f"/interviews/{interview.id}")
    if interview.state != "active":  # time ran out: the report, as the page would have redirected there
        return Response(status_code=204, headers={"HX-Redirect": f"/interviews/{interview.id}/report"})
    return render(visitor, "_interview.html", _interview_context(visitor, interview))


def _interview_context(visitor: Visitor, interview: Interview) -> dict[str, Any]:
    items = interview.plan["items"]
    pos = interview.current_position
    item = items[pos]
    view = service.frozen_view(interview.content_version, item)
    section = interview.plan["sections"][item["section"]]
    answers = service.answers_by_position(visitor.db, interview)
    answered = {p for p, r in answers.items() if r.answer not in (None, "", [], {})}
    # A description asks nothing: never "unanswered", never where 跳过 leads.
    answered |= {it["position"] for it in items if it["question"]["type"] == "description"}
    current, _ = service.shown_answer(answers.get(pos))
    nav = []
    for it in items:
        nav.append({"position": it["position"], "answered": it["position"] in answered,
                    "followup": it["followup_of"] is not None, "current": it["position"] == pos,
                    "type": it["question"]["type"]})
    unanswered_after = [p for p in range(pos + 1, len(items)) if p not in answered]
    unanswered_before = [p for p in range(0, pos) if p not in answered]
    skip_to = (unanswered_after or unanswered_before or [None])[0]
    return {
        "interview": interview, "pos": pos, "total": len(items), "q": view,
        "section": section, "section_index": item["section"], "guidance_html": render_markdown(section["guidance"]),
        "followup": item["followup_of"] is not None, "current": current,
        "current_list": list(chosen_keys(current, "truefalse")) if view["type"] == "truefalse"
        else (current if isinstance(current, list) else ([current] if current else [])),
        "current_text": "" if current is None or isinstance(current, list | dict) else str(current),
        "current_map": current if isinstance(current, dict) else {},  # a matching answer
        "nav": nav, "skip_to": skip_to,
        "deadline": interview.deadline.isoformat(), "server_now": visitor.now.isoformat(),
    }


@router.post("/interviews/{interview_id}/finish")
def finish(interview_id: str, visitor: VisitorDep, db: SessionDep, now: NowDep) -> Response:
    user = visitor.signed_in()
    graded = service.grade_before_finish(db=db, user=user, interview_id=interview_id, grader=visitor.grader)
    with write_transaction(db):
        service.finish_owned(db=db, user=user, interview_id=interview_id, now=now, graded=graded)
    return redirect(visitor, f"/interviews/{interview_id}/report")


@router.post("/interviews/{interview_id}/abandon")
def abandon(interview_id: str, visitor: VisitorDep, db: SessionDep, now: NowDep) -> Response:
    """Abandon the interview, then the page that says what became of it (its report if it was over already)."""
    user = visitor.signed_in()
    # One whose time is up is closed and scored instead: before the write, so that it is graded outside it.
    service.close_if_expired(db, service.get_owned(db, user, interview_id, plan=False), now, visitor.grader)
    with write_transaction(db):
        service.abandon_owned(db=db, user=user, interview_id=interview_id, now=now, grader=visitor.grader)
    return redirect(visitor, f"/interviews/{interview_id}/report")


@router.get("/interviews/{interview_id}/report", response_class=HTMLResponse)
def report_page(interview_id: str, visitor: VisitorDep, db: SessionDep) -> Response:
    """The report of a finished interview; for an abandoned one, a page saying so (nothing was scored)."""
    interview = service.get_owned(visitor.db, visitor.signed_in(), interview_id)
    service.close_if_expired(visitor.db, interview, visitor.now, visitor.grader)
    if interview.state == "abandoned":
        return render(visitor, "abandoned.html", {"interview": interview, "round_id": interview.round_id,
                                                  "started": interview.started_at.strftime("%Y-%m-%d %H:%M")})
    if interview.state != "finished":
        return redirect(visitor, f"/interviews/{interview.id}")
    return _render_report(visitor, db, interview, shared=False)


def _render_report(visitor: Visitor, db: Session, interview: Interview, *, shared: bool) -> Response:
    rep = service.report(interview, service.answers_by_position(db, interview))
    t = translator(visitor.lang)
    chart = bar_chart([(tp["topic"], tp["score"]) for tp in rep["topics"]], title=t("topic_chart"))
    for qd in rep["questions"]:
        qd["answer_text"] = answer_text(qd["answer"])
        if not qd["scored"]:
            continue  # shown as given: nothing marked, nothing revealed
        qd["expected_text"] = expected_words(qd["type"], qd["expected"], t)
        if qd["type"] in CHOICE_TYPES:
            qd["options"] = marked_options(qd["options"], chosen_keys(qd["answer"], qd["type"]), qd["expected"],
                                           qd.get("option_feedback_html"))
        qd["pairs"] = shown_pairs(qd.get("pairs"))
        # A self-rated item (no key points) has no verdict table: the reference and the rating are all.
        qd["verdicts"] = open_verdicts({"keypoints": qd["keypoints"], "misconceptions": qd["misconceptions"]},
                                       qd["codes"], t) if qd["type"] == "open" and not qd["self_rated"] else None
    share_url = str(visitor.request.base_url).rstrip("/") + f"/shared/{interview.share_token}" \
        if interview.share_token and not shared else None
    wrong_only = report_views.only_wrong(visitor.request.query_params)
    # My star and note on each question; a shared report is read by others: none of mine on it.
    qmarks = {} if shared else marks_for(db, visitor.user, [qd["id"] for qd in rep["questions"]])
    return render(visitor, "report.html", {
        "marks": qmarks, "back": f"/interviews/{interview.id}/report", "unfolded_editor": True,
        "r": rep, "chart": chart, "shared": shared, "share_url": share_url,
        "wrong_only": wrong_only, "groups": report_views.section_groups(rep, wrong_only=wrong_only),
        "drill_url": report_views.drill_url(rep["weak_topics"]), "topic_url": report_views.drill_url,
        "clock": report_views.clock_text})


@router.get("/shared/{token}", response_class=HTMLResponse)
def shared_report(token: str, visitor: VisitorDep, db: SessionDep) -> Response:
    """The read-only report behind a share link; anyone with the link may read it, nobody may change it."""
    return _render_report(visitor, db, service.get_shared(db, token), shared=True)


@router.post("/interviews/{interview_id}/share")
def share_report(interview_id: str, visitor: VisitorDep, db: SessionDep,
                 action: Annotated[Text, Form(max_length=16)] = "") -> Response:
    user = visitor.signed_in()
    try:
        with write_transaction(db):
            if action == "revoke":
                service.unshare(db=db, user=user, interview_id=interview_id)
            else:
                service.share(db=db, user=user, interview_id=interview_id)
    except NotFound:
        raise  # the one 404 page
    except AppError:  # not finished yet: back to the interview
        return redirect(visitor, f"/interviews/{interview_id}")
    return redirect(visitor, f"/interviews/{interview_id}/report#share")


@router.get("/history", response_class=HTMLResponse)
def history(request: Request, visitor: VisitorDep, db: SessionDep, now: NowDep) -> Response:
    """My interviews, a page at a time (newest first; "older" follows the page's cursor): a guest with a
    thousand interviews gets a page as fast as one with ten."""
    cursor = request.query_params.get("cursor") or None
    if cursor is not None and not HEX_ID.matches(cursor):
        raise invalid_cursor()
    page: Page[Interview] = Page([], None)
    if visitor.user is not None:
        page = service.history(db, visitor.user, now, HISTORY_PAGE, cursor, visitor.grader)
    t = translator(visitor.lang)
    # The chart shows this page's scores, oldest to newest, as the table shows them newest first.
    finished = [i for i in reversed(page.items) if i.state == "finished" and i.score is not None]
    chart = line_chart([(i.started_at.strftime("%m-%d %H:%M"), i.score or 0.0) for i in finished],
                       title=t("history_chart")) if finished else ""
    items = [{"id": i.id, "title": i.round_title, "state": i.state, "score": i.score,
              "started": i.started_at.strftime("%Y-%m-%d %H:%M")} for i in page.items]
    return render(visitor, "history.html", {"items": items, "chart": chart, "first_page": cursor is None,
                                            "older": f"/history?cursor={page.next}" if page.next else None})


# --- accounts -------------------------------------------------------------------------------------------

# Longer than any valid value (the route says what is wrong); text, as every form field (a 422 page).
FormText = Annotated[Text, Form(max_length=512)]


@router.get("/login", response_class=HTMLResponse)
def login_page(visitor: VisitorDep) -> Response:
    reset = visitor.request.query_params.get("reset") == "1"  # where a reset link's page leads
    return render(visitor, "account.html", {"mode": "login", "notice": translator(visitor.lang)("reset_done")
                                            if reset else None})


@router.post("/login")
def login(visitor: VisitorDep, db: SessionDep, now: NowDep, limits: LimitsDep, address: AddressDep,
          username: FormText = "", password: FormText = "") -> Response:
    def act(name: str, secret: str) -> User:
        return accounts.authenticate(db, limits, name, secret, address, now)

    return _account_form(visitor, db, now, "login", "/", username, password, authenticate=act)


@router.get("/register", response_class=HTMLResponse)
def register_page(visitor: VisitorDep) -> Response:
    return render(visitor, "account.html", {"mode": "register"})


@router.post("/register")
def register(visitor: VisitorDep, db: SessionDep, now: NowDep, limits: LimitsDep, address: AddressDep,
             username: FormText = "", password: FormText = "") -> Response:
    accounts.check_registration(db, limits, address, now)  # the 429 page before argon2, not after
    return _account_form(visitor, db, now, "register", "/", username, password,
                         create=lambda name, password_hash: accounts.register(db, limits, address, name,
                                                                              password_hash, now))


@router.get("/account/keep", response_class=HTMLResponse)
def keep_page(visitor: VisitorDep) -> Response:
    if visitor.user is None or not visitor.user.is_guest:
        return redirect(visitor, "/")
    return render(visitor, "account.html", {"mode": "keep"})


@router.post("/account/keep")
def keep(visitor: VisitorDep, db: SessionDep, now: NowDep, username: FormText = "",
         password: FormText = "") -> Response:
    if visitor.user is None or not visitor.user.is_guest:
        return redirect(visitor, "/")
    guest = visitor.user
    return _account_form(visitor, db, now, "keep", "/history", username, password,
                         create=lambda name, password_hash: accounts.keep_guest(db, guest, name, password_hash))


def _account_form(visitor: Visitor, db: Session, now: datetime, mode: str, next_url: str, username: str,
                  password: str, *, authenticate: Callable[[str, str], User] | None = None,
                  create: Callable[[str, str], User] | None = None) -> Response:
    """The shared shape of the login, register and keep-account posts: credentials, the account action,
    the form again with the error, or a fresh session and a redirect. argon2 runs outside the write."""

    def again(message: str, status_code: int) -> Response:
        return render(visitor, "account.html", {"mode": mode, "error": message, "username": username},
                      status_code=status_code)

    try:  # a new account's credentials follow the API's rules (app.auth.rules)
        creds = (username.strip(), password) if authenticate else rules.new_credentials(username, password)
    except rules.BadCredentials as exc:
        return again(translator(visitor.lang)(f"err_{exc.field}_rules"), 422)
    try:
        user = authenticate(*creds) if authenticate else None
        password_hash = hash_password(creds[1]) if create else ""
        with write_transaction(db):
            if create:
                user = create(creds[0], password_hash)
            assert user is not None
            response = redirect(visitor, next_url)
            login_as(visitor, db, user, now, response)
    except RateLimited:
        raise  # the error page, with Retry-After
    except AppError as exc:
        return again(exc.message, exc.status_code)
    return response


@router.post("/logout")
def logout(request: Request, visitor: VisitorDep, db: SessionDep,
           anyway: Annotated[Text, Form(max_length=8)] = "") -> Response:
    """End the session on the server (the cookie's, and a bearer token's if one came along), then the cookie.
    A guest with work is shown first what signing out loses (nothing leads back to a guest account): keep it
    by registering (/account/keep), or sign out anyway (`anyway=1`)."""
    user = visitor.user
    if user is not None and user.is_guest and anyway != "1":
        work = practice_service.account_work(db, user)
        if any(work.values()):
            return render(visitor, "logout_guest.html", {"work": work})
    tokens = carried_tokens(request)
    if tokens:
        with write_transaction(db):
            for token in tokens:
                revoke_token(db, token)
    response = redirect(visitor, "/")
    clear_session_cookie(request, response)
    return response


# --- admin ----------------------------------------------------------------------------------------------


def admin_user(visitor: Visitor) -> User:
    user = visitor.signed_in()
    if not user.is_admin:
        raise NotFound("not an admin")
    return user


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, visitor: VisitorDep, db: SessionDep) -> Response:
    """Content version, counts, reload history and a reload button, for users marked admin."""
    admin_user(visitor)
    content = request.app.state.store.current
    return render(visitor, "admin.html", {"version": content.version, "counts": content.counts(),
                                          "history": reload_history(db, 20),
                                          "result": request.query_params.get("result")})


@router.post("/admin/reload")
def admin_reload(request: Request, visitor: VisitorDep, db: SessionDep) -> Response:
    user = admin_user(visitor)
    ok, body = reload_content(request.app, db, f"user:{user.username}")
    content = request.app.state.store.current
    return render(visitor, "admin.html", {"version": content.version, "counts": content.counts(),
                                          "history": reload_history(db, 20), "reload": body,
                                          "ok": ok}, status_code=200 if ok else 422)
