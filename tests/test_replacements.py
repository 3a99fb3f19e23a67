"""Merged items (`replaces: [old-id]`): the loader's rules, and a candidate's attempts and review cards
following the item when the merge is published, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.content.loader import load_content
from app.db import make_engine, request_session, write_transaction
from app.models import Attempt, Interview, QuestionAlias, ReloadLog, ReviewCard, User
from app.practice.service import record_attempt, rerate_interview_item
from app.runtime.publishing import publish
from app.runtime.replacements import planned_aliases
from tests.conftest import T0
from tests.test_content_validation import BASE, HEAD, errors_of, question, write_bank

NUMERIC = "type: numeric\nanswer: 15\n" + BASE
OPEN_BODY = ("题干\n\n### 参考答案\n\n答。\n\n### 要点\n\n- 一: 甲乙\n  > 一\n- 二: 丙丁\n  > 二\n- 三: 戊己\n  > 三\n\n"
             "### 解析\n\n解析。\n")


def bank(*items: tuple[str, str]) -> str:
    """A bank of numeric items: (id, extra metadata)."""
    return HEAD + "".join(question(qid, NUMERIC + extra, f"{qid} 的题干\n\n### 解析\n\n解析。\n") for qid, extra in items)


# --- the loader ----------------------------------------------------------------------------------


def test_replaced_ids_are_known_to_the_content(tmp_path):
    write_bank(tmp_path, bank(("rf-new", "replaces: [rf-old, rf-older]\n"), ("bn", "")))
    content = load_content(tmp_path)
    assert dict(content.replaced_by) == {"rf-old": "rf-new", "rf-older": "rf-new"}
    assert content.by_id["rf-new"].replaces == ("rf-old", "rf-older")


def test_an_old_id_must_be_gone_and_replaced_once(tmp_path):
    write_bank(tmp_path, bank(("rf-new", "replaces: [rf-old, bn]\n"), ("bn", ""), ("other", "replaces: [rf-old]\n"),
                              ("bad", "replaces: [Not An Id]\n")))
    errors = errors_of(tmp_path)
    path = tmp_path / "banks" / "b.md"
    assert any(e.startswith(f"{path}:6:") and "「bn」仍是一道题目" in e for e in errors), errors
    assert any(e.startswith(f"{path}:39:") and "「rf-old」已由「rf-new」取代" in e and "b.md:6" in e
               for e in errors), errors
    assert any("replaces 必须是题目 id 的列表" in e for e in errors), errors
    assert not any("rf-old" in e and "仍是" in e for e in errors), errors


def test_a_round_or_followup_naming_a_replaced_id_says_what_replaced_it(tmp_path):
    write_bank(tmp_path, bank(("rf-new", "replaces: [rf-old]\n"), ("bn", "followups: [rf-old]\n")))
    (tmp_path / "rounds").mkdir()
    (tmp_path / "rounds" / "r.md").write_text(
        "---\nid: r\ntitle: R\nduration: 5\n---\n\n## 一\n\n```yaml\nminutes: 4\nquestions: [rf-old]\n```\n",
        encoding="utf-8")
    errors = errors_of(tmp_path)
    assert any("r.md:11:" in e and "「rf-old」（它已被「rf-new」取代）" in e for e in errors), errors
    assert any("追问「rf-old」" in e and "已被「rf-new」取代" in e for e in errors), errors


def test_planned_aliases_follow_chains_and_forget_ids_that_are_items_again():
    assert planned_aliases({}, {"a": "b"}, {"b"}) == {"a": "b"}
    # a was merged into b; now b is merged into c: both end at c
    assert planned_aliases({"a": "b"}, {"b": "c"}, {"c"}) == {"a": "c", "b": "c"}
    # a is an item again (and replaces b): a stops being an alias
    assert planned_aliases({"a": "b"}, {"b": "a"}, {"a"}) == {"b": "a"}
    # an alias the content no longer lists stays: rows recorded under it later still follow
    assert planned_aliases({"a": "b"}, {}, {"b"}) == {"a": "b"}


# --- the data follows the item -------------------------------------------------------------------


def publish_bank(session: Session, folder: Path, text: str) -> dict:
    write_bank(folder, text)
    publish(session, folder, "test")
    log = session.exec(select(ReloadLog).order_by(ReloadLog.id.desc())).first()  # type: ignore[union-attr]
    assert log is not None and log.ok
    return log.detail


def answer(db: Session, user: User, qid: str, score: float, days: float, **kw) -> ReviewCard:
    with write_transaction(db):
        _, card = record_attempt(db, user_id=user.id, question_id=qid, qtype="numeric", score=score,
                                 correct=score == 1.0, now=T0 + timedelta(days=days), **kw)
    return card


def cards_of(db: Session, user: User) -> dict[str, ReviewCard]:
    db.expire_all()
    return {c.question_id: c for c in db.exec(select(ReviewCard).where(ReviewCard.user_id == user.id)).all()}


def attempts_of(db: Session, user: User) -> list[tuple[str, float]]:
    db.expire_all()
    return [(a.question_id, a.score) for a in
            db.exec(select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id)).all()]


@pytest.fixture
def db(db_url):
    engine = make_engine(db_url)
    with request_session(engine) as session:
        yield session
    engine.dispose()


def users(db: Session, *names: str) -> list[User]:
    with write_transaction(db):
        made = [User(username=n) for n in names]
        db.add_all(made)
        db.flush()
    return made


def test_attempts_and_cards_follow_the_merged_item(db, tmp_path):
    folder = tmp_path / "content"
    publish_bank(db, folder, bank(("rf-old", ""), ("rf-new", ""), ("bn", "")))
    only_old, old_later, new_later, untouched = users(db, "only-old", "old-later", "new-later", "untouched")

    answer(db, only_old, "rf-old", 1.0, 0)
    answer(db, only_old, "rf-old", 0.0, 3)
    only_old_card = cards_of(db, only_old)["rf-old"]
    answer(db, old_later, "rf-new", 1.0, 0)
    answer(db, old_later, "rf-old", 0.0, 1)
    answer(db, old_later, "rf-old", 1.0, 5)  # the card reviewed last: it wins
    old_later_card = cards_of(db, old_later)["rf-old"]
    answer(db, new_later, "rf-old", 1.0, 0)
    answer(db, new_later, "rf-new", 0.0, 2)
    new_later_card = cards_of(db, new_later)["rf-new"]
    answer(db, untouched, "bn", 1.0, 0)

    detail = publish_bank(db, folder, bank(("rf-new", "replaces: [rf-old]\n"), ("bn", "")))
    assert detail["replacements"] == {"aliases": 1, "attempts": 5, "cards_moved": 1, "cards_merged": 2, "marks": 0}

    # the history is whole, under the new id
    assert attempts_of(db, only_old) == [("rf-new", 1.0), ("rf-new", 0.0)]
    assert attempts_of(db, old_later) == [("rf-new", 1.0), ("rf-new", 0.0), ("rf-new", 1.0)]
    assert attempts_of(db, new_later) == [("rf-new", 1.0), ("rf-new", 0.0)]
    # one card per candidate and item: the one reviewed most recently, with both counts
    (card,) = cards_of(db, only_old).values()
    assert (card.id, card.question_id, card.card, card.reps, card.lapses) == (
        only_old_card.id, "rf-new", only_old_card.card, 2, only_old_card.lapses)
    (card,) = cards_of(db, old_later).values()
    assert (card.id, card.question_id, card.card, card.last_review, card.reps) == (
        old_later_card.id, "rf-new", old_later_card.card, old_later_card.last_review, 3)
    (card,) = cards_of(db, new_later).values()
    assert (card.id, card.question_id, card.card, card.reps) == (new_later_card.id, "rf-new", new_later_card.card, 2)
    assert list(cards_of(db, untouched)) == ["bn"] and attempts_of(db, untouched) == [("bn", 1.0)]
    assert {a.old_id: a.new_id for a in db.exec(select(QuestionAlias)).all()} == {"rf-old": "rf-new"}

    # publishing again moves nothing more
    again = publish_bank(db, folder, bank(("rf-new", "replaces: [rf-old]\n"), ("bn", "")))
    assert again["replacements"] == {"aliases": 1, "attempts": 0, "cards_moved": 0, "cards_merged": 0, "marks": 0}


def test_answers_recorded_under_an_old_id_later_land_on_the_new_item(db, tmp_path):
    """An interview planned before the merge is scored under the plan's ids; so is a self-rating of its
    report. Neither creates a card under the old id."""
    folder = tmp_path / "content"
    publish_bank(db, folder, bank(("rf-old", ""), ("rf-new", "")))
    (user,) = users(db, "candidate")
    with write_transaction(db):
        interview = Interview(id="iv1", user_id=user.id, round_id="r", round_title="R", content_version="v",
                              started_at=T0, deadline=T0 + timedelta(hours=1), plan={"items": []})
        db.add(interview)
    answer(db, user, "rf-old", 1.0, 0)
    publish_bank(db, folder, bank(("rf-new", "replaces: [rf-old]\n")))

    answer(db, user, "rf-old", 0.0, 1, source="interview", interview_id="iv1", self_rating="good")
    assert attempts_of(db, user) == [("rf-new", 1.0), ("rf-new", 0.0)]
    (card,) = cards_of(db, user).values()
    assert card.question_id == "rf-new" and card.reps == 2
    with write_transaction(db):
        assert rerate_interview_item(db, user, "iv1", "rf-old", "easy")
    (card,) = cards_of(db, user).values()
    assert card.last_rating == "easy"


def test_a_chain_of_merges_ends_at_the_last_item(db, tmp_path):
    folder = tmp_path / "content"
    publish_bank(db, folder, bank(("a", ""), ("b", "")))
    (user,) = users(db, "candidate")
    answer(db, user, "a", 1.0, 0)
    publish_bank(db, folder, bank(("b", "replaces: [a]\n"), ("c", "")))
    answer(db, user, "c", 0.0, 2)
    detail = publish_bank(db, folder, bank(("c", "replaces: [b]\n")))
    assert detail["replacements"] == {"aliases": 2, "attempts": 1, "cards_moved": 0, "cards_merged": 1, "marks": 0}
    assert attempts_of(db, user) == [("c", 1.0), ("c", 0.0)]
    assert list(cards_of(db, user)) == ["c"]
    assert {a.old_id: a.new_id for a in db.exec(select(QuestionAlias)).all()} == {"a": "c", "b": "c"}
    # a comes back as an item of its own: it is no longer an alias, and new answers stay under it
    publish_bank(db, folder, bank(("c", "replaces: [b]\n"), ("a", "")))
    answer(db, user, "a", 1.0, 3)
    assert attempts_of(db, user)[-1] == ("a", 1.0)
    assert {a.old_id: a.new_id for a in db.exec(select(QuestionAlias)).all()} == {"b": "c"}
