"""Item statistics and 纠错 problem reports over the API: the admins' statistics and queue (MIANJING_ADMIN_TOKEN,
as the rest of /api/v1/admin), and the candidate's own reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from app.api.admin import require_admin
from app.api.deps import CallerDep, ContentDep, LimitsDep, NowDep, SessionDep
from app.api.schemas import AUTH_WRITE_ERRORS, REQUEST_ERRORS, ErrorResponse, IntCursor, IntNext, PageLimit, errors
from app.auth.rules import Text
from app.db import write_transaction
from app.errors import NotFound
from app.item_stats import aggregates, problem_reports
from app.item_stats.aggregates import ItemRow
from app.models import ProblemReport
from app.pagination import DEFAULT_LIMIT

ADMIN = {401: {"model": ErrorResponse, "description": "admin token missing or wrong"},
         403: {"model": ErrorResponse, "description": "the admin API is off"}}
admin_router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses={**REQUEST_ERRORS, **ADMIN})
router = APIRouter(prefix="/api/v1", tags=["reports"], responses=REQUEST_ERRORS)
ReportId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class OptionShareOut(BaseModel):
    option: str
    count: int
    share: float | None = Field(description="count / attempts that reached the item; null before any")
    never_chosen: bool


class ItemStatisticsOut(BaseModel):
    question_id: str
    title: str | None = Field(description="null: the live content no longer has this question")
    type: str | None
    attempts: int = Field(description="finished interviews of the round that included the question")
    facility: float | None
    sd: float | None
    discrimination_index: float | None
    discriminative_efficiency: float | None
    effective_weight: float | None
    negative_covariance: bool
    options: list[OptionShareOut] | None = Field(description="choice items: the share choosing each option")
    unanswered: int | None = Field(description="choice items: attempts that chose nothing")
    flags: list[str] = Field(description="negative_discrimination, never_chosen_options, dubious (efficiency < 15 %)")
    never_chosen: list[str]
    open_reports: int
    reports: int


class RoundItemStatistics(BaseModel):
    round: str
    sort: str
    items: list[ItemStatisticsOut]


def item_json(row: ItemRow) -> dict[str, Any]:
    s = row.stats
    return {
        "question_id": s.item, "title": row.title, "type": row.type, "attempts": s.attempts, "facility": s.facility,
        "sd": s.sd, "discrimination_index": s.discrimination_index,
        "discriminative_efficiency": s.discriminative_efficiency, "effective_weight": s.effective_weight,
        "negative_covariance": s.negative_covariance,
        "options": None if row.options is None else [
            {"option": o.option, "count": o.count, "share": o.share, "never_chosen": o.never_chosen}
            for o in row.options],
        "unanswered": row.unanswered, "flags": row.flags, "never_chosen": row.never_chosen,
        "open_reports": row.open_reports, "reports": row.reports,
    }


SortParam = Annotated[str, Query(pattern="^-?(" + "|".join(aggregates.SORT_KEYS) + ")$",
                                 description="a column, descending with a leading '-'")]


@admin_router.get("/stats/items", response_model=RoundItemStatistics, operation_id="get_item_statistics",
                  responses=errors(e404="no such round"))
def item_statistics(request: Request, db: SessionDep, content: ContentDep,
                    round: Annotated[str, Query(min_length=1, max_length=64)], sort: SortParam = "question",
                    ) -> dict[str, Any]:
    """Moodle's item statistics (docs/statistics.md) of every question of a round over its finished
    interviews, from the running aggregates: facility, sd, discrimination index and efficiency, effective
    weight; option shares of choice items; flags; 纠错 report counts."""
    require_admin(request)
    rows = aggregates.round_statistics(db, content, round, problem_reports.counts_by_question(db))
    rows = aggregates.sort_rows(rows, sort.lstrip("-"), descending=sort.startswith("-"))
    return {"round": round, "sort": sort, "items": [item_json(r) for r in rows]}


class ReportRequest(BaseModel):
    kind: problem_reports.Kind
    comment: Text = Field(default="", description="at most MIANJING_PROBLEM_REPORT_MAX_CHARS characters (2000 by "
                          "default; 422 beyond)")


class ReportOut(BaseModel):
    id: int
    question_id: str
    content_version: str
    kind: str
    comment: str
    state: str
    created_at: str
    resolved_at: str | None
    resolution_note: str | None


class AdminReportOut(ReportOut):
    user_id: int
    answer: Any = Field(description="the reporter's latest answer to the question when they reported it")


class ReportList(BaseModel):
    items: list[ReportOut]
    next: None = None


class AdminReportPage(BaseModel):
    items: list[AdminReportOut]
    next: IntNext


class ResolveRequest(BaseModel):
    note: Text = Field(default="", description="at most MIANJING_PROBLEM_REPORT_MAX_CHARS characters (2000 by "
                       "default; 422 beyond)")


def report_json(r: ProblemReport, *, admin: bool = False) -> dict[str, Any]:
    out = {"id": r.id, "question_id": r.question_id, "content_version": r.content_version, "kind": r.kind,
           "comment": r.comment, "state": r.state, "created_at": _iso(r.created_at),
           "resolved_at": _iso(r.resolved_at), "resolution_note": r.resolution_note}
    return {**out, "user_id": r.user_id, "answer": r.answer} if admin else out


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


@router.post("/questions/{question_id}/reports", status_code=201, response_model=ReportOut,
             operation_id="report_problem", responses={**AUTH_WRITE_ERRORS, **errors(
                 e404="no such question", e429="the account has filed its reports for the hour; see Retry-After")})
def report_problem(question_id: Annotated[str, Path(max_length=64)], body: ReportRequest, request: Request,
                   caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep,
                   limits: LimitsDep) -> dict[str, Any]:
    """纠错: report a problem with a question (wrong_answer, unclear, typo, other) with a comment; the report
    keeps the content version and my latest answer to the question, for the admins' queue."""
    user = caller.user(db)
    with write_transaction(db):
        report = problem_reports.file_report(
            db=db, content=content, user=user, question_id=question_id, kind=body.kind, comment=body.comment,
            now=now, limits=limits, max_chars=request.app.state.settings.problem_report_max_chars)
    return report_json(report)


@router.get("/questions/{question_id}/reports", response_model=ReportList, operation_id="list_my_question_reports",
            responses=errors(401, e404="no such question"))
def my_question_reports(question_id: Annotated[str, Path(max_length=64)], caller: CallerDep,
                        db: SessionDep, content: ContentDep) -> dict[str, Any]:
    """My own reports of this question, newest first (nobody else's)."""
    if question_id not in content.by_id:
        raise NotFound(f"no question with id {question_id!r}")
    return {"items": [report_json(r) for r in problem_reports.my_reports(db, caller.user(db), question_id)],
            "next": None}


@router.get("/me/reports", response_model=ReportList, operation_id="list_my_reports", responses=errors(401))
def my_reports(caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    """My own reports, newest first (the latest 200), with how each was resolved."""
    return {"items": [report_json(r) for r in problem_reports.my_reports(db, caller.user(db))], "next": None}


@router.get("/me/reports/{report_id}", response_model=ReportOut, operation_id="get_my_report",
            responses=errors(401, e404="no such report of mine"))
def my_report(report_id: ReportId, caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    return report_json(problem_reports.get_mine(db, caller.user(db), report_id))


@admin_router.get("/reports", response_model=AdminReportPage, operation_id="list_problem_reports")
def report_queue(request: Request, db: SessionDep,
                 state: Annotated[str, Query(pattern="^(open|resolved|all)$")] = "open",
                 limit: PageLimit = DEFAULT_LIMIT, cursor: IntCursor = None) -> dict[str, Any]:
    """The 纠错 queue, oldest first, with each reporter's answer and the content version they saw."""
    require_admin(request)
    page = problem_reports.queue(db, None if state == "all" else state, limit, cursor)
    return {"items": [report_json(r, admin=True) for r in page.items], "next": page.next}


@admin_router.post("/reports/{report_id}/resolve", response_model=AdminReportOut, operation_id="resolve_report",
                   responses={**errors(413, e404="no such report", e409="resolved already")})
def resolve_report(report_id: ReportId, body: ResolveRequest, request: Request, db: SessionDep,
                   now: NowDep) -> dict[str, Any]:
    require_admin(request)
    with write_transaction(db):
        report = problem_reports.resolve(db=db, report_id=report_id, note=body.note, now=now,
                                         max_chars=request.app.state.settings.problem_report_max_chars)
    return report_json(report, admin=True)
