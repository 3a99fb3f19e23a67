"""The export of all my attempts and interviews (a flat CSV or JSON list), and the archive of everything the
database holds of my account (one JSON object): full downloads, streamed in batches.

However long the account's history, the server holds one batch at a time: each is a keyset read (app.pagination's
order, oldest first) in a short session of its own, so a client that downloads slowly never pins a database
connection between batches, and memory does not grow with the account.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from app.content.loader import Content
from app.models import (
    Attempt,
    Interview,
    InterviewAnswer,
    ProblemReport,
    QuestionMark,
    ReviewCard,
    SchedulerFit,
    User,
)
from app.practice.listing import attempt_record
from app.practice.scheduling import utc

EXPORT_FIELDS = ("kind", "id", "created_at", "question_id", "question_title", "seed", "answer", "score",
                 "correct", "rating", "source", "interview_id", "round_id", "round_title", "state",
                 "finished_at", "answer_unreadable")
EXPORT_BATCH = 500  # records per read and per chunk sent: one thread hop and one short session each
ARCHIVE_INTERVIEW_BATCH = 20  # an interview's frozen plan is ~90 KB: fewer of them a read
ARCHIVE_FORMAT = "mianjing-archive/1"
_BLANK = dict.fromkeys(EXPORT_FIELDS)
OpenSession = Callable[[], AbstractContextManager[Session]]


def keyset_batches(open_session: OpenSession, stmt: Any, order: tuple[Any, Any], key: Callable[[Any], tuple[Any, Any]],
                   batch: int) -> Iterator[list[Any]]:
    """The rows of `stmt` in the order of the two columns `order` (a time and an id), `batch` at a time, each
    batch a keyset read in a session of its own; `key` gives a row's values of `order`."""
    after: tuple[Any, Any] | None = None
    while True:
        with open_session() as db:
            page = stmt.order_by(*order).limit(batch)
            if after is not None:
                page = page.where(tuple_(*order) > tuple_(*after))
            rows = list(db.exec(page).all())
        if rows:
            yield rows
        if len(rows) < batch:
            return
        after = key(rows[-1])


def _attempt_batches(open_session: OpenSession, user_id: int, batch: int) -> Iterator[list[Attempt]]:
    return keyset_batches(open_session, select(Attempt).where(Attempt.user_id == user_id),
                          (col(Attempt.created_at), col(Attempt.id)), lambda a: (a.created_at, a.id), batch)


def export_batches(open_session: OpenSession, content: Content, user_id: int,
                   batch: int = EXPORT_BATCH) -> Iterator[list[dict[str, Any]]]:
    """My attempts (oldest first) then my interviews (oldest first), as flat records with EXPORT_FIELDS,
    `batch` at a time."""
    for attempts in _attempt_batches(open_session, user_id, batch):
        yield [_attempt(content, a) for a in attempts]
    columns = (Interview.id, Interview.started_at, Interview.score, Interview.round_id, Interview.round_title,
               Interview.state, Interview.finished_at)  # never the plan (~90 KB an interview)
    for interviews in keyset_batches(open_session, select(*columns).where(Interview.user_id == user_id),
                                     (col(Interview.started_at), col(Interview.id)), lambda r: (r[1], r[0]), batch):
        yield [_interview(*row) for row in interviews]


def _attempt(content: Content, a: Attempt) -> dict[str, Any]:
    return _BLANK | {"kind": "attempt", **attempt_record(content, a)}


def _interview(iid, started_at, score, round_id, round_title, state, finished_at) -> dict[str, Any]:
    return _BLANK | {
        "kind": "interview", "id": iid, "created_at": started_at.isoformat(), "score": score,
        "round_id": round_id, "round_title": round_title, "state": state,
        "finished_at": finished_at.isoformat() if finished_at else None,
    }


def export_chunks(batches: Iterator[list[dict[str, Any]]], fmt: Literal["csv", "json"]) -> Iterator[bytes]:
    """The download's bytes, one chunk per batch: a JSON list, or CSV with a header row."""
    if fmt == "csv":
        yield from csv_chunks(EXPORT_FIELDS, batches)
        return
    yield from _json_list(batches)


def csv_chunks(fields: tuple[str, ...], batches: Iterable[list[dict[str, Any]]], *, bom: bool = True) -> Iterator[bytes]:
    """CSV with a header row, one chunk per batch; the byte-order mark for spreadsheets unless `bom` is off
    (files for other programs: the FSRS optimizer would read it into the first column's name)."""
    yield (("\ufeff" if bom else "") + _csv_rows([fields])).encode()
    for records in batches:
        yield _csv_rows([[_csv_cell(r[f]) for f in fields] for r in records]).encode()


# --- the review log, as the FSRS optimizer reads it ----------------------------------------------------------

# open-spaced-repetition/fsrs-optimizer's review-log schema: card_id (integer or string), review_time (ms since
# the epoch), review_rating (1 Again .. 4 Easy). Its optional review_state and review_duration are left out: an
# attempt stores neither the card's state before it nor (in practice) how long it took.
REVLOG_FIELDS = ("card_id", "review_time", "review_rating")
RATING_NUMBER = {"again": 1, "hard": 2, "good": 3, "easy": 4}


def revlog_batches(open_session: OpenSession, user_id: int, batch: int = EXPORT_BATCH) -> Iterator[list[dict[str, Any]]]:
    """My reviews oldest first (attempts with a rating: an open answer waiting for its self-rating is none),
    one row per review; a card is named by its question id (one card per question)."""
    stmt = select(Attempt).where(Attempt.user_id == user_id, col(Attempt.rating).is_not(None))
    for rows in keyset_batches(open_session, stmt, (col(Attempt.created_at), col(Attempt.id)),
                               lambda a: (a.created_at, a.id), batch):
        yield [{"card_id": a.question_id, "review_time": int(utc(a.created_at).timestamp() * 1000),
                "review_rating": RATING_NUMBER[a.rating]} for a in rows if a.rating in RATING_NUMBER]


# --- the 错题本 as a table ----------------------------------------------------------------------------------

MISTAKE_FIELDS = ("question_id", "title", "bank", "type", "topics", "state", "wrong", "answered", "first_wrong_at",
                  "last_wrong_at", "last_wrong_answer", "latest_answer", "expected", "correct_days", "cleared_at",
                  "rounds")


def mistake_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """app.practice.listing.mistake_record's records as flat rows (lists as JSON in their cell)."""
    return [{**r, "state": "cleared" if r["cleared_at"] else "active", "last_wrong_at": r["last_wrong"]["created_at"],
             "last_wrong_answer": r["last_wrong"]["answer"], "latest_answer": r["latest"]["answer"]} for r in records]


def _json_list(batches: Iterable[list[Any]]) -> Iterator[bytes]:
    """A JSON list of the records of `batches`, one chunk per batch."""
    yield b"["
    first = True
    for records in batches:
        if records:
            yield (b"" if first else b",") + b",".join(orjson.dumps(r) for r in records)
            first = False
    yield b"]"


def _csv_rows(rows: list[Any]) -> str:
    # UTF-8 with a byte-order mark (sent first) so spreadsheet programs read the Chinese right.
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    # Spreadsheets run cells that start like a formula; the user's own text must stay text.
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- the archive: everything of my account --------------------------------------------------------------


def archive_chunks(open_session: OpenSession, content: Content, user_id: int, now: datetime,
                   batch: int = EXPORT_BATCH, interview_batch: int = ARCHIVE_INTERVIEW_BATCH) -> Iterator[bytes]:
    """One JSON object, a batch at a time: the account and its settings, its interviews (oldest first) each
    with its answers and results, its attempts, its review cards, its bookmarks and notes, its 纠错 reports, its fitted scheduler. Never a password hash, a session or a
    share token: secrets are not data of the candidate's."""
    with open_session() as db:
        user = db.get(User, user_id)
        account = _account(user) if user is not None else None
    yield b'{"format":' + orjson.dumps(ARCHIVE_FORMAT) + b',"exported_at":' + orjson.dumps(now.isoformat()) \
        + b',"account":' + orjson.dumps(account) + b',"interviews":'
    yield from _json_list(_archive_interviews(open_session, user_id, interview_batch))
    yield b',"attempts":'
    yield from _json_list([attempt_record(content, a) for a in rows]
                          for rows in _attempt_batches(open_session, user_id, batch))
    yield b',"review_cards":'
    cards = keyset_batches(open_session, select(ReviewCard).where(ReviewCard.user_id == user_id),
                           (col(ReviewCard.due), col(ReviewCard.id)), lambda c: (c.due, c.id), batch)
    yield from _json_list([_card(c) for c in rows] for rows in cards)
    yield b',"marks":'
    marks = keyset_batches(open_session, select(QuestionMark).where(QuestionMark.user_id == user_id),
                           (col(QuestionMark.updated_at), col(QuestionMark.id)), lambda m: (m.updated_at, m.id), batch)
    yield from _json_list([_archived_mark(m) for m in rows] for rows in marks)
    yield b',"problem_reports":'
    reports = keyset_batches(open_session, select(ProblemReport).where(ProblemReport.user_id == user_id),
                             (col(ProblemReport.created_at), col(ProblemReport.id)), lambda r: (r.created_at, r.id), batch)
    yield from _json_list([_archived_report(r) for r in rows] for rows in reports)
    with open_session() as db:
        fit = db.get(SchedulerFit, user_id)
        scheduler = _archived_fit(fit) if fit is not None else None
    yield b',"scheduler":' + orjson.dumps(scheduler) + b"}"


def _archived_report(r: ProblemReport) -> dict[str, Any]:
    return {"id": r.id, "question_id": r.question_id, "content_version": r.content_version, "kind": r.kind,
            "comment": r.comment, "answer": r.answer, "state": r.state, "created_at": _iso(r.created_at),
            "resolved_at": _iso(r.resolved_at), "resolution_note": r.resolution_note}


def _archived_fit(fit: SchedulerFit) -> dict[str, Any]:
    return {"state": fit.state, "parameters": fit.parameters, "fitted_at": _iso(fit.fitted_at),
            "reviews_at_fit": fit.reviews_at_fit, "metrics": fit.metrics, "error": fit.error}


def _archived_mark(mark: QuestionMark) -> dict[str, Any]:
    return {"question_id": mark.question_id, "starred": mark.starred_at is not None,
            "starred_at": _iso(mark.starred_at), "note": mark.note, "updated_at": _iso(mark.updated_at)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _account(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "is_guest": user.is_guest, "is_admin": user.is_admin,
            "created_at": _iso(user.created_at), "last_seen_at": _iso(user.last_seen_at),
            "settings": {"desired_retention": user.desired_retention, "timezone": user.timezone,
                         "leech_lapses": user.leech_lapses}}


def _archive_interviews(open_session: OpenSession, user_id: int, batch: int) -> Iterator[list[dict[str, Any]]]:
    for interviews in keyset_batches(open_session, select(Interview).where(Interview.user_id == user_id),
                                     (col(Interview.started_at), col(Interview.id)),
                                     lambda i: (i.started_at, i.id), batch):
        with open_session() as db:
            answers = db.exec(select(InterviewAnswer)
                              .where(col(InterviewAnswer.interview_id).in_([i.id for i in interviews]))
                              .order_by(col(InterviewAnswer.interview_id), col(InterviewAnswer.position))).all()
        by_interview: dict[str, list[InterviewAnswer]] = {}
        for row in answers:
            by_interview.setdefault(row.interview_id, []).append(row)
        yield [_archived_interview(i, by_interview.get(i.id, [])) for i in interviews]


def _archived_interview(interview: Interview, answers: list[InterviewAnswer]) -> dict[str, Any]:
    items = interview.plan.get("items", [])
    sections = interview.plan.get("sections", [])

    def asked(position: int) -> dict[str, Any]:
        item = items[position] if 0 <= position < len(items) else {}
        question = item.get("question", {})
        section = item.get("section")
        return {"question_id": question.get("id"), "question_title": question.get("title"),
                "section": sections[section].get("title") if isinstance(section, int) and section < len(sections)
                else None, "followup_of": item.get("followup_of")}

    return {
        "id": interview.id, "round_id": interview.round_id, "round_title": interview.round_title,
        "content_version": interview.content_version, "state": interview.state,
        "started_at": _iso(interview.started_at), "deadline": _iso(interview.deadline),
        "finished_at": _iso(interview.finished_at), "score": interview.score,
        "question_count": interview.question_count, "shared": interview.share_token is not None,
        "answers": [{"position": a.position, **asked(a.position), "answer": a.answer, "score": a.score,
                     "result": a.result, "self_rating": a.self_rating, "saved_at": _iso(a.saved_at),
                     "first_seen_at": _iso(a.first_seen_at), "time_spent_ms": a.time_spent_ms} for a in answers],
    }


def _card(card: ReviewCard) -> dict[str, Any]:
    return {"question_id": card.question_id, "due": _iso(card.due), "last_review": _iso(card.last_review),
            "last_rating": card.last_rating, "reps": card.reps, "lapses": card.lapses,
            "first_review_at": _iso(card.first_review_at), "suspended_at": _iso(card.suspended_at), "fsrs": card.card}
