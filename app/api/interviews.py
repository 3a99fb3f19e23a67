"""Timed mock interviews over the API. Every route acts only on the caller's own interviews."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, Field

from app.api.deps import (
    AddressDep,
    CallerDep,
    ContentDep,
    GraderDep,
    JudgeDep,
    LimitsDep,
    NowDep,
    SessionDep,
    WriteQuotasDep,
)
from app.api.interview_schemas import (
    AnswerRated,
    AnswerSaved,
    FinishConflictResponse,
    InterviewFinished,
    InterviewPage,
    InterviewReport,
    InterviewRunningResponse,
    InterviewState,
    PositionMoved,
    ShareLink,
)
from app.api.schemas import (
    AUTH_WRITE_ERRORS,
    JSON_INT,
    REQUEST_ERRORS,
    Answer,
    ErrorResponse,
    HexCursor,
    PageLimit,
    errors,
    links,
)
from app.auth.rules import Text
from app.db import write_transaction
from app.interviews import service
from app.interviews.service import FinishReason
from app.judge import client as judge_client
from app.models import Interview
from app.pagination import DEFAULT_LIMIT
from app.practice.scheduling import RatingName
from app.views import needs_judge
from app.write_quotas import answer_size

router = APIRouter(prefix="/api/v1/interviews", tags=["interviews"], responses=REQUEST_ERRORS)
NO_INTERVIEW = errors(e404="no such interview (or not yours), or no question at that position")
READ = {**errors(401), **NO_INTERVIEW}
WRITE = {**AUTH_WRITE_ERRORS, **NO_INTERVIEW}
# What the write quotas answer to an answer-carrying write (app/write_quotas.py).
QUOTA = errors(e429="the account or the client address has used up a write quota (writes per minute, answer "
                    "text per hour): nothing was saved; see Retry-After")
_ID = {"interview_id": "$response.body#/id"}
_AT = {**_ID, "position": "$response.body#/current_position"}
# Where a client goes from a started interview (and schemathesis' stateful tests with it).
STARTED_LINKS = links(201, read=("get_interview", _ID), save=("save_answer", _AT),
                      move=("move_to_question", _ID, {"position": "$response.body#/current_position"}),
                      finish=("finish_interview", _ID), report=("get_report", _ID), rate=("rate_answer", _AT),
                      share=("share_report", _ID), unshare=("unshare_report", _ID))


class StartRequest(BaseModel):
    round: Text = Field(max_length=64)


class AnswerRequest(BaseModel):
    answer: Answer = Field(description="the answer, as for /questions/{id}/check")


class MoveRequest(BaseModel):
    position: Annotated[int, Field(ge=0, le=10_000), JSON_INT]


class FinishRequest(BaseModel):
    reason: FinishReason = Field(default="manual", description='"manual": the candidate finishes; "time_up": the '
                                 "client's countdown reached zero, which the server accepts only from its own "
                                 "deadline on (409 with seconds_left before it)")


class RateRequest(BaseModel):
    rating: RatingName = Field(description="again | hard | good | easy")


def _state(db, interview: Interview, now, status_code: int = 200) -> Response:
    # The body is written once by orjson around each question's cached view bytes; InterviewState documents
    # it, and tests/test_fuzz_api.py and tests/test_generated_client.py hold it to that schema.
    body = service.interview_state_json(interview, service.answers_by_position(db, interview), now)
    return Response(body, status_code=status_code, media_type="application/json")


@router.post("", status_code=201, response_model=InterviewState, operation_id="start_interview", responses={
    **AUTH_WRITE_ERRORS, **errors(e404="no such round"),
    409: {"model": InterviewRunningResponse, "description": "an interview of this round is running already: "
          "continue it (active_interview_id) or abandon it first"},
    **errors(e429="the account has started its interviews for the day, or the client address its interviews "
                  "for the hour; see Retry-After"), **STARTED_LINKS,
    503: {"model": ErrorResponse, "description": "the round asks code items and no sandbox can run here"},
})
def start(body: StartRequest, caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep,
          limits: LimitsDep, address: AddressDep, grader: GraderDep, judge: JudgeDep) -> Response:
    """Start a round. One that asks code items needs a sandbox here: 503 with the reason where none can run."""
    user = caller.user(db)
    rnd = content.rounds_by_id.get(body.round)
    if rnd is not None and needs_judge(content, rnd):
        judge_client.refuse_unless_available(judge)
    service.close_expired_running(db=db, user=user, round_id=body.round, now=now, grader=grader)
    with write_transaction(db):
        interview = service.start_interview(db=db, content=content, user=user, round_id=body.round, now=now,
                                            limits=limits, address=address, grader=grader)
    return _state(db, interview, now, status_code=201)


@router.get("", response_model=InterviewPage, operation_id="list_interviews", responses={
    **errors(401), **links(200, next_page=("list_interviews", {"cursor": "$response.body#/next"}),
                           first=("get_interview", {"interview_id": "$response.body#/items/0/id"}))})
def history(caller: CallerDep, db: SessionDep, now: NowDep, grader: GraderDep, limit: PageLimit = DEFAULT_LIMIT,
            cursor: HexCursor = None) -> dict[str, Any]:
    """My interviews, newest first, `limit` at a time: pass a page's `next` as `cursor` for the one after."""
    page = service.history(db, caller.user(db), now, limit, cursor, grader)
    return {"items": [{"id": i.id, "round": i.round_id, "title": i.round_title, "state": i.state, "score": i.score,
                       "started_at": i.started_at.isoformat(), "deadline": i.deadline.isoformat()}
                      for i in page.items],
            "next": page.next}


@router.get("/{interview_id}", response_model=InterviewState, operation_id="get_interview", responses=READ)
def get(interview_id: str, caller: CallerDep, db: SessionDep, now: NowDep, grader: GraderDep) -> Response:
    interview = service.get_owned(db, caller.user(db), interview_id, plan=False)
    service.close_if_expired(db, interview, now, grader)
    return _state(db, interview, now)


@router.put("/{interview_id}/answers/{position}", response_model=AnswerSaved, operation_id="save_answer",
            responses={**WRITE, **errors(e409="the interview is over: the answer was not saved"), **QUOTA})
def save_answer(interview_id: str, position: int, body: AnswerRequest, caller: CallerDep, db: SessionDep,
                now: NowDep, quotas: WriteQuotasDep, address: AddressDep, grader: GraderDep) -> dict[str, Any]:
    """Save the answer at a position (the page's autosave sends the same request). Counted by the write
    quotas: one write, and what it adds to the answer stored there."""
    size = answer_size(body.answer)
    # The hottest write: its token lookup in the same transaction (one connection, one round trip less).
    # What it adds to the stored answer is learnt (and charged) inside it, so a refusal rolls the save back.
    with write_transaction(db):
        user = caller.user(db)
        with quotas.admitted(db, now, quotas.charges(user.id, address)) as write:
            saved_at, growth = service.save_answer(db=db, user=user, interview_id=interview_id,
                                                   position=position, answer=body.answer, now=now, size=size,
                                                   grader=grader)
            write.charge(quotas.text_charges(user.id, address, growth))
    return {"position": position, "saved_at": saved_at.isoformat(), "answer": body.answer}


@router.post("/{interview_id}/position", response_model=PositionMoved, operation_id="move_to_question",
             responses=WRITE)
def move(interview_id: str, body: MoveRequest, caller: CallerDep, db: SessionDep, now: NowDep,
         grader: GraderDep) -> dict[str, Any]:
    user = caller.user(db)
    with write_transaction(db):
        interview = service.move_to(db=db, user=user, interview_id=interview_id, position=body.position, now=now,
                                    grader=grader)
    return {"current_position": interview.current_position, "state": interview.state}


@router.post("/{interview_id}/finish", response_model=InterviewFinished, operation_id="finish_interview",
             responses={**WRITE, 409: {"model": FinishConflictResponse, "description": "the interview was abandoned "
                        "(state), or reason time_up before the server's deadline (seconds_left: what its clock has "
                        "left); nothing was finished"}})
def finish(interview_id: str, caller: CallerDep, db: SessionDep, now: NowDep, grader: GraderDep,
           body: Annotated[FinishRequest, Body(default_factory=FinishRequest)]) -> dict[str, Any]:
    """Score and close the interview (no body: reason manual). A client's countdown sends reason time_up,
    refused before the server's deadline (409, seconds_left). With a model grader its open answers are
    graded first, all at once, within MIANJING_GRADER_FINISH_BUDGET_S; any not graded by then get the
    built-in grade."""
    user = caller.user(db)
    reason = body.reason
    graded = service.grade_before_finish(db=db, user=user, interview_id=interview_id, grader=grader, now=now,
                                         reason=reason)
    with write_transaction(db):
        interview = service.finish_owned(db=db, user=user, interview_id=interview_id, now=now, graded=graded,
                                         reason=reason)
    return {"id": interview.id, "state": interview.state, "score": interview.score}


@router.post("/{interview_id}/abandon", response_model=InterviewFinished, operation_id="abandon_interview",
             responses={**WRITE, **errors(e409="the interview is over already (finished, or its time is up)")})
def abandon(interview_id: str, caller: CallerDep, db: SessionDep, now: NowDep, grader: GraderDep) -> dict[str, Any]:
    """End a running interview unscored: no score, nothing recorded for practice or reviews; it stays in the
    history as `abandoned` (its report is a 409), and another of its round may start. Repeating it is
    harmless."""
    user = caller.user(db)
    # One whose time is up is closed and scored instead: before the write, so that it is graded outside it.
    service.close_if_expired(db, service.get_owned(db, user, interview_id, plan=False), now, grader)
    with write_transaction(db):
        interview = service.abandon_owned(db=db, user=user, interview_id=interview_id, now=now, grader=grader)
    service.refuse_unless_abandoned(interview)  # after the write: closing one whose time is up stays done
    return {"id": interview.id, "state": interview.state, "score": interview.score}


@router.get("/{interview_id}/report", response_model=InterviewReport, operation_id="get_report",
            responses={**READ, **errors(e409="the interview is not finished yet, or was abandoned (no report)")})
def report(interview_id: str, caller: CallerDep, db: SessionDep, now: NowDep, grader: GraderDep) -> dict[str, Any]:
    interview = service.get_owned(db, caller.user(db), interview_id)
    service.close_if_expired(db, interview, now, grader)
    return service.report(interview, service.answers_by_position(db, interview))


@router.put("/{interview_id}/ratings/{position}", response_model=AnswerRated, operation_id="rate_answer",
            responses={**WRITE, **errors(e409="the interview was abandoned, or the item is not scored (a "
                                                 "self-introduction, 反问: it takes no self-rating)"), **QUOTA})
def rate(interview_id: str, position: int, body: RateRequest, caller: CallerDep, db: SessionDep, now: NowDep,
         quotas: WriteQuotasDep, address: AddressDep) -> dict[str, Any]:
    user = caller.user(db)
    with quotas.charged_write(db, now, quotas.charges(user.id, address)):
        row = service.rate(db=db, user=user, interview_id=interview_id, position=position, rating=body.rating)
    return {"position": row.position, "rating": row.self_rating}


@router.post("/{interview_id}/share", response_model=ShareLink, operation_id="share_report",
             responses={**WRITE, **errors(e409="the interview is not finished yet")})
def share(interview_id: str, caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    """Create (or return) the read-only share link of a finished interview's report."""
    user = caller.user(db)
    with write_transaction(db):
        token = service.share(db=db, user=user, interview_id=interview_id)
    return {"token": token, "url": f"/shared/{token}"}


@router.delete("/{interview_id}/share", status_code=204, operation_id="unshare_report", responses=WRITE)
def unshare(interview_id: str, caller: CallerDep, db: SessionDep) -> None:
    """Revoke the share link: the old URL answers 404 from now on."""
    user = caller.user(db)
    with write_transaction(db):
        service.unshare(db=db, user=user, interview_id=interview_id)
