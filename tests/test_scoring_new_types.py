"""Scoring the imported types (issue #19) as Moodle grades them: true/false, short answer (wildcards, case,
full-width and spaces), matching (credit per pair), numeric with several answers, choice fractions, and the
author's feedback for what was given; self-rated essays and descriptions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.content.banks import parse_bank
from app.content.model import Accepted, Option, Pair, Question
from app.content.short_answers import expected_text, matches, normalize_short
from app.practice.scheduling import is_mistake
from app.scoring.check import check_answer, expected_answer

TYPES_BANK = Path(__file__).parent / "fixtures" / "types" / "types.md"
_, _QUESTIONS, _ERRORS = parse_bank(TYPES_BANK.read_text(encoding="utf-8"), str(TYPES_BANK))
assert not _ERRORS
BY = {q.id: q for q in _QUESTIONS}

json_like = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=12,
)


def short(*accepted: Accepted, case_sensitive: bool = False) -> Question:
    return dataclasses.replace(BY["t-short"], accepted=accepted, case_sensitive=case_sensitive)


# --- every new type: its expected answer scores 1, and no answer raises -----------------------------


@pytest.mark.parametrize("qid", [q.id for q in _QUESTIONS if q.type != "description" and not q.self_rated])
def test_the_expected_answer_scores_one(qid):
    q = BY[qid]
    result = check_answer(q, expected_answer(q))
    assert (result.score, result.correct, result.unreadable) == (1.0, True, None)


@settings(max_examples=150, deadline=None)
@given(answer=json_like, qid=st.sampled_from([q.id for q in _QUESTIONS if q.type != "description"]))
def test_no_answer_raises_and_a_bad_one_is_unreadable_with_a_hint(answer, qid):
    result = check_answer(BY[qid], answer)
    assert 0.0 <= result.score <= 1.0
    if result.unreadable is not None:
        assert result.score == 0.0 and result.feedback == result.unreadable


def test_a_description_is_never_scored():
    assert expected_answer(BY["t-desc"]) is None
    with pytest.raises(ValueError, match="description"):
        check_answer(BY["t-desc"], "anything")


# --- true/false -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "key"), [
    (True, "T"), (False, "F"), ("T", "T"), ("f", "F"), ("true", "T"), ("FALSE", "F"), ("对", "T"), ("错", "F"),
    ("正确", "T"), ("错误", "F"), ("ｆａｌｓｅ", "F"), (" 错。", "F"), (["F"], "F")])
def test_truefalse_reads_every_spelling(answer, key):
    result = check_answer(BY["t-tf"], answer)  # the statement is false
    assert result.details["chosen"] == [key]
    assert result.score == (1.0 if key == "F" else 0.0) and result.expected is False


def test_truefalse_shows_the_feedback_for_the_side_chosen():
    wrong = check_answer(BY["t-tf"], True)
    assert wrong.details["option_feedback"] == {"T": "推理时用的是训练阶段累计的**滑动平均**，不是当前 batch。"}
    assert "这句话是错的" in wrong.feedback
    right = check_answer(BY["t-tf"], "F")
    assert list(right.details["option_feedback"]) == ["F"]


@pytest.mark.parametrize("answer", ["maybe", "", 1, None, ["T", "F"], {"a": 1}])
def test_truefalse_unreadable(answer):
    result = check_answer(BY["t-tf"], answer)
    assert result.unreadable and "true 或 false" in result.unreadable


# --- short answer ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "score", "feedback"), [
    ("ReLU", 1.0, "对，修正线性单元。"),
    ("relu", 1.0, "对，修正线性单元。"),  # case-insensitive by default
    ("ＲｅＬＵ", 1.0, "对，修正线性单元。"),  # full-width
    ("  ReLU \n", 1.0, "对，修正线性单元。"),
    ("leaky relu", 0.5, "方向对，但它本身就叫 ReLU。"),  # *relu*
    ("ReLU6", 0.5, "方向对，但它本身就叫 ReLU。"),
    ("sigmoid", 0.0, "sigmoid 是 $1/(1+e^{-x})$。"),  # a known wrong answer with its feedback
    ("tanh", 0.0, None),
])
def test_short_first_match_gives_its_fraction_and_feedback(answer, score, feedback):
    result = check_answer(BY["t-short"], answer)
    assert result.score == score and result.expected == "ReLU"
    assert result.details.get("answer_feedback") == feedback
    assert ("参考答案是「ReLU」" in result.feedback) == (score < 1)


def test_short_case_sensitivity_is_per_question():
    q = short(Accepted(text="NCHW"), case_sensitive=True)
    assert check_answer(q, "NCHW").score == 1.0
    assert check_answer(q, "nchw").score == 0.0
    assert check_answer(dataclasses.replace(q, case_sensitive=False), "nchw").score == 1.0


def test_short_spaces_collapse_and_stars_escape():
    q = short(Accepted(text="batch   norm"), Accepted(text="3\\*3", fraction=0.5), Accepted(text="a*b", fraction=0.2))
    assert check_answer(q, "batch norm").score == 1.0
    assert check_answer(q, "batch\t\tnorm").score == 1.0
    assert check_answer(q, "batchnorm").score == 0.0  # the space is not a wildcard
    assert check_answer(q, "3*3").score == 0.5 and check_answer(q, "3x3").score == 0.0
    assert check_answer(q, "a-long-b").score == 0.2 and check_answer(q, "ab").score == 0.2


def test_short_whole_answer_must_match():
    q = short(Accepted(text="ReLU"))
    assert check_answer(q, "ReLU activation").score == 0.0
    assert check_answer(q, "the ReLU").score == 0.0


@pytest.mark.parametrize("answer", ["", "   ", None, ["ReLU"], {"a": "b"}, True, "x" * 10_001])
def test_short_unreadable(answer):
    assert check_answer(BY["t-short"], answer).unreadable


def test_short_number_sent_as_json_reads_as_text():
    assert check_answer(short(Accepted(text="42")), 42).score == 1.0


def test_expected_text_of_a_wildcard_pattern_matches_it():
    assert expected_text("*卷积*") == "卷积"
    assert expected_text("3\\*3") == "3*3"
    assert matches("a * b", expected_text("a * b"))


# Moodle's rule written another way: a pattern is literal characters and stars; a star matches any run (the
# dynamic programme of fnmatch restricted to `*`, over the same normalised text).
def _tokens(pattern: str) -> list[str | None]:
    out: list[str | None] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("\\*", i):
            out.append("*")
            i += 2
        elif pattern[i] == "*":
            out.append(None)
            i += 1
        else:
            out.append(pattern[i])
            i += 1
    return out


def _reference_match(pattern: str, text: str, case_sensitive: bool) -> bool:
    pattern, text = normalize_short(pattern), normalize_short(text)
    if not case_sensitive:
        pattern, text = pattern.lower(), text.lower()
    tokens = _tokens(pattern)
    can = [True] + [False] * len(text)  # can[j]: the tokens so far match text[:j]
    for token in tokens:
        if token is None:
            for j in range(1, len(text) + 1):
                can[j] = can[j] or can[j - 1]
        else:
            can = [False] + [can[j - 1] and text[j - 1] == token for j in range(1, len(text) + 1)]
    return can[len(text)]


_ALPHABET = st.sampled_from(list("abAB卷积 *\\.?+()[]$^|") + ["\u3000", "Ａ"])


@settings(max_examples=400, deadline=None)
@given(pattern=st.text(_ALPHABET, max_size=8), text=st.text(_ALPHABET.filter(lambda c: c != "*"), max_size=8),
       case_sensitive=st.booleans())
def test_wildcards_match_as_the_reference_translation(pattern, text, case_sensitive):
    assert matches(pattern, text, case_sensitive) == _reference_match(pattern, text, case_sensitive)


@settings(max_examples=200, deadline=None)
@given(pattern=st.text(_ALPHABET, min_size=1, max_size=8).filter(lambda p: normalize_short(p)))
def test_a_pattern_matches_its_expected_text(pattern):
    assert matches(pattern, expected_text(pattern), True)


# --- matching -------------------------------------------------------------------------------------

RIGHT = {"BatchNorm": "N、H、W", "LayerNorm": "C、H、W", "InstanceNorm": "H、W"}


def test_matching_credit_per_left_item():
    q = BY["t-match"]
    assert check_answer(q, RIGHT).score == 1.0
    two = check_answer(q, {**RIGHT, "InstanceNorm": "N、C"})  # the distractor
    assert two.score == pytest.approx(2 / 3) and not two.correct
    assert two.details["pairs"][2] == {"left": "InstanceNorm", "given": "N、C", "expected": "H、W", "ok": False}
    assert "InstanceNorm" in two.feedback
    one = check_answer(q, {"BatchNorm": "N、H、W", "LayerNorm": ""})  # unanswered items count as wrong
    assert one.score == pytest.approx(1 / 3)
    assert check_answer(q, {"BatchNorm": "N、H、W", "LayerNorm": "N、H、W", "InstanceNorm": "N、H、W"}).score == \
        pytest.approx(1 / 3)
    assert check_answer(q, {"Ｂａｔｃｈ Norm".replace(" ", ""): " N、H、W "}).score == pytest.approx(1 / 3)
    assert check_answer(q, RIGHT).expected == RIGHT


def test_matching_with_two_lefts_sharing_a_right():
    q = dataclasses.replace(BY["t-match"], pairs=(Pair("a", "1"), Pair("b", "1"), Pair("c", "2"), Pair("", "3")))
    assert check_answer(q, {"a": "1", "b": "1", "c": "2"}).score == 1.0


@pytest.mark.parametrize(("answer", "words"), [
    ("BatchNorm", "写成"), (["BatchNorm"], "写成"), ({}, "至少"), ({"GroupNorm": "C"}, "没有这一项"),
    ({"BatchNorm": "N"}, "不是可选的"), ({"BatchNorm": 3}, "一段文字"), ({"BatchNorm": ""}, "至少")])
def test_matching_unreadable(answer, words):
    result = check_answer(BY["t-match"], answer)
    assert result.unreadable and words in result.unreadable


# --- numeric with several answers -----------------------------------------------------------------


@pytest.mark.parametrize(("answer", "score", "feedback"), [
    (7, 1.0, "三层 3×3 的感受野是 7。"), ("7.0", 1.0, "三层 3×3 的感受野是 7。"), ("５", 0.5, "少算了一层。"),
    (6, 0.5, "少算了一层。"), (5.5, 0.5, "少算了一层。"), (9, 0.0, "多算了一层。"), (8, 0.0, None), (4.99, 0.0, None)])
def test_numeric_first_matching_answer_wins(answer, score, feedback):
    result = check_answer(BY["t-num"], answer)
    assert result.score == score and result.expected == 7
    assert result.details.get("answer_feedback") == feedback


def test_numeric_answers_tolerance_order_and_unit():
    q = dataclasses.replace(BY["t-num"], unit="MB", answer=3.14, accepted=(
        Accepted(value=3.14, tolerance=0.01), Accepted(value=3.0, tolerance=0.2, fraction=0.5)))
    assert check_answer(q, "3.15 MB").score == 1.0  # within both: the first wins
    assert check_answer(q, "3.13").score == 1.0
    assert check_answer(q, "2.85MB").score == 0.5
    assert check_answer(q, "3.3").score == 0.0
    assert check_answer(q, "3 GB").unreadable


# --- choice fractions and option feedback ---------------------------------------------------------


@pytest.mark.parametrize(("answer", "score"), [("A", 1.0), ("B", 0.5), ("C", 0.0), ("D", 0.0)])
def test_single_scores_the_chosen_fraction_clamped(answer, score):
    result = check_answer(BY["t-single"], answer)  # weights A 1, B 0.5, C -0.5
    assert result.score == score and result.expected == "A"


def test_single_shows_the_chosen_options_feedback():
    assert check_answer(BY["t-single"], "B").details["option_feedback"] == {"B": "那是一阶矩 $m_t$。"}
    assert "option_feedback" not in check_answer(BY["t-single"], "D").details


def multiple(weights: dict[str, float]) -> Question:
    options = tuple(Option(k, k, weights.get(k, 0) > 0, f"反馈 {k}") for k in "ABCD")
    return dataclasses.replace(BY["t-single"], type="multiple", options=options, weights=weights)


@pytest.mark.parametrize(("answer", "score"), [
    ("A,B", 1.0), ("A", 0.5), ("A,B,C", 0.0), ("A,C", 0.0), ("C", 0.0), ("A,B,D", 1.0), ("A,B,C,D", 0.0)])
def test_multiple_sums_fractions_clamped(answer, score):
    result = check_answer(multiple({"A": 0.5, "B": 0.5, "C": -1}), answer)
    assert result.score == pytest.approx(score)
    assert result.details["option_feedback"] == {k: f"反馈 {k}" for k in answer.split(",")}


# --- self-rated essays ----------------------------------------------------------------------------


def test_a_self_rated_essay_is_graded_by_nothing_but_the_rating():
    result = check_answer(BY["t-essay"], "我们发现标注噪声很多，于是……")
    assert result.score == 0.0 and result.details["self_rated"] is True and result.details["keypoints"] == []
    assert result.expected == BY["t-essay"].reference
    assert result.codes == ({"code": "self_rated"},)
    assert check_answer(BY["t-essay"], "   ").unreadable
    # the mistake rule: the candidate's rating alone (no coverage to fall short of)
    assert not is_mistake("open", 0.0, None, self_rated=True)
    assert not is_mistake("open", 0.0, "good", self_rated=True)
    assert is_mistake("open", 0.0, "again", self_rated=True)
    assert is_mistake("open", 0.0, "good")  # a graded open item below the coverage threshold still is


def test_no_regex_special_character_in_a_pattern_is_special():
    q = short(Accepted(text="a.b"), Accepted(text="(x)+", fraction=0.5))
    assert check_answer(q, "a.b").score == 1.0 and check_answer(q, "axb").score == 0.0
    assert check_answer(q, "(x)+").score == 0.5 and check_answer(q, "xx").score == 0.0


def test_the_batch_grader_refuses_a_self_rated_item(tmp_path):
    import json as _json
    import shutil

    from app.content.loader import load_content
    from app.scoring.batch import grade_line
    from tests.conftest import VALID

    shutil.copytree(VALID, tmp_path / "c")
    shutil.copy(TYPES_BANK, tmp_path / "c" / "banks" / "types.md")
    content = load_content(tmp_path / "c")
    out = grade_line(content, _json.dumps({"id": "t-essay", "answer": "讲了一个项目"}), 1)
    assert "self-rated" in out["error"]
