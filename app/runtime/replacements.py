"""Merged items: what a candidate recorded under an old id follows the item it was merged into.

An item that replaces others lists them (`replaces: [old-id]` in content; the loader checks that no old id
is still an item and that no two items replace the same one). Everything keyed by question id for a user
follows it: the attempts, the review card, and the bookmark and note (QuestionMark).

How: the rows move once, when a version is published, and the database remembers the merge.

- `follow_replacements` runs inside the transaction that records the version (app/runtime/publishing.py).
  It brings the aliases (QuestionAlias, old id -> new id) up to date with the content's `replaces`: a chain
  (A merged into B, later B into C) ends at C, and an id that is an item again stops being an alias. Then
  every attempt under an old id takes the new id, and so does every review card. A candidate who has a
  card under both ids keeps one: **the card reviewed most recently** (one never reviewed counts as oldest;
  on a tie the one already under the new id), with the other's reps and lapses added to it; the other is
  deleted. The attempts are kept whole, so both histories are under the new id. A candidate who marked both
  ids keeps one mark: starred if either was (since the earlier star), and both notes, the one written last
  first (a note is the candidate's own words: none is dropped).
- Afterwards, what is written under an old id is written under the new one (`recorded_id`, called by
  app.practice.service): an interview started before the merge is scored from its frozen plan under the
  ids it was planned with, and a worker still serving the previous version for a poll interval records
  old ids too.

Why not map old ids to new ones when reading: every read of cards and attempts (due list, stats, history,
export) would have to map and merge them each time, and forget them once the content drops the
`replaces`. Moving the rows once keeps the reads as they are and one row per item. Interviews keep their
frozen plans: a report shows the question as it was asked.

What remains: on PostgreSQL, a write whose transaction read the aliases just before a publication committed
can still land under the old id; every publication applies every alias again, so the next one moves it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import case, delete, update
from sqlmodel import Session, col, select

from app.content.loader import Content
from app.db import for_update
from app.models import Attempt, QuestionAlias, QuestionMark, ReviewCard

NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Followed:
    aliases: int  # old ids known after this publication
    attempts: int  # attempts moved to the new id
    cards_moved: int  # cards moved to the new id
    cards_merged: int  # cards dropped for a more recently reviewed one of the same candidate and item
    marks: int = 0  # bookmarks and notes moved to the new id (or merged into the mark already there)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def planned_aliases(existing: Mapping[str, str], replaced_by: Mapping[str, str],
                    item_ids: Collection[str]) -> dict[str, str]:
    """The aliases after a publication: the recorded ones, less the ids that are items again, with the
    content's `replaces` on top; each old id mapped to the end of its chain."""
    merged = {old: new for old, new in existing.items() if old not in item_ids}
    merged.update(replaced_by)
    out = {}
    for old in merged:
        new, seen = merged[old], {old}
        while new in merged and new not in seen:  # (a loop cannot come from valid content; never follow one)
            seen.add(new)
            new = merged[new]
        if new != old:
            out[old] = new
    return out


def follow_replacements(db: Session, content: Content) -> Followed:
    """Record the aliases `content` implies and move every attempt and card under an old id (inside the
    caller's write transaction)."""
    rows = {a.old_id: a for a in db.exec(for_update(select(QuestionAlias))).all()}
    aliases = planned_aliases({old: a.new_id for old, a in rows.items()}, content.replaced_by, content.by_id)
    now = datetime.now(UTC)
    for old, row in rows.items():
        if old not in aliases:
            db.delete(row)
    for old, new in aliases.items():
        row = rows.get(old)
        if row is None:
            db.add(QuestionAlias(old_id=old, new_id=new, at=now))
        elif row.new_id != new:
            row.new_id, row.at = new, now
            db.add(row)
    db.flush()
    if not aliases:
        return Followed(0, 0, 0, 0)
    old_ids = list(aliases)
    attempts = db.exec(update(Attempt).where(col(Attempt.question_id).in_(old_ids))  # type: ignore[call-overload]
                       .values(question_id=case(aliases, value=Attempt.question_id))
                       .execution_options(synchronize_session=False)).rowcount
    moved, merged = _move_cards(db, aliases)
    return Followed(len(aliases), attempts, moved, merged, _move_marks(db, aliases))


def _move_cards(db: Session, aliases: Mapping[str, str]) -> tuple[int, int]:
    old_cards = db.exec(for_update(select(ReviewCard).where(col(ReviewCard.question_id).in_(list(aliases)))
                                   .order_by(col(ReviewCard.id)))).all()
    if not old_cards:
        return 0, 0
    targets = sorted({aliases[c.question_id] for c in old_cards})
    held = {(c.user_id, c.question_id): c for c in db.exec(for_update(
        select(ReviewCard).where(col(ReviewCard.question_id).in_(targets)))).all()}
    moved = merged = 0
    for card in old_cards:
        new_id = aliases[card.question_id]
        key = (card.user_id, new_id)
        other = held.get(key)
        if other is None:
            keep = card
            moved += 1
        else:
            # the card reviewed most recently wins; on a tie the one already under the new id
            keep, drop = sorted((card, other), key=lambda c: (c.last_review or NEVER, c.question_id == new_id))[::-1]
            keep.reps += drop.reps
            keep.lapses += drop.lapses
            db.exec(delete(ReviewCard).where(col(ReviewCard.id) == drop.id))  # type: ignore[call-overload]
            db.expunge(drop)
            merged += 1
        keep.question_id = new_id
        db.add(keep)
        db.flush()  # one at a time: the (user, question) pair is unique
        held[key] = keep
    return moved, merged


NOTE_JOIN = "\n\n---\n\n"


def _move_marks(db: Session, aliases: Mapping[str, str]) -> int:
    old_marks = db.exec(for_update(select(QuestionMark).where(col(QuestionMark.question_id).in_(list(aliases)))
                                   .order_by(col(QuestionMark.id)))).all()
    if not old_marks:
        return 0
    targets = sorted({aliases[m.question_id] for m in old_marks})
    held = {(m.user_id, m.question_id): m for m in db.exec(for_update(
        select(QuestionMark).where(col(QuestionMark.question_id).in_(targets)))).all()}
    for mark in old_marks:
        new_id = aliases[mark.question_id]
        key = (mark.user_id, new_id)
        other = held.get(key)
        keep = mark
        if other is not None:
            keep, drop = other, mark
            stars = [m.starred_at for m in (keep, drop) if m.starred_at is not None]
            keep.starred_at = min(stars) if stars else None
            notes = [m.note for m in sorted((keep, drop), key=lambda m: m.updated_at, reverse=True) if m.note]
            keep.note = NOTE_JOIN.join(notes) if notes else None
            keep.updated_at = max(keep.updated_at, drop.updated_at)
            db.exec(delete(QuestionMark).where(col(QuestionMark.id) == drop.id))  # type: ignore[call-overload]
            db.expunge(drop)
        keep.question_id = new_id
        db.add(keep)
        db.flush()  # one at a time: the (user, question) pair is unique
        held[key] = keep
    return len(old_marks)


def recorded_id(db: Session, question_id: str) -> str:
    """The id an answer to `question_id` is recorded under: the item it was merged into, or its own."""
    alias = db.get(QuestionAlias, question_id)
    return alias.new_id if alias is not None else question_id
