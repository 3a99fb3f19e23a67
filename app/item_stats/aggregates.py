"""Running aggregates of item statistics: one row per round and question (ItemAggregate), added to in the
write that scores an interview, so that the statistics of any number of interviews cost a read of a round's
rows (app.stats.items computes them; docs/statistics.md).

Concurrent finishes of interviews of one round add to the same rows: each takes the rows' locks in one order
(insert-if-missing, then SELECT ... FOR UPDATE, sorted by question) on PostgreSQL, so that no sum is lost
and two finishes never deadlock; on SQLite the write transaction (BEGIN IMMEDIATE) serialises them already.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.content.loader import Content
from app.errors import NotFound
from app.models import Interview, InterviewAnswer, ItemAggregate
from app.scoring.answers import AnswerFormatError, parse_choice
from app.stats.items import (
    TICKS_PER_MARK,
    ItemStatistics,
    OptionShare,
    item_statistics,
    never_chosen_options,
    option_shares,
)
from app.stats.running import ItemState, ScoredItem, add_attempt_to, attempt_states, state_from_json, state_to_json

CHOICE_TYPES = ("single", "multiple")
REBUILD_BATCH = 5000  # answer rows per fetch of a rebuild


def chosen_options(qtype: str, answer: Any) -> tuple[str, ...] | None:
    """The option keys a choice answer chose (none when unanswered or unreadable); None for other types."""
    if qtype not in CHOICE_TYPES:
        return None
    if answer is None or answer == "" or answer == []:
        return ()
    try:
        return parse_choice(answer)
    except AnswerFormatError:
        return ()


def scored_item(question: Mapping[str, Any], score: float, answer: Any) -> ScoredItem:
    """A finished interview's scored item from its frozen question snapshot, its score and its answer."""
    return ScoredItem(question["id"], score, chosen_options(question["type"], answer))


def add_finished(db: Session, round_id: str, items: Iterable[ScoredItem], now: datetime) -> None:
    """Add one finished interview's scored items to its round's aggregates, inside the caller's write."""
    states = attempt_states(items)
    if states:
        _merge_into(db, round_id, states, now)


def _merge_into(db: Session, round_id: str, states: Mapping[str, ItemState], now: datetime) -> None:
    keys = sorted(states)
    dialect = db.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    empty = state_to_json(ItemState())
    db.execute(insert(ItemAggregate).values(
        [{"round_id": round_id, "question_id": k, "state": empty, "updated_at": now} for k in keys]
    ).on_conflict_do_nothing(index_elements=["round_id", "question_id"]))
    rows = db.exec(select(ItemAggregate).where(
        ItemAggregate.round_id == round_id, col(ItemAggregate.question_id).in_(keys))
        .order_by(col(ItemAggregate.question_id)).with_for_update()
        .execution_options(populate_existing=True)).all()
    for row in rows:
        row.state = state_to_json(state_from_json(row.state).merge(states[row.question_id]))
        row.updated_at = now
        db.add(row)
    db.flush()


def rebuild(db: Session, content: Content, now: datetime) -> int:
    """Recompute every aggregate from the finished interviews' stored scores (inside the caller's write);
    the number of interviews counted. Option counts follow the question types of `content` (a question it
    no longer has gets no option counts). A finish running meanwhile waits on PostgreSQL (the table is
    locked), and SQLite has one writer: it is counted once, by the rebuild or after it."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("LOCK TABLE itemaggregate IN EXCLUSIVE MODE"))
    db.exec(delete(ItemAggregate))  # type: ignore[call-overload]
    rounds: dict[str, dict[str, ItemState]] = {}
    stmt = (select(Interview.id, Interview.round_id, InterviewAnswer.question_id, InterviewAnswer.score,
                   InterviewAnswer.answer)
            .join(InterviewAnswer, col(InterviewAnswer.interview_id) == col(Interview.id))
            .where(Interview.state == "finished")
            .order_by(col(Interview.id), col(InterviewAnswer.position))
            .execution_options(yield_per=REBUILD_BATCH))
    current: str | None = None
    round_id = ""
    items: list[ScoredItem] = []
    count = 0

    def flush_attempt() -> None:
        if current is not None:
            add_attempt_to(rounds.setdefault(round_id, {}), items)

    for interview_id, rid, qid, score, answer in db.exec(stmt):  # type: ignore[call-overload]
        if interview_id != current:
            flush_attempt()
            current, round_id, items = interview_id, rid, []
            count += 1
        if score is None or qid is None:  # unscored items never count
            continue
        q = content.by_id.get(qid)
        items.append(ScoredItem(qid, score, chosen_options(q.type, answer) if q is not None else None))
    flush_attempt()
    db.add_all(ItemAggregate(round_id=rid, question_id=qid, state=state_to_json(state), updated_at=now)
               for rid, states in rounds.items() for qid, state in states.items())
    db.flush()
    return count


def round_states(db: Session, round_id: str) -> dict[str, ItemState]:
    rows = db.exec(select(ItemAggregate).where(ItemAggregate.round_id == round_id)
                   .order_by(col(ItemAggregate.question_id))).all()
    return {row.question_id: state_from_json(row.state) for row in rows}


@dataclass(frozen=True)
class ItemRow:
    """One question's line of the item statistics of a round."""

    stats: ItemStatistics
    title: str | None  # None: the live content no longer has the question
    type: str | None
    options: list[OptionShare] | None  # choice items
    unanswered: int | None  # choice items: attempts that chose nothing
    marks: Mapping[float, int]  # how many attempts got each mark (a fraction of the item)
    never_chosen: list[str]
    open_reports: int
    reports: int

    @property
    def question_id(self) -> str:
        return self.stats.item

    @property
    def flags(self) -> list[str]:
        flags = []
        if self.stats.negative_discrimination:
            flags.append("negative_discrimination")
        if self.never_chosen:
            flags.append("never_chosen_options")
        if self.stats.dubious:
            flags.append("dubious")
        return flags


SORT_KEYS = ("question", "attempts", "facility", "sd", "discrimination_index", "discriminative_efficiency",
             "effective_weight", "reports")


def round_statistics(db: Session, content: Content, round_id: str,
                     report_counts: Mapping[str, tuple[int, int]]) -> list[ItemRow]:
    """The item statistics of a round over its finished interviews, in question order; 404 for a round
    neither the content nor the aggregates know. report_counts: (open, all) reports per question."""
    states = round_states(db, round_id)
    if not states and round_id not in content.rounds_by_id:
        raise NotFound(f"no round with id {round_id!r}")
    rows = []
    for stats in item_statistics({qid: s.acc for qid, s in states.items()}):
        state, q = states[stats.item], content.by_id.get(stats.item)
        tally = state.tally([o.key for o in q.options] if q is not None else []) if state.choice else None
        open_reports, reports = report_counts.get(stats.item, (0, 0))
        rows.append(ItemRow(stats=stats, title=q.title if q else None, type=q.type if q else None,
                            options=option_shares(tally) if tally else None,
                            unanswered=tally.unanswered if tally else None,
                            marks={x / TICKS_PER_MARK: k for x, k in sorted(state.acc.marks.items())},
                            never_chosen=never_chosen_options(tally) if tally else [],
                            open_reports=open_reports, reports=reports))
    return rows


def sort_rows(rows: list[ItemRow], key: str, descending: bool = False) -> list[ItemRow]:
    """Rows by one of SORT_KEYS; rows without a value (too few attempts) last either way."""
    if key not in SORT_KEYS:
        raise ValueError(key)
    if key == "question":
        return sorted(rows, key=lambda r: r.question_id, reverse=descending)
    if key == "reports":
        return sorted(rows, key=lambda r: (r.reports, r.question_id), reverse=descending)

    def value(r: ItemRow) -> Any:
        return getattr(r.stats, key)

    have = sorted((r for r in rows if value(r) is not None), key=lambda r: (value(r), r.question_id),
                  reverse=descending)
    return have + [r for r in rows if value(r) is None]
