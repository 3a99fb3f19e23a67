"""The export of all my attempts and interviews: a full download, streamed in batches.

However long the account's history, the server holds one batch at a time: each is a keyset read (app.pagination's
order, oldest first) in a short session of its own, so a client that downloads slowly never pins a database
connection between batches, and memory does not grow with the account.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Literal

import orjson
from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from app.content.loader import Content
from app.models import Attempt, Interview
from app.practice.listing import attempt_record

EXPORT_FIELDS = ("kind", "id", "created_at", "question_id", "question_title", "seed", "answer", "score",
                 "correct", "rating", "source", "interview_id", "round_id", "round_title", "state",
                 "finished_at", "answer_unreadable")
EXPORT_BATCH = 500  # records per read and per chunk sent: one thread hop and one short session each
_BLANK = dict.fromkeys(EXPORT_FIELDS)
OpenSession = Callable[[], AbstractContextManager[Session]]


def export_batches(open_session: OpenSession, content: Content, user_id: int,
                   batch: int = EXPORT_BATCH) -> Iterator[list[dict[str, Any]]]:
    """My attempts (oldest first) then my interviews (oldest first), as flat records with EXPORT_FIELDS,
    `batch` at a time."""
    after: tuple[Any, Any] | None = None
    while True:
        with open_session() as db:
            stmt = (select(Attempt).where(Attempt.user_id == user_id)
                    .order_by(col(Attempt.created_at), col(Attempt.id)).limit(batch))
            if after is not None:
                stmt = stmt.where(tuple_(Attempt.created_at, Attempt.id) > tuple_(*after))
            attempts = list(db.exec(stmt).all())
        if attempts:
            yield [_attempt(content, a) for a in attempts]
        if len(attempts) < batch:
            break
        after = (attempts[-1].created_at, attempts[-1].id)
    after = None
    columns = (Interview.id, Interview.started_at, Interview.score, Interview.round_id, Interview.round_title,
               Interview.state, Interview.finished_at)  # never the plan (~90 KB an interview)
    while True:
        with open_session() as db:
            istmt = (select(*columns).where(Interview.user_id == user_id)
                     .order_by(col(Interview.started_at), col(Interview.id)).limit(batch))
            if after is not None:
                istmt = istmt.where(tuple_(Interview.started_at, Interview.id) > tuple_(*after))
            interviews = list(db.exec(istmt).all())
        if interviews:
            yield [_interview(*row) for row in interviews]
        if len(interviews) < batch:
            break
        after = (interviews[-1][1], interviews[-1][0])


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
        yield ("\ufeff" + _csv_rows([EXPORT_FIELDS])).encode()
        for records in batches:
            yield _csv_rows([[_csv_cell(r[f]) for f in EXPORT_FIELDS] for r in records]).encode()
        return
    yield b"["
    first = True
    for records in batches:
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
