"""The bundled banks and rounds: valid, big enough, and every stated answer scores as right."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.content.loader import load_content, pick_round_questions
from app.content.near_duplicates import near_duplicate_warnings
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
    assert types["generated"] >= 40
    assert len({q.calculator for q in content.questions if q.type == "generated"}) >= 30
    assert types["open"] > 0


def test_no_near_duplicate_stems(content):
    """Each pair the checker finds is merged (replaces), rewritten, or allowed with a reason (not_duplicate_of)."""
    warnings = [str(w) for w in near_duplicate_warnings(content.questions)]
    assert not warnings, "\n".join(warnings)


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


def test_self_introductions_and_reverse_questions_are_not_scored(content):
    """What a candidate says about themselves, and asks at the end, is asked but never marked (`scored: false`);
    a quiz about how to introduce oneself is scored as any other."""
    assert content.unscored == {"iv-self-intro", "iv-reverse-questions"}
    assert content.by_id["iv-self-intro-tips"].scored
    for r in content.rounds:
        for section in r.sections:
            if section.title in ("自我介绍", "反问"):
                assert section.questions and all(q in content.unscored for q in section.questions), (r.id, section)


def test_stated_answers_score_as_right(content):
    for q in content.questions:
        if q.type in ("single", "multiple", "numeric", "shape", "truefalse", "short", "matching"):
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


def test_a_prompt_that_promises_suffixes_gets_them(content):
    promising = [q for q in content.questions if "K/M/G" in q.prompt]
    assert {"conv-gen-macs", "deploy-gen-macs"} <= {q.id for q in promising}
    for q in promising:
        assert q.suffixes, q.id
        if q.type == "generated":
            for seed in range(10):
                value = float(instance_for(q, seed).answer)
                # three significant figures, as a candidate writes them: within the 1% the prompt allows
                assert check_answer(q, f"{value / 1e6:.3g}M", seed=seed).score == 1.0, (q.id, seed)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_filter_is_its_plain_definition(bundled_content, data):
    """Content.filter (indexes, set algebra) against a scan of every question, over the bundled banks."""
    c = bundled_content

    def some(name: str, pool: set[str]) -> list[str]:
        return data.draw(st.lists(st.sampled_from([*sorted(pool), "nope"]), max_size=3), label=name)

    banks = some("banks", {q.bank for q in c.questions})
    topics = some("topics", {t for q in c.questions for t in q.topics})
    tags = some("tags", {t for q in c.questions for t in q.tags})
    types = some("types", {q.type for q in c.questions})
    lo, hi = data.draw(st.integers(1, 5), label="lo"), data.draw(st.integers(1, 5), label="hi")
    want = [q for q in c.questions
            if (not banks or q.bank in banks) and (not topics or set(topics) & set(q.topics))
            and (not tags or set(tags) & set(q.tags)) and (not types or q.type in types) and lo <= q.difficulty <= hi]
    assert c.filter(banks=banks, topics=topics, tags=tags, types=types, difficulty=(lo, hi)) == want
