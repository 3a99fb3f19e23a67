"""Banks, topics, questions and answer checking."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from app.api.deps import (
    AddressDep,
    Caller,
    ContentDep,
    GraderDep,
    JudgeDep,
    LimitsDep,
    OptionalCallerDep,
    SessionDep,
    WriteQuotasDep,
    outside_turn,
)
from app.api.practice import PracticeCheckRequest
from app.api.schemas import (
    REQUEST_ERRORS,
    BankPublic,
    CheckRequest,
    CheckResponse,
    CodeRunRequest,
    CodeRunResponse,
    ErrorResponse,
    QuestionPage,
    QuestionPublic,
    TopicCount,
    errors,
    links,
)
from app.content.loader import one
from app.content.model import QUESTION_TYPES, Question, QuestionType
from app.errors import AppError, NotFound
from app.judge import client as judge_client
from app.practice.service import admit_code_run, refuse_unreadable, refuse_unscored
from app.practice.service import check_and_record as record_practice_check
from app.rate_limits import Limits
from app.runtime.grader import OpenGrader
from app.scoring.check import CheckResult, JudgeCode, check_answer, instance_for
from app.views import explanation_html, given_feedback_html, question_json, reference_html
from app.write_quotas import WriteQuotas

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


@router.get("/questions", response_model=QuestionPage, operation_id="list_questions", responses=links(
    200, first=("get_question", {"question_id": "$response.body#/items/0/id"}),
    check=("check_answer", {"question_id": "$response.body#/items/0/id"})))
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
            responses={**NOT_FOUND, 304: {"description": "not modified: the view named by If-None-Match is current"}})
async def get_question(
    question_id: str,
    content: ContentDep,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
    seed: Annotated[int | None, Query(ge=0, le=2**31 - 1, description="instance seed (generated items)")] = None,
) -> Response:
    """A question's public view. A fixed item, or a generated one with its seed, is the same bytes for one
    content version: it carries a strong ETag and answers 304 to If-None-Match; without a seed a generated
    item draws a fresh instance, which nothing may store."""
    q = content.by_id.get(question_id)
    if q is None:
        raise NotFound(f"no question with id {question_id!r}")
    if q.type == "generated" and seed is None:
        return Response(question_json(content, q, None), media_type="application/json",
                        headers={"Cache-Control": "no-store"})
    if q.type != "generated":
        seed = None  # a seed does not change a fixed item: one ETag for all its URLs
    tag = etag(content.version, q.id, seed)
    headers = {"ETag": tag, "Cache-Control": "public, no-cache"}  # a publish can change it: revalidate
    if if_none_match is not None and etag_matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    return Response(question_json(content, q, seed), media_type="application/json", headers=headers)


@router.post("/questions/{question_id}/check", response_model=CheckResponse, operation_id="check_answer",
             responses={**NOT_FOUND, **errors(413, e409="the question is not scored (`scored` false: a "
                                                      "self-introduction, 反问): nothing to check or record"), 403: {
                 "model": ErrorResponse, "description": "a session cookie without the page's X-CSRF-Token"},
                 **errors(e422="the request is malformed, or the answer cannot be read for this question (\"abc\" "
                               "for a number): `detail` starts \"the answer cannot be read for this question: \" "
                               "and `hint` says the format expected; nothing is recorded and the answer is not "
                               "revealed",
                          e429="a signed-in caller's account or client address has used up a write quota (writes "
                               "per minute, answer text per hour): not scored, nothing recorded; see Retry-After")})
async def check(question_id: str, body: PracticeCheckRequest, content: ContentDep, caller: OptionalCallerDep,
                db: SessionDep, grader: GraderDep, quotas: WriteQuotasDep, address: AddressDep, limits: LimitsDep,
                judge: JudgeDep, request: Request) -> Response:
    """Score an answer, or refuse one the scorer cannot read (422, with the format it expects in `hint`).
    A signed-in caller's attempt is recorded and their review card updated; the write
    quotas count it (one write, the whole answer's text), and past them it is refused before it is scored.
    An open answer is graded by the model grader when the service has one (GET /readyz, `grader`), which
    sends it to that grading service. A code item's answer is its Python source: it needs an account (a guest
    is fine), counts against the per-account code limit, and waits for the machine's judge (503 where no
    sandbox can run, 429 when the judge's queue is full); `details.judge` holds the per-case verdicts."""
    q = content.by_id.get(question_id)
    if q is None:
        raise NotFound(f"no question with id {question_id!r}")
    refuse_unscored(q)
    if q.type == "code":
        judged = outside_turn(request, judge_client.scorer(judge, "submit"))
        return _json(await run_in_threadpool(_judge_and_record, q, body, caller, db, quotas, address, limits, judged))
    if q.type == "generated" and body.seed is None:
        raise AppError("this is a generated question: send the instance's seed with the answer", status_code=422)
    if caller.token is None and scores_inline(q, body, grader):
        result, payload = check_payload(q, body, grader)  # microseconds of work: less than a hop to the thread pool
        refuse_unreadable(result)
        return _json(payload)
    return _json(await run_in_threadpool(_check_and_record, q, body, caller, db, grader, quotas, address))


def _check_and_record(q: Question, body: PracticeCheckRequest, caller: Caller, db: Session, grader: OpenGrader,
                      quotas: WriteQuotas, address: str) -> dict[str, Any]:
    payload: dict[str, Any] = {}

    def score() -> CheckResult:
        result, built = check_payload(q, body, grader)
        payload.update(built)
        return result

    # A known caller: the attempt is recorded and their card reviewed (issue 7), within the write quotas.
    _, review = record_practice_check(db, user=caller.optional_user(db), question=q, seed=body.seed,
                                      answer=body.answer, rating=body.rating, now=caller.now, quotas=quotas,
                                      address=address, score=score)
    if review is not None:
        payload["review"] = review
    return payload


def _judge_and_record(q: Question, body: PracticeCheckRequest, caller: Caller, db: Session, quotas: WriteQuotas,
                      address: str, limits: Limits, judge: JudgeCode) -> dict[str, Any]:
    user = caller.user(db)
    admit_code_run(db, limits, user, caller.now)
    payload: dict[str, Any] = {}

    def score() -> CheckResult:
        result = check_answer(q, body.answer, judge=judge)
        payload.update(score=result.score, correct=result.correct, expected=None, feedback=result.feedback,
                       reference_html=None, explanation_html=explanation_html(q), details=result.details,
                       codes=list(result.codes))
        return result

    _, review = record_practice_check(db, user=user, question=q, seed=None, answer=body.answer, rating=None,
                                      now=caller.now, quotas=quotas, address=address, score=score)
    if review is not None:
        payload["review"] = review
    return payload


@router.post("/questions/{question_id}/run", response_model=CodeRunResponse, operation_id="run_examples",
             responses={**NOT_FOUND, **errors(413, e422="no source", e429="the per-account code "
                                              "limit or the judge's queue: see Retry-After"),
                        403: {"model": ErrorResponse, "description": "a session cookie without the page's X-CSRF-Token"},
                        401: {"model": ErrorResponse, "description": "code runs need an account (a guest is fine)"},
                        503: {"model": ErrorResponse, "description": "no sandbox can run here: code items are off"}})
async def run_examples(question_id: str, body: CodeRunRequest, content: ContentDep, caller: OptionalCallerDep,
                       db: SessionDep, limits: LimitsDep, judge: JudgeDep, request: Request) -> Response:
    """Run a code item's source on its shown examples only (运行示例): not scored, nothing recorded; the verdict
    shows each example's input, expected and actual value, and what the code printed."""
    q = content.by_id.get(question_id)
    if q is None or q.type != "code":
        raise NotFound(f"no code question with id {question_id!r} (only code items run examples)")
    judged = outside_turn(request, judge_client.scorer(judge, "examples"))
    return _json(await run_in_threadpool(_run_examples, q, body, caller, db, limits, judged))


def _run_examples(q: Question, body: CodeRunRequest, caller: Caller, db: Session, limits: Limits,
                  judge: JudgeCode) -> dict[str, Any]:
    admit_code_run(db, limits, caller.user(db), caller.now)
    return {"verdict": judge(q, body.source)}


def scores_inline(q: Question, body: CheckRequest, grader: OpenGrader) -> bool:
    """Scoring takes microseconds (an open answer of 300 characters ~0.1 ms), less than a thread hop, except
    for open answers over LONG_ANSWER characters, and any open answer a remote grader grades."""
    return q.type != "open" or (not grader.remote and len(str(body.answer)) <= LONG_ANSWER)


def check_payload(q: Question, body: CheckRequest, grader: OpenGrader) -> tuple[CheckResult, dict[str, Any]]:
    """Score the answer (an open one with `grader`) and build the public response (an anonymous caller's
    whole response)."""
    # A generated item's instance is drawn once (~30 µs) for both the score and the explanation.
    inst = instance_for(q, body.seed) if q.type == "generated" and body.seed is not None else None
    result = check_answer(q, body.answer, seed=body.seed, inst=inst, grade=grader.grade)
    return result, {
        "score": result.score, "correct": result.correct, "expected": result.expected,
        "feedback": result.feedback, "reference_html": reference_html(q),
        "explanation_html": explanation_html(q, body.seed, inst),
        "details": result.details, "codes": list(result.codes), **given_feedback_html(result.details),
    }


def etag(version: str, question_id: str, seed: int | None) -> str:
    """A strong validator for everything a view depends on: the content version, the question, the seed."""
    digest = hashlib.blake2b(f"{version}\0{question_id}\0{seed}".encode(), digest_size=12).hexdigest()
    return f'"{digest}"'


def etag_matches(if_none_match: str, tag: str) -> bool:
    """RFC 9110 13.1.2: `*` or any listed tag, compared weakly (a W/ prefix does not matter)."""
    if if_none_match.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in if_none_match.split(","))
