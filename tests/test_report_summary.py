"""The report's summary as pure functions: scores per section and topic, time against the plan, the weakest
topics, the mistakes (DESIGN: what counts as one), and the page's shaping of them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.interviews.summary import ItemOutcome, summarize
from app.practice.scheduling import is_mistake
from app.web.report_views import clock_text, drill_url, only_wrong, section_groups

SECTIONS = [{"title": "基础", "minutes": 6, "start": 0, "count": 3},
            {"title": "计算", "minutes": 4, "start": 3, "count": 2}]


def outcome(position: int, section: int, qtype: str, score: float, *topics: str, **kw) -> ItemOutcome:
    return ItemOutcome(position=position, section=section, type=qtype, topics=topics, score=score, **kw)


ITEMS = [
    outcome(0, 0, "open", 0.8, "BN", spent_seconds=100.0),
    outcome(1, 0, "single", 1.0, "BN", spent_seconds=20.5),
    outcome(2, 0, "numeric", 0.0, "BN", "参数量", spent_seconds=9.5),
    outcome(3, 1, "shape", 1.0, "卷积计算", spent_seconds=200.0),
    outcome(4, 1, "generated", 0.0, "卷积计算", spent_seconds=100.0),
]


@pytest.mark.parametrize(("qtype", "score", "rating", "mistake"), [
    ("single", 1.0, None, False), ("single", 0.9999, None, False),  # the float slack of "fully right"
    ("multiple", 0.5, None, True), ("numeric", 0.0, None, True),
    ("open", 0.6, None, False), ("open", 0.59, None, True),
    ("open", 0.9, "again", True),  # the candidate's own "again" makes it one, whatever the coverage
    ("open", 0.3, "easy", True),  # covered below 0.6 is one, whatever the rating
    ("numeric", 0.0, "easy", True),  # objective items: the score decides
])
def test_what_counts_as_a_mistake(qtype, score, rating, mistake):
    assert is_mistake(qtype, score, rating) is mistake


def test_sections_add_up_the_time_spent_against_the_plan():
    s = summarize(SECTIONS, ITEMS, duration_minutes=10)
    first, second = s.sections
    assert (first.title, first.start, first.count, first.planned_seconds) == ("基础", 0, 3, 360.0)
    assert first.spent_seconds == 130.0 and first.over_seconds == 0.0
    assert second.spent_seconds == 300.0 and second.over_seconds == 60.0
    assert first.score == pytest.approx(0.6) and second.score == 0.5
    assert (first.mistakes, second.mistakes) == (1, 1)
    assert s.spent_seconds == 430.0 and s.planned_seconds == 600.0
    assert s.mistakes == (2, 4) and s.scored == 5


def test_topics_weakest_first_and_the_weak_ones():
    s = summarize(SECTIONS, ITEMS)
    assert [(t.topic, t.score, t.count, t.mistakes) for t in s.topics] == [
        ("参数量", 0.0, 1, 1), ("卷积计算", 0.5, 2, 1), ("BN", 0.6, 3, 1)]
    assert s.weak_topics == ("参数量", "卷积计算")  # BN at 0.6 is not below the line
    assert s.planned_seconds == 600.0  # the sections' minutes, without a duration


def test_at_most_five_weak_topics():
    items = [outcome(i, 0, "single", i / 10, f"t{i}") for i in range(8)]
    assert summarize(SECTIONS[:1], items).weak_topics == ("t0", "t1", "t2", "t3", "t4")


def test_an_open_item_rated_again_is_a_mistake_of_its_section_and_topics():
    items = [outcome(0, 0, "open", 0.9, "BN", self_rating="again"), outcome(1, 0, "open", 0.9, "BN")]
    s = summarize(SECTIONS[:1], items)
    assert s.mistakes == (0,) and s.sections[0].mistakes == 1 and s.topics[0].mistakes == 1


def test_unscored_items_count_in_time_only():
    items = [outcome(0, 0, "open", 0.0, "自我介绍", spent_seconds=90.0, scored=False),
             outcome(1, 0, "single", 1.0, "BN", spent_seconds=10.0)]
    s = summarize(SECTIONS[:1], items)
    assert s.sections[0].spent_seconds == 100.0 and s.sections[0].score == 1.0
    assert s.mistakes == () and s.scored == 1 and [t.topic for t in s.topics] == ["BN"]


def test_a_section_without_answers_has_no_score():
    s = summarize(SECTIONS, ITEMS[:3])
    assert s.sections[1].score is None and s.sections[1].spent_seconds == 0.0 and s.sections[1].mistakes == 0


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (59.4, "0:59"), (59.6, "1:00"), (360, "6:00"),
                                               (3599, "59:59"), (3600, "1:00:00"), (3725, "1:02:05"), (-3, "0:00")])
def test_clock_text(seconds, text):
    assert clock_text(seconds) == text


def report_of(items: list[ItemOutcome]) -> dict:
    return {"sections": SECTIONS, "questions": [{"section": i.section, "position": i.position, "mistake": i.mistake}
                                                for i in items]}


def test_section_groups_all_or_only_the_mistakes():
    groups = section_groups(report_of(ITEMS), wrong_only=False)
    assert [(g["anchor"], [q["position"] for q in g["questions"]]) for g in groups] == [
        ("section-1", [0, 1, 2]), ("section-2", [3, 4])]
    wrong = section_groups(report_of(ITEMS[:3] + [ITEMS[3]]), wrong_only=True)
    assert [[q["position"] for q in g["questions"]] for g in wrong] == [[2], []]  # the empty section stays


def test_the_drill_link_is_the_practice_filter_of_the_weak_topics():
    url = drill_url(["参数量", "卷积计算"])
    parts = urlsplit(url)
    assert parts.path == "/practice" and parse_qs(parts.query) == {"topic": ["参数量", "卷积计算"]}
    assert drill_url([]) is None


def test_only_wrong_reads_the_query():
    assert only_wrong({"only": "wrong"}) and not only_wrong({}) and not only_wrong({"only": "all"})
