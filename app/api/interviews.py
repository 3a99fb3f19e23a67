"""Timed mock interviews over the API. Every route acts only on the caller's own interviews."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import select

from app.api.deps import CallerDep, ContentDep, NowDep, SessionDep
from app.api.schemas import JSON_INT, REQUEST_ERRORS, Answer, ErrorResponse
from app.db import write_transaction
from app.interviews import service
from app.models import Interview
from app.practice.scheduling import RatingName

router = APIRouter(prefix="/api/v1/interviews", tags=["interviews"], responses=REQUEST_ERRORS)
ERRORS = {404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}, 401: {"model": ErrorResponse}}


class StartRequest(BaseModel):
    round: str = Field(max_length=64)


class AnswerRequest(BaseModel):
    answer: Answer = Field(description="the answer, as for /questions/{id}/check")


class MoveRequest(BaseModel):
    position: Annotated[int, Field(ge=0, le=10_000), JSON_INT]


class RateRequest(BaseModel):
    rating: RatingName = Field(description="again | hard | good | easy")


def _state(db, interview: Interview, now) -> dict[str, Any]:
    return service.interview_state(interview, service.answers_by_position(db, interview), now)


# Every route is a plain `def`: FastAPI runs it in the thread pool once, with all its database work (the
# caller's user included); its writes commit inside write_transaction, before the response goes out.


@router.post("", status_code=201, responses=ERRORS)
def start(body: StartRequest, caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep) -> dict[str, Any]:
    user = caller.user(db)
    with write_transaction(db):
        interview = service.start_interview(db=db, content=content, user=user, round_id=body.round, now=now)
    return _state(db, interview, now)


@router.get("", responses=ERRORS)
def history(caller: CallerDep, db: SessionDep, now: NowDep) -> list[dict[str, Any]]:
    user = caller.user(db)
    rows = db.exec(select(Interview).where(Interview.user_id == user.id)
                   .order_by(Interview.started_at.desc())).all()  # type: ignore[union-attr]
    out = []
    for interview in rows:
        service.close_if_expired(db, interview, now)
        out.append({"id": interview.id, "round": interview.round_id, "title": interview.round_title,
                    "state": interview.state, "score": interview.score,
                    "started_at": interview.started_at.isoformat(),
                    "deadline": interview.deadline.isoformat()})
    return out


@router.get("/{interview_id}", responses=ERRORS)
def get(interview_id: str, caller: CallerDep, db: SessionDep, now: NowDep) -> dict[str, Any]:
    interview = service.get_owned(db, caller.user(db), interview_id)
    service.close_if_expired(db, interview, now)
    return _state(db, interview, now)


@router.put("/{interview_id}/answers/{position}", responses=ERRORS)
def save_answer(interview_id: str, position: int, body: AnswerRequest, caller: CallerDep, db: SessionDep,
                now: NowDep) -> dict[str, Any]:
    user = caller.user(db)
    with write_transaction(db):
        saved_at = service.save_answer(db=db, user=user, interview_id=interview_id, position=position,
                                       answer=body.answer, now=now)
    return {"position": position, "saved_at": saved_at.isoformat(), "answer": body.answer}


@router.post("/{interview_id}/position", responses=ERRORS)
def move(interview_id: str, body: MoveRequest, caller: CallerDep, db: SessionDep, now: NowDep) -> dict[str, Any]:
    user = caller.user(db)
    with write_transaction(db):
        interview = service.move_to(db=db, user=user, interview_id=interview_id, position=body.position, now=now)
    return {"current_position": interview.current_position, "state": interview.state}


@router.post("/{interview_id}/finish", responses=ERRORS)
def finish(interview_id: str, caller: CallerDep, db: SessionDep, now: NowDep) -> dict[str, Any]:
    user = caller.user(db)
    with write_transaction(db):
        interview = service.finish_owned(db=db, user=user, interview_id=interview_id, now=now)
    return {"id": interview.id, "state": interview.state, "score": interview.score}


@router.get("/{interview_id}/report", responses=ERRORS)
def report(interview_id: str, caller: CallerDep, db: SessionDep, now: NowDep) -> dict[str, Any]:
    interview = service.get_owned(db, caller.user(db), interview_id)
    service.close_if_expired(db, interview, now)
    return service.report(interview, service.answers_by_position(db, interview))


@router.put("/{interview_id}/ratings/{position}", responses=ERRORS)
def rate(interview_id: str, position: int, body: RateRequest, caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    user = caller.user(db)
    with write_transaction(db):
        row = service.rate(db=db, user=user, interview_id=interview_id, position=position, rating=body.rating)
    return {"position": row.position, "rating": row.self_rating}


@router.post("/{interview_id}/share", responses=ERRORS)
def share(interview_id: str, caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    """Create (or return) the read-only share link of a finished interview's report."""
    user = caller.user(db)
    with write_transaction(db):
        token = service.share(db=db, user=user, interview_id=interview_id)
    return {"token": token, "url": f"/shared/{token}"}


@router.delete("/{interview_id}/share", status_code=204, responses=ERRORS)
def unshare(interview_id: str, caller: CallerDep, db: SessionDep) -> None:
    """Revoke the share link: the old URL answers 404 from now on."""
    user = caller.user(db)
    with write_transaction(db):
        service.unshare(db=db, user=user, interview_id=interview_id)
