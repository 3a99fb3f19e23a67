"""Mock interviews: freeze a round's questions, keep the server's clock, save answers, score, report.

Services never commit: they run inside the route's write (app.db.write_transaction).

States: active -> finished (by the candidate, or by the clock past deadline + grace: scored, recorded as
attempts, scheduled) or active -> abandoned (by the candidate: unscored, unrecorded, kept in the history).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from sqlalchemy import bindparam, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from app import rate_limits
from app.content.loader import Content, pick_round_questions, with_followups
from app.content.model import Accepted, CodeSpec, KeyPoint, Misconception, Option, Pair, Question
from app.db import for_update, write_transaction, writing
from app.errors import AppError, NotFound
from app.interviews.summary import ItemOutcome, summarize
from app.item_stats import aggregates
from app.models import Interview, InterviewAnswer, User
from app.pagination import HEX_ID, Page, page_of
from app.practice.scheduling import RATINGS
from app.practice.service import record_interview_item, rerate_interview_item
from app.rate_limits import Limits
from app.runtime.grader import BUILTIN, OpenGrader
from app.scoring.answers import AnswerFormatError, readable_answer
from app.scoring.check import JudgeCode, check_answer, expected_answer, instance_for, open_text
from app.scoring.code_verdicts import not_judged
from app.scoring.open_grader import OpenGrade, grade_open
from app.views import explanation_html, given_feedback_html, new_seed, question_view, reference_html
from app.write_quotas import answer_size

GRACE = timedelta(seconds=30)  # network latency and a last autosave at 00:00 must not lose an answer


def snapshot(q: Question) -> dict[str, Any]:
    return dataclasses.asdict(q)


def from_snapshot(data: dict[str, Any]) -> Question:
    values = dict(data)
    values["options"] = tuple(Option(**o) for o in values.get("options", ()))
    values["accepted"] = tuple(Accepted(**a) for a in values.get("accepted", ()))
    values["pairs"] = tuple(Pair(**p) for p in values.get("pairs", ()))
    # Snapshots from before claims (no statement, groups or misconceptions) read as one-group key points.
    values["keypoints"] = tuple(
        KeyPoint(k["label"], tuple(k["synonyms"]), k.get("weight", 1.0), k.get("statement", ""),
                 tuple(tuple(g) for g in k.get("groups", ())))
        for k in values.get("keypoints", ())
    )
    values["misconceptions"] = tuple(
        Misconception(m["label"], tuple(tuple(g) for g in m["groups"]), m.get("statement", ""))
        for m in values.get("misconceptions", ())
    )
    for name in ("topics", "tags", "followups", "replaces"):
        values[name] = tuple(values.get(name, ()))
    if values.get("type") == "shape" and values.get("answer") is not None:
        values["answer"] = tuple(values["answer"])
    if values.get("code"):
        values["code"] = CodeSpec(**values["code"])
    return Question(**values)


class InterviewRunning(AppError):
    """409: the account already has a running interview of this round (finish or abandon it first)."""

    status_code = 409

    def __init__(self, interview_id: str) -> None:
        super().__init__("这一轮已有一场进行中的面试：继续它，或者先放弃它。", active_interview_id=interview_id)
        self.interview_id = interview_id


def _running(user: User, round_id: str):
    return select(Interview).where(
        Interview.user_id == user.id, Interview.round_id == round_id, Interview.state == "active")


def running_interview(db: Session, user: User, round_id: str, now: datetime,
                      grader: OpenGrader = BUILTIN) -> Interview | None:
    """The account's running interview of this round, if any; one whose time is up is closed (and scored)
    on the way, as any read of it would close it."""
    interview = db.exec(for_update(_running(user, round_id))).first()
    if interview is None or close_if_expired(db, interview, now, grader):
        return None
    return interview


def close_expired_running(*, db: Session, user: User, round_id: str, now: datetime, grader: OpenGrader) -> None:
    """Before a start's write: close the account's running interview of this round if its time is up, so
    that it is graded outside the write (by the model grader, when there is one) rather than inside it."""
    interview = db.exec(_running(user, round_id).options(defer(Interview.plan))).first()  # type: ignore[arg-type]
    if interview is not None:
        close_if_expired(db, interview, now, grader)


def start_interview(*, db: Session, content: Content, user: User, round_id: str, now: datetime,
                    limits: Limits, address: str, grader: OpenGrader = BUILTIN) -> Interview:
    """Freeze a round's questions for this account (inside the caller's write). 409 (InterviewRunning) while
    one of this round runs; 429 past the interviews an account may start in a day, or the client's address
    in an hour."""
    rnd = content.rounds_by_id.get(round_id)
    if rnd is None:
        raise NotFound(f"no round with id {round_id!r}")
    account = (limits.interviews, str(user.id))
    # The account's starts one at a time (PostgreSQL; SQLite serialises writers): two starts at once would
    # both find no running interview.
    rate_limits.lock(db, account)
    running = running_interview(db, user, rnd.id, now, grader)
    if running is not None:
        raise InterviewRunning(running.id)
    rate_limits.admit(db, now, account, (limits.interviews_address, address))
    seed = new_seed()
    sections: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for section, ids in zip(rnd.sections, pick_round_questions(content, rnd, seed), strict=True):
        start = len(items)
        for qid, parent in with_followups(content, ids):
            q = content.by_id[qid]
            items.append({
                "position": len(items), "section": len(sections), "question": snapshot(q),
                "seed": new_seed() if q.type == "generated" else None, "followup_of": parent,
            })
        sections.append({"title": section.title, "minutes": section.minutes, "guidance": section.guidance,
                         "start": start, "count": len(items) - start})
    interview = Interview(
        id=secrets.token_hex(16), user_id=user.id, round_id=rnd.id, round_title=rnd.title,
        content_version=content.version, started_at=now, deadline=now + timedelta(minutes=rnd.duration),
        position_since=now, plan={"sections": sections, "items": items, "duration": rnd.duration},
        question_count=len(items),
    )
    db.add(interview)
    db.flush()
    return interview


def get_owned(db: Session, user: User, interview_id: str, *, lock: bool = False, plan: bool = True) -> Interview:
    """The interview if it is this user's; 404 alike for missing and for someone else's. plan=False leaves
    the plan unread until it is used (see outline())."""
    stmt = select(Interview).where(Interview.id == interview_id, Interview.user_id == user.id)
    if not plan:
        stmt = stmt.options(defer(Interview.plan))  # type: ignore[arg-type]
    if lock:
        stmt = for_update(stmt)
    interview = db.exec(stmt).first()
    if interview is None:
        raise NotFound("no such interview")
    return interview


def history(db: Session, user: User, now: datetime, limit: int, cursor: str | None = None,
            grader: OpenGrader = BUILTIN) -> Page[Interview]:
    """My interviews newest first, by (started_at, id), `limit` at a time after `cursor`: an index range read
    (ix_interview_user_id_started_at) of limit + 1 rows without their plans, however many I have. An
    expired interview on the page is closed (and scored) as any read of it would."""
    stmt = (select(Interview).where(Interview.user_id == user.id)
            .options(defer(Interview.plan))  # type: ignore[arg-type]
            .order_by(Interview.started_at.desc(), Interview.id.desc())  # type: ignore[attr-defined]
            .limit(limit + 1))
    if cursor is not None:
        stmt = stmt.where(tuple_(Interview.started_at, Interview.id) < tuple_(*HEX_ID.decode(cursor)))
    page = page_of(list(db.exec(stmt).all()), limit, lambda i: HEX_ID.encode(i.started_at, i.id))
    for interview in page.items:
        close_if_expired(db, interview, now, grader)
    return page


def answers_by_position(db: Session, interview: Interview, *, fresh: bool = False) -> dict[int, InterviewAnswer]:
    """The saved answers; fresh=True re-reads rows this session holds already (a finish, under its lock, must
    score what is stored now, not what it read before its write)."""
    stmt = select(InterviewAnswer).where(InterviewAnswer.interview_id == interview.id)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    return {r.position: r for r in db.exec(stmt).all()}


@dataclass(frozen=True)
class GradedAnswers:
    """Open answers graded before the write that scores them: a model grader takes seconds, and no slow work
    runs inside a write (DESIGN). By question and answer text, so that an answer saved after its grading (a
    save in flight at the finish) is graded again inside the write, by the built-in grader."""

    grades: Mapping[tuple[str, str], OpenGrade] = field(default_factory=dict)
    late: str | None = None  # why an answer graded inside the write had no model; None: no model configured
    # Code answers judged before the write, by question and source; one saved after (or a close that found
    # the time up inside a write) is judged by `judge` there, and without a judge scored as not judged.
    verdicts: Mapping[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    judge: JudgeCode | None = None

    def grade(self, question: Question, text: str) -> OpenGrade:
        found = self.grades.get((question.id, text))
        if found is not None:
            return found
        grade = grade_open(question, text)
        return dataclasses.replace(grade, fallback=self.late) if self.late else grade

    def judge_code(self, question: Question, source: str) -> dict[str, Any]:
        found = self.verdicts.get((question.id, source))
        if found is not None:
            return found
        return judge_or_explain(self.judge, question, source)


BUILTIN_GRADES = GradedAnswers()


def judge_or_explain(judge: JudgeCode | None, question: Question, source: str) -> dict[str, Any]:
    """A code answer's verdict for a finish: judged now, or, where no judge can run (none here, the queue
    full, no sandbox), a verdict that says it was not judged (scored 0) rather than a finish that fails."""
    if judge is not None:
        try:
            return judge(question, source)
        except AppError as exc:
            reason = exc.message
    else:
        reason = "no judge"
    return not_judged(reason)


def grade_open_answers(db: Session, interview: Interview, grader: OpenGrader) -> GradedAnswers:
    """Grade a running interview's open answers for its finish, all at once (within the grader's finish
    budget), and judge its code answers: outside any write, or not at all (a write that finds the time up
    grades with the built-in grader and says so, and judges code there)."""
    if interview.state != "active":
        return BUILTIN_GRADES
    judged = _judge_code_answers(db, interview, grader.judge)
    if not grader.remote:
        return GradedAnswers(verdicts=judged, judge=grader.judge) if grader.judge else BUILTIN_GRADES
    if writing(db):
        return GradedAnswers(late="inside_write", judge=grader.judge)
    answers = answers_by_position(db, interview)
    jobs = []
    for item in interview.plan["items"]:
        row = answers.get(item["position"])
        # A self-rated item has no key points: nothing for a grader to do.
        if item["question"]["type"] != "open" or item["question"].get("self_rated") or row is None:
            continue
        try:
            jobs.append((from_snapshot(item["question"]), open_text(row.answer)))
        except AnswerFormatError:
            continue  # scored as unreadable, by check_answer
    grades = grader.grade_all(jobs)
    return GradedAnswers({(q.id, text): g for (q, text), g in zip(jobs, grades, strict=True)}, late="inside_write",
                         verdicts=judged, judge=grader.judge)


def _judge_code_answers(db: Session, interview: Interview, judge: JudgeCode | None) -> dict[tuple[str, str], Any]:
    """The verdicts of the interview's code answers (its last autosaved sources), judged before the write."""
    if judge is None or writing(db) or not any(i["question"]["type"] == "code" for i in interview.plan["items"]):
        return {}
    answers = answers_by_position(db, interview)
    verdicts: dict[tuple[str, str], Any] = {}
    for item in interview.plan["items"]:
        row = answers.get(item["position"])
        if item["question"]["type"] != "code" or row is None or not isinstance(row.answer, str) or \
                not row.answer.strip():
            continue
        q = from_snapshot(item["question"])
        verdicts[(q.id, row.answer)] = judge_or_explain(judge, q, row.answer)
    return verdicts


def grade_before_finish(*, db: Session, user: User, interview_id: str, grader: OpenGrader,
                        now: datetime | None = None, reason: FinishReason = "manual") -> GradedAnswers:
    """What a finish route calls before its write: the open answers of the caller's interview, graded (not
    for a time-up finish the write will refuse as too early), and its code answers judged."""
    if not grader.remote and grader.judge is None:
        return BUILTIN_GRADES
    interview = get_owned(db, user, interview_id)
    if now is not None:
        refuse_early_time_up(interview, reason, now)
    return grade_open_answers(db, interview, grader)


def close_if_expired(db: Session, interview: Interview, now: datetime, grader: OpenGrader = BUILTIN) -> bool:
    """Past the deadline plus grace, an active interview is closed and scored (its open answers graded
    first, outside the write). True if closed now."""
    if interview.state == "active" and now > interview.deadline + GRACE:
        graded = grade_open_answers(db, interview, grader)
        with write_transaction(db):  # a read that finds the time up closes it, as Moodle closes overdue attempts
            db.refresh(interview, with_for_update=True)  # another request may have closed it since it was read
            if interview.state == "active":
                finish(db=db, interview=interview, now=now, graded=graded)
                return True
    return False


def _item(interview: Interview, position: int) -> dict[str, Any]:
    items = interview.plan["items"]
    if not 0 <= position < len(items):
        raise NotFound(f"no question at position {position}")
    return items[position]


# Built once: the autosave path runs these thousands of times a second, and building the expression
# costs more than executing it.
# FOR SHARE: a finish (FOR UPDATE) waits for the saves in flight, and a save waits for a finish in flight,
# so an acknowledged answer is always the one the finish scores (PostgreSQL; SQLite serialises writers).
_STORED_SIZE = select(InterviewAnswer.answer_chars).where(
    InterviewAnswer.interview_id == bindparam("iid"), InterviewAnswer.position == bindparam("pos")
).scalar_subquery()
_HEAD = select(Interview.state, Interview.deadline, Interview.question_count, _STORED_SIZE).where(
    Interview.id == bindparam("iid"), Interview.user_id == bindparam("uid")).with_for_update(read=True, of=Interview)


@functools.cache
def _upsert(dialect: str):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(InterviewAnswer).values(
        interview_id=bindparam("iid"), position=bindparam("pos"), answer=bindparam("answer"),
        answer_chars=bindparam("chars"), saved_at=bindparam("now"), time_spent_ms=0)
    return stmt.on_conflict_do_update(index_elements=["interview_id", "position"],
                                      set_={"answer": stmt.excluded.answer, "answer_chars": stmt.excluded.answer_chars,
                                            "saved_at": stmt.excluded.saved_at})


def save_answer(*, db: Session, user: User, interview_id: str, position: int, answer: Any, now: datetime,
                size: int | None = None, grader: OpenGrader = BUILTIN) -> tuple[datetime, int]:
    """Idempotent upsert: the last answer that arrives before the deadline (plus grace) counts; its size as
    the write quotas count it (`size`, when the caller has it already) is kept with it.

    One indexed read of the interview's state (with the size stored at the position) and one upsert; the
    plan is not loaded. Returns the time the answer was saved and what it added to the stored size (what
    the write quotas charge an autosave; negative when it shortened it).
    """
    conn = db.connection()
    if not 0 <= position < 2**31:  # no plan has it, and SQLite cannot bind it past 2**63
        raise NotFound(f"no question at position {position}")
    head = conn.execute(_HEAD, {"iid": interview_id, "uid": user.id, "pos": position}).first()
    if head is None:
        raise NotFound("no such interview")
    state, deadline, count, stored = head
    if not 0 <= position < count:
        raise NotFound(f"no question at position {position}")
    if state == "active" and now > deadline + GRACE:
        db.rollback()  # let go of the share lock first: two late saves upgrading it would deadlock
        close_if_expired(db, get_owned(db, user, interview_id, lock=True), now, grader)
        db.commit()  # the refusal below rolls back the request; the automatic close must stay done
        raise AppError("时间已到，面试已自动结束并评分；这次保存没有被接受。", status_code=409, state="finished")
    if state != "active":
        raise AppError("面试已经结束，不能再修改答案。", status_code=409, state=state)
    size = answer_size(answer) if size is None else size
    conn.execute(_upsert(conn.dialect.name), {"iid": interview_id, "pos": position, "answer": answer,
                                              "chars": size, "now": now})
    return now, size - (stored or 0)


def move_to(*, db: Session, user: User, interview_id: str, position: int, now: datetime,
            grader: OpenGrader = BUILTIN) -> Interview:
    """Record the time spent on the current question and move to another (skip and come back)."""
    interview = get_owned(db, user, interview_id, lock=True, plan=False)  # a move never needs the plan
    if not 0 <= position < interview.question_count:
        raise NotFound(f"no question at position {position}")
    close_if_expired(db, interview, now, grader)
    if interview.state == "active" and position != interview.current_position:
        _account_time(db, interview, now)
        interview.current_position = position
        interview.position_since = now
        db.add(interview)
    return interview


def _account_time(db: Session, interview: Interview, now: datetime) -> None:
    since = interview.position_since
    if since is None:
        return
    spent = max(0, int((min(now, interview.deadline) - since).total_seconds() * 1000))
    row = _answer_row(db, interview.id, interview.current_position, now)
    row.time_spent_ms += spent
    db.add(row)
    db.flush()


def _answer_row(db: Session, interview_id: str, position: int, now: datetime) -> InterviewAnswer:
    """The stored row for one position, or a new empty one (not yet added to the session)."""
    row = db.exec(select(InterviewAnswer).where(
        InterviewAnswer.interview_id == interview_id, InterviewAnswer.position == position)).first()
    return row or InterviewAnswer(interview_id=interview_id, position=position, answer=None, saved_at=now)


def finish(*, db: Session, interview: Interview, now: datetime, graded: GradedAnswers = BUILTIN_GRADES) -> Interview:
    """Score every item (open answers as `graded` has them) and close the interview, inside the caller's write."""
    if interview.state != "active":
        return interview
    _account_time(db, interview, now)
    answers = answers_by_position(db, interview, fresh=True)
    total, count = 0.0, 0
    marks = []
    for item in interview.plan["items"]:
        row = answers.get(item["position"])
        if row is None:
            row = InterviewAnswer(interview_id=interview.id, position=item["position"], answer=None, saved_at=now)
        result = _score(item, row.answer, graded)
        row.question_id = item["question"]["id"]
        row.score = result["score"]
        row.result = result
        db.add(row)
        if result["scored"]:  # an unscored item is no part of the total, nor of practice, reviews or statistics
            total += result["score"]
            count += 1
            record_interview_item(db, interview, item, row, result, now)  # attempt + review card (issue 7)
            marks.append(aggregates.scored_item(item["question"], result["score"], row.answer))
    aggregates.add_finished(db, interview.round_id, marks, now)  # item statistics (issue 20)
    interview.score = round(total / count, 4) if count else None
    interview.state = "finished"
    interview.finished_at = min(now, interview.deadline + GRACE)
    interview.position_since = None
    db.add(interview)
    db.flush()
    return interview


def _score(item: dict[str, Any], answer: Any, graded: GradedAnswers = BUILTIN_GRADES) -> dict[str, Any]:
    q = from_snapshot(item["question"])
    answered = not (answer is None or answer == "" or answer == [] or answer == {})  # {}: no pair chosen
    if not q.scored:  # nothing to mark and nothing to reveal: no score, no verdict, no expected answer
        return {"score": None, "correct": None, "feedback": "", "details": {}, "answered": answered,
                "expected": None, "scored": False}
    if not answered:
        return {"score": 0.0, "correct": False, "feedback": "未作答。", "details": {}, "answered": False,
                "expected": expected_answer(q, seed=item["seed"]), "scored": True}
    r = check_answer(q, answer, seed=item["seed"], grade=graded.grade, judge=graded.judge_code)
    return {"score": r.score, "correct": r.correct, "feedback": r.feedback, "expected": r.expected,
            "details": r.details, "codes": list(r.codes), "answered": True, "scored": True}


def _refuse_abandoned(interview: Interview) -> None:
    if interview.state == "abandoned":
        raise AppError("这场面试已经放弃：不评分，也不能再修改。", status_code=409, state="abandoned")


class FinishTooEarly(AppError):
    """409: a finish because time is up (the page's clock says so) before the server's deadline; nothing is
    finished, and `seconds_left` is what the server's clock has left (the page resyncs its countdown)."""

    status_code = 409

    def __init__(self, seconds_left: int) -> None:
        super().__init__(f"按服务器的时钟还剩 {seconds_left} 秒：时间还没有到，面试没有结束。",
                         seconds_left=seconds_left)
        self.seconds_left = seconds_left


FinishReason = Literal["manual", "time_up"]


def refuse_early_time_up(interview: Interview, reason: FinishReason, now: datetime) -> None:
    """A time-up finish counts only from the server's deadline on: a browser's clock may run ahead."""
    if reason == "time_up" and interview.state == "active" and now < interview.deadline:
        raise FinishTooEarly(max(1, math.ceil((interview.deadline - now).total_seconds())))


def finish_owned(*, db: Session, user: User, interview_id: str, now: datetime,
                 graded: GradedAnswers = BUILTIN_GRADES, reason: FinishReason = "manual") -> Interview:
    """Finish the caller's interview; its open answers graded beforehand (grade_before_finish) or now. A
    time-up finish before the deadline is refused (FinishTooEarly)."""
    interview = get_owned(db, user, interview_id, lock=True)
    _refuse_abandoned(interview)
    refuse_early_time_up(interview, reason, now)
    return finish(db=db, interview=interview, now=now, graded=graded)


def abandon_owned(*, db: Session, user: User, interview_id: str, now: datetime,
                  grader: OpenGrader = BUILTIN) -> Interview:
    """End a running interview without scoring it: no score, no attempts, no review cards; the answers
    saved so far stay, and it stays in the history as `abandoned`. Abandoning it again changes nothing.

    One whose time is up is closed and scored here instead, as any request that touches it would, and that
    must stay done: the interview is returned `finished`, and the caller refuses it after its write
    (refuse_unless_abandoned)."""
    interview = get_owned(db, user, interview_id, lock=True, plan=False)
    close_if_expired(db, interview, now, grader)
    if interview.state == "active":
        interview.state = "abandoned"
        interview.finished_at = now
        interview.position_since = None
        db.add(interview)
        db.flush()
    return interview


def abandon_to_restart(*, db: Session, user: User, interview_id: str, round_id: str, now: datetime,
                       grader: OpenGrader = BUILTIN) -> None:
    """The candidate's explicit "abandon it and start again" (inside the start's write): their interview
    `interview_id` is abandoned if it is a running one of `round_id`; any other is left as it is (the start
    then finds what runs, if anything, as always). 404 for anyone else's."""
    interview = get_owned(db, user, interview_id, plan=False)
    if interview.round_id == round_id:
        abandon_owned(db=db, user=user, interview_id=interview_id, now=now, grader=grader)


def refuse_unless_abandoned(interview: Interview) -> None:
    """The 409 of an abandon that came too late: the interview is over (finished, or its time ran out)."""
    if interview.state != "abandoned":
        raise AppError("面试已经结束并评分，不能再放弃。", status_code=409, state=interview.state)


def rate(*, db: Session, user: User, interview_id: str, position: int, rating: str) -> InterviewAnswer:
    if rating not in RATINGS:
        raise AppError(f"rating must be one of {', '.join(RATINGS)}", status_code=422)
    interview = get_owned(db, user, interview_id, lock=True)
    _refuse_abandoned(interview)
    item = _item(interview, position)
    if not from_snapshot(item["question"]).scored:
        raise AppError("这道题不计分，没有自评：它不安排复习。", status_code=409)
    row = _answer_row(db, interview.id, position, datetime.now(UTC))
    row.self_rating = rating
    db.add(row)
    db.flush()
    # Before the finish the rating is read when the item is recorded; after it, the card is re-rated.
    if interview.state == "finished" and item["question"]["type"] == "open":
        rerate_interview_item(db, user, interview.id, item["question"]["id"], rating)
    return row


_VIEWS: dict[tuple[str, str, int | None], dict[str, Any]] = {}
_VIEW_BYTES: dict[tuple[str, str, int | None], bytes] = {}
MAX_CACHED_VIEWS = 20_000
# (position, section, followup_of, question id, seed) per planned item, and the sections' summary
Outline = tuple[tuple[tuple[int, int, str | None, str, int | None], ...], tuple[dict[str, Any], ...]]
_OUTLINES: dict[str, Outline] = {}
MAX_CACHED_OUTLINES = 20_000


def _bounded_put(cache: dict, key: Any, value: Any, bound: int) -> Any:
    if len(cache) >= bound:
        cache.clear()  # a bound, not an LRU: a refill costs one render (or one plan read) per entry
    cache[key] = value
    return value


def frozen_view(version: str, item: dict[str, Any]) -> dict[str, Any]:
    """The public view of a planned item. A snapshot of one content version is the same question for every
    interview that froze it, so its view (markdown rendered, instance drawn) is built once, not per read."""
    key = (version, item["question"]["id"], item["seed"])
    view = _VIEWS.get(key)
    if view is None:
        view = _bounded_put(_VIEWS, key, question_view(from_snapshot(item["question"]), item["seed"]),
                            MAX_CACHED_VIEWS)
    return view


def _frozen_view_json(interview: Interview, position: int, question_id: str, seed: int | None) -> orjson.Fragment:
    key = (interview.content_version, question_id, seed)
    raw = _VIEW_BYTES.get(key)
    if raw is None:
        item = interview.plan["items"][position]
        raw = _bounded_put(_VIEW_BYTES, key, orjson.dumps(frozen_view(interview.content_version, item)),
                           MAX_CACHED_VIEWS)
    return orjson.Fragment(raw)


def outline(interview: Interview) -> Outline:
    """What a read of the interview needs of its plan. The plan never changes after the start, and it is
    large (every frozen question, ~90 KB for a TP-Link round): reads load it (a deferred column) only
    when this process has not seen the interview before."""
    cached = _OUTLINES.get(interview.id)
    if cached is None:
        plan = interview.plan
        items = tuple((it["position"], it["section"], it["followup_of"], it["question"]["id"], it["seed"])
                      for it in plan["items"])
        sections = tuple({k: s[k] for k in ("title", "minutes", "start", "count")} for s in plan["sections"])
        cached = _bounded_put(_OUTLINES, interview.id, (items, sections), MAX_CACHED_OUTLINES)
    return cached


def shown_answer(row: InterviewAnswer | None) -> tuple[Any, bool]:
    """A saved answer as the candidate's views show it, and whether it was left out: older versions stored
    answers of any nesting, and one nested too deeply for any response to carry reads as None."""
    if row is None or readable_answer(row.answer):
        return (row.answer if row else None), False
    return None, True


def interview_state_json(interview: Interview, answers: dict[int, InterviewAnswer], now: datetime) -> bytes:
    """The candidate's view as JSON: questions as public views (serialised once per content version and
    seed), saved answers, the server's clock."""
    items, sections = outline(interview)
    questions = []
    for position, section, followup_of, question_id, seed in items:
        row = answers.get(position)
        answer, unreadable = shown_answer(row)
        questions.append({
            "position": position, "section": section, "followup_of": followup_of,
            "question": _frozen_view_json(interview, position, question_id, seed),
            "answer": answer, "answer_unreadable": unreadable,
            "saved_at": row.saved_at.isoformat() if row and row.answer is not None else None,
        })
    deadline = interview.deadline
    return orjson.dumps({
        "id": interview.id, "round": interview.round_id, "title": interview.round_title,
        "state": interview.state, "content_version": interview.content_version,
        "started_at": interview.started_at.isoformat(), "deadline": deadline.isoformat(),
        "server_now": now.isoformat(), "remaining_seconds": max(0.0, (deadline - now).total_seconds()),
        "current_position": interview.current_position, "score": interview.score,
        "sections": list(sections), "questions": questions,
    })


def report(interview: Interview, answers: dict[int, InterviewAnswer]) -> dict[str, Any]:
    """The scored report of a finished interview; 409 for a running one, and for an abandoned one, which
    has nothing scored to report (its answers are kept, its state is in the history)."""
    _refuse_abandoned(interview)
    if interview.state != "finished":
        raise AppError("面试还没有结束，结束后才有报告。", status_code=409, state=interview.state)
    questions = []
    outcomes = []
    for item in interview.plan["items"]:
        q = from_snapshot(item["question"])
        row = answers.get(item["position"])
        result = (row.result if row else None) or _score(item, None)
        outcome = ItemOutcome(position=item["position"], section=item["section"], type=q.type, topics=q.topics,
                              score=result["score"] if q.scored else 0.0, scored=q.scored,
                              self_rated=q.self_rated,
                              self_rating=row.self_rating if row and q.scored else None,
                              spent_seconds=round((row.time_spent_ms if row else 0) / 1000, 1))
        outcomes.append(outcome)
        inst = instance_for(q, item["seed"]) if q.type == "generated" else None  # drawn once for both views
        view = question_view(q, item["seed"], inst)
        answer, unreadable = shown_answer(row)
        entry = {
            "position": item["position"], "section": item["section"], "id": q.id, "type": q.type,
            "title": q.title, "prompt_html": view["prompt_html"], "options": view["options"], "topics": list(q.topics),
            "answer": answer, "answer_unreadable": unreadable, "scored": q.scored, "self_rated": q.self_rated,
            "time_spent_seconds": outcome.spent_seconds, "followup_of": item["followup_of"],
        }
        if not q.scored:  # the answer as it was given, and nothing that marks or reveals
            questions.append({**entry, "score": None, "correct": None, "mistake": False, "feedback": "",
                              "expected": None, "reference_html": None, "explanation_html": "", "keypoints": None,
                              "misconceptions": None, "grader": None, "codes": [], "self_rating": None,
                              "judge": None, "pairs": None, "option_feedback_html": {},
                              "answer_feedback_html": None})
            continue
        questions.append({
            **entry,
            "score": result["score"], "correct": result["correct"], "mistake": outcome.mistake,
            "feedback": result["feedback"], "expected": result.get("expected"),
            "reference_html": reference_html(q),
            "explanation_html": explanation_html(q, item["seed"], inst),
            "keypoints": (result.get("details") or {}).get("keypoints") if q.type == "open" else None,
            "misconceptions": (result.get("details") or {}).get("misconceptions") if q.type == "open" else None,
            "grader": (result.get("details") or {}).get("grader") if q.type == "open" else None,
            "codes": result.get("codes", []),
            "self_rating": outcome.self_rating,
            "judge": (result.get("details") or {}).get("judge") if q.type == "code" else None,
            "pairs": (result.get("details") or {}).get("pairs") if q.type == "matching" else None,
            **given_feedback_html(result.get("details") or {}),
        })
    summary = summarize(interview.plan["sections"], outcomes, interview.plan.get("duration"))
    return {
        "id": interview.id, "round": interview.round_id, "title": interview.round_title,
        "score": interview.score, "started_at": interview.started_at.isoformat(),
        "finished_at": interview.finished_at.isoformat() if interview.finished_at else None,
        "sections": [{"title": s.title, "minutes": s.planned_seconds / 60, "score": s.score, "start": s.start,
                      "count": s.count, "spent_seconds": s.spent_seconds, "mistakes": s.mistakes}
                     for s in summary.sections],
        "topics": [dataclasses.asdict(t) for t in summary.topics],
        "weak_topics": list(summary.weak_topics),
        "mistakes": list(summary.mistakes), "scored": summary.scored,
        "planned_seconds": summary.planned_seconds, "spent_seconds": summary.spent_seconds,
        "questions": questions,
    }


def share(*, db: Session, user: User, interview_id: str) -> str:
    """An unguessable read-only link to a finished interview's report (one per interview; reused)."""
    interview = get_owned(db, user, interview_id, lock=True)
    if interview.state != "finished":
        raise AppError("面试结束后才能分享报告。", status_code=409)
    if not interview.share_token:
        interview.share_token = secrets.token_urlsafe(24)
        db.add(interview)
        db.flush()
    return interview.share_token


def unshare(*, db: Session, user: User, interview_id: str) -> None:
    interview = get_owned(db, user, interview_id, lock=True)
    interview.share_token = None
    db.add(interview)
    db.flush()


def get_shared(db: Session, token: str) -> Interview:
    interview = db.exec(select(Interview).where(Interview.share_token == token)).first() if token else None
    if interview is None or interview.state != "finished":
        raise NotFound("no such shared report")
    return interview
