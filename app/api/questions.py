"""Banks, topics, questions and answer checking."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import ContentDep, OptionalUser
from app.api.practice import PracticeCheckRequest
from app.api.schemas import (
    REQUEST_ERRORS,
    BankPublic,
    CheckRequest,
    CheckResponse,
    ErrorResponse,
    QuestionPage,
    QuestionPublic,
    TopicCount,
    errors,
)
from app.content.loader import one
from app.content.model import QUESTION_TYPES, Question, QuestionType
from app.errors import AppError, NotFound
from app.practice.service import record_check
from app.scoring.check import CheckResult, check_answer, instance_for
from app.views import explanation_html, question_json

router = APIRouter(prefix="/api/v1", tags=["questions"], responses=REQUEST_ERRORS)
LONG_ANSWER = 2000  # characters; open answers longer than this are scored in the thread pool
NOT_FOUND = {404: {"model": ErrorResponse, "description": "no such question"}}


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


@router.get("/banks", response_model=list[BankPublic], operation_id="list_banks")
async def list_banks(content: ContentDep) -> Response:
    counts = content.indexes["bank"]
    return _json([
        {"id": b.id, "title": b.title, "description": b.description, "question_count": len(counts.get(b.id, ()))}
        for b in content.banks
    ])


@router.get("/topics", response_model=list[TopicCount], operation_id="list_topics")
async def list_topics(content: ContentDep) -> Response:
    topics = sorted(content.indexes["topic"].items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return _json([{"topic": t, "count": len(ids)} for t, ids in topics])


@router.get("/questions", response_model=QuestionPage, operation_id="list_questions")
async def list_questions(
    content: ContentDep,
    bank: str | None = None,
    topic: str | None = None,
    tag: str | None = None,
    type: Annotated[QuestionType | None, Query(description=f"one of {', '.join(QUESTION_TYPES)}")] = None,
    difficulty: Annotated[int | None, Query(ge=1, le=5)] = None,
    q: Annotated[str | None, Query(max_length=200, description="full-text search, Chinese or English")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    found = content.filter(banks=one(bank), topics=one(topic), tags=one(tag), types=one(type), q=q,
                           difficulty=(difficulty, difficulty) if difficulty is not None else (1, 5))
    page = found[offset: offset + limit]
    # Generated items in a listing show their seed-0 instance so the listing is stable.
    items = [question_json(content, item, 0) for item in page]
    body = b'{"items":[' + b",".join(items) + b'],"total":%d,"limit":%d,"offset":%d}' % (len(found), limit, offset)
    return Response(body, media_type="application/json")


@router.get("/questions/{question_id}", response_model=QuestionPublic, operation_id="get_question",
            responses=NOT_FOUND)
async def get_question(
    question_id: str,
    request: Request,  # the live content is read straight off the app: no dependency on the hottest route
    seed: Annotated[int | None, Query(ge=0, le=2**31 - 1, description="instance seed (generated items)")] = None,
) -> Response:
    # Most requests never get here: app/api/hot_path.py answers them first with the same bytes. This route
    # documents the operation and answers what the hot path passes on (unknown ids, odd query strings).
    content = request.app.state.store.current
    q = content.by_id.get(question_id)
    if q is None:
        raise NotFound(f"no question with id {question_id!r}")
    return Response(question_json(content, q, seed), media_type="application/json")


@router.post("/questions/{question_id}/check", response_model=CheckResponse, operation_id="check_answer",
             responses={**NOT_FOUND, **errors(413)})
async def check(question_id: str, body: PracticeCheckRequest, content: ContentDep, user: OptionalUser,
                request: Request) -> Response:
    # Anonymous checks that score inline are mostly answered by app/api/hot_path.py with the same bytes.
    q = content.by_id.get(question_id)
    if q is None:
        raise NotFound(f"no question with id {question_id!r}")
    if problem := check_problem(q, body):
        raise AppError(problem, status_code=422)
    if scores_inline(q, body):
        result, payload = check_payload(q, body)
    else:  # one huge open answer must not stall the event loop
        result, payload = await run_in_threadpool(check_payload, q, body)
    if user is not None:  # a known caller: record the attempt and review their card (issue 7)
        payload["review"] = await run_in_threadpool(
            record_check, request.app.state.engine, user=user, question=q, seed=body.seed, answer=body.answer,
            result=result, rating=body.rating, now=request.app.state.clock())
    return _json(payload)


def check_problem(q: Question, body: CheckRequest) -> str | None:
    """Why this well-formed request cannot be scored, if it cannot."""
    if q.type == "generated" and body.seed is None:
        return "this is a generated question: send the instance's seed with the answer"
    return None


def scores_inline(q: Question, body: CheckRequest) -> bool:
    """Scoring takes microseconds (an open answer of 300 characters ~0.1 ms), less than a thread hop, except
    for open answers over LONG_ANSWER characters."""
    return q.type != "open" or len(str(body.answer)) <= LONG_ANSWER


def check_payload(q: Question, body: CheckRequest) -> tuple[CheckResult, dict[str, Any]]:
    """Score the answer and build the public response (an anonymous caller's whole response)."""
    # A generated item's instance is drawn once (~30 µs) for both the score and the explanation.
    inst = instance_for(q, body.seed) if q.type == "generated" and body.seed is not None else None
    result = check_answer(q, body.answer, seed=body.seed, inst=inst)
    return result, {
        "score": result.score, "correct": result.correct, "expected": result.expected,
        "feedback": result.feedback, "explanation_html": explanation_html(q, body.seed, inst),
        "details": result.details,
    }
