"""The bundled banks and rounds: valid, big enough, and every stated answer scores as right."""

from __future__ import annotations

from collections import Counter

import pytest

from app.content.loader import load_content, pick_round_questions
from app.scoring.check import check_answer, expected_answer, instance_for
from tests.conftest import REPO


@pytest.fixture(scope="module")
def content():
    return load_content(REPO / "content")


def test_minimum_counts(content):
    types = Counter(q.type for q in content.questions)
    assert len(content.questions) >= 300
    assert len(content.banks) >= 12
    assert types["single"] + types["multiple"] >= 80
    assert types["numeric"] + types["shape"] + types["generated"] >= 40
    assert types["generated"] >= 15
    assert len({q.calculator for q in content.questions if q.type == "generated"}) >= 10
    assert types["open"] > 0


def test_every_question_is_complete(content):
    for q in content.questions:
        assert 1 <= q.difficulty <= 5 and q.topics and q.source and q.explanation, q.id
        if q.type == "open":
            assert q.reference and 3 <= len(q.keypoints) <= 6, q.id


def test_rounds(content):
    titles = {r.title: r for r in content.rounds}
    assert "TP-Link 图像算法一面" in titles and "TP-Link 算法二面" in titles
    for title in ("TP-Link 图像算法一面", "TP-Link 算法二面"):
        assert 45 <= titles[title].duration <= 60
    assert any(r.duration <= 20 for r in content.rounds)
    assert len(content.rounds) >= 4
    for r in content.rounds:
        for seed in range(5):
            picked = pick_round_questions(content, r, seed)
            assert [len(ids) for ids in picked] == [s.question_count for s in r.sections], r.id


def test_stated_answers_score_as_right(content):
    for q in content.questions:
        if q.type in ("single", "multiple", "numeric", "shape"):
            result = check_answer(q, expected_answer(q))
            assert result.score == 1.0, (q.id, result.feedback)


def test_generated_instances_are_valid_and_self_consistent(content):
    for q in content.questions:
        if q.type != "generated":
            continue
        for seed in range(30):
            inst = instance_for(q, seed)
            result = check_answer(q, list(inst.answer) if isinstance(inst.answer, tuple) else inst.answer, seed=seed)
            assert result.score == 1.0, (q.id, seed, result.feedback)
