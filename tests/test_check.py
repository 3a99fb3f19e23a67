"""check_answer for every question type: scores, feedback, details, and no exception for any answer."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import calculators
from app.content.model import KeyPoint, Option, Question
from app.scoring.answers import AnswerFormatError
from app.scoring.check import (
    OPEN_CORRECT_THRESHOLD,
    CheckResult,
    check_answer,
    expected_answer,
    instance_for,
)
from app.scoring.open_grader import FULL_MARKS_COVERAGE

json_like = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=12,
)

_BASE: dict[str, Any] = {
    "id": "q-test",
    "bank": "test",
    "type": "single",
    "title": "测试题",
    "prompt": "题面",
    "explanation": "解析",
    "difficulty": 2,
    "topics": ("测试",),
    "tags": (),
    "source": "test",
}


def _options(correct: str, keys: str = "ABCD") -> tuple[Option, ...]:
    return tuple(Option(k, f"选项 {k}", k in correct) for k in keys)


_DEFAULTS: dict[str, dict[str, Any]] = {
    "single": {"options": _options("B")},
    "multiple": {"options": _options("AC")},
    "numeric": {"answer": 1792.0},
    "shape": {"answer": (1, 64, 56, 56), "order": "NCHW"},
    "open": {
        "reference": "BN 对每个通道做标准化，再做可学习的仿射变换，推理时用滑动平均。",
        "keypoints": (
            KeyPoint("按通道统计", ("通道", "channel")),
            KeyPoint("减均值除标准差", ("均值", "mean", "方差", "标准差")),
            KeyPoint("可学习的缩放平移", ("gamma", "beta", "缩放", "平移", "仿射")),
        ),
    },
    "generated": {
        "calculator": "conv2d_output_shape",
        "params": {
            "in_channels": [3, 16],
            "height": {"min": 16, "max": 64},
            "kernel_size": [3, 5],
            "stride": [1, 2],
        },
    },
}


def make_question(**overrides: Any) -> Question:
    """A valid question of `type` (default single) with the per-type defaults, then `overrides`."""
    qtype = overrides.get("type", "single")
    return Question(**{**_BASE, "type": qtype, **_DEFAULTS[qtype], **overrides})


def assert_zero(result: CheckResult, message_part: str) -> None:
    assert result.score == 0.0 and result.correct is False
    assert message_part in result.feedback


# --- single ------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["B", "b", " B ", "Ｂ", ["B"], ["b"]])
def test_single_right(answer: Any) -> None:
    result = check_answer(make_question(), answer)
    assert (result.score, result.correct, result.expected) == (1.0, True, "B")
    assert result.details == {"chosen": ["B"], "correct": ["B"]}


def test_single_wrong_says_both_keys() -> None:
    result = check_answer(make_question(), "a")
    assert_zero(result, "正确答案是 B，你选的是 A")
    assert result.details == {"chosen": ["A"], "correct": ["B"]}


def test_single_with_two_keys_scores_zero() -> None:
    assert_zero(check_answer(make_question(), "A,B"), "只能选一个")


def test_single_unknown_key_is_named() -> None:
    assert_zero(check_answer(make_question(), "E"), "没有选项 E")


# --- multiple (Moodle partial credit) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("correct", "keys", "answer", "score"),
    [
        ("AC", "ABCD", "A,C", 1.0),
        ("AC", "ABCD", "AC", 1.0),
        ("AC", "ABCD", ["c", "a"], 1.0),
        ("AC", "ABCD", "A", 0.5),
        ("AC", "ABCD", "A,B", 0.0),  # +1/2 - 1/2
        ("AC", "ABCD", "A,B,C", 0.5),  # +1 - 1/2
        ("AC", "ABCD", "ABCD", 0.0),  # +1 - 1
        ("AC", "ABCD", "B", 0.0),  # clamped at 0, not -1/2
        ("AC", "ABCD", "BD", 0.0),
        ("ABC", "ABCD", "AB", 2 / 3),
        ("ABC", "ABCD", "ABD", 0.0),  # +2/3 - 1 -> 0
        ("ABC", "ABCDE", "ABCD", 0.5),  # +1 - 1/2
        ("AB", "AB", "A", 0.5),  # no wrong options: nothing to subtract
        ("AB", "AB", "AB", 1.0),
    ],
)
def test_multiple_partial_credit(correct: str, keys: str, answer: Any, score: float) -> None:
    result = check_answer(make_question(type="multiple", options=_options(correct, keys)), answer)
    assert result.score == pytest.approx(score)
    assert result.correct is (score == 1.0)
    assert result.expected == sorted(correct)


def test_multiple_feedback_names_missed_and_wrong() -> None:
    result = check_answer(make_question(type="multiple"), "A,B")
    assert result.feedback == "选对了 A；漏选了 C；错选了 B。正确答案是 A、C。"
    assert result.details == {"chosen": ["A", "B"], "correct": ["A", "C"]}
    assert check_answer(make_question(type="multiple"), "CA").feedback == "全部选对。"


@pytest.mark.parametrize(
    ("answer", "score"),
    [("A", 0.5), ("A,B", 1.0), ("A,B,C", 0.0), ("C", 0.0), ("B,D", 0.5)],
)
def test_multiple_weights_override_shares(answer: str, score: float) -> None:
    q = make_question(type="multiple", options=_options("AB"), weights={"A": 0.5, "B": 0.5, "C": -1.0})
    assert check_answer(q, answer).score == pytest.approx(score)


def test_multiple_unknown_keys_score_zero() -> None:
    result = check_answer(make_question(type="multiple"), "A,C,X,Y")
    assert_zero(result, "没有选项 X、Y")
    assert "A、B、C、D" in result.feedback


# --- numeric -----------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["1792", 1792, 1792.0, "1,792", "１７９２", " 1792 ", "1.792e3", "1 792"])
def test_numeric_exact(answer: Any) -> None:
    result = check_answer(make_question(type="numeric"), answer)
    assert (result.score, result.correct, result.expected) == (1.0, True, 1792)
    assert result.details["expected"] == 1792 and result.details["tolerance"] == 0.0


@pytest.mark.parametrize(
    ("answer", "part"),
    [("1800", "你的答案 1800 偏大，正确答案是 1792"), ("1700", "偏小"), ("1.8K", "不接受")],
)
def test_numeric_wrong(answer: str, part: str) -> None:
    assert_zero(check_answer(make_question(type="numeric"), answer), part)


@pytest.mark.parametrize(
    ("overrides", "answer", "ok"),
    [
        ({"answer": 0.2381, "tolerance": 0.01}, "0.24", True),
        ({"answer": 0.2381, "tolerance": 0.01}, "0.2481", True),
        ({"answer": 0.2381, "tolerance": 0.01}, "0.25", False),
        ({"answer": 0.2381, "tolerance": 0.01}, "23.81%", True),
        ({"answer": 23.81, "unit": "%", "tolerance": 0.1}, "23.8%", True),
        ({"answer": 23.81, "unit": "%", "tolerance": 0.1}, "23.8", True),
        ({"answer": 2360000, "rel_tolerance": 0.01, "suffixes": True}, "2.36M", True),
        ({"answer": 2360000, "rel_tolerance": 0.01, "suffixes": True}, "236万", True),
        ({"answer": 2360000, "rel_tolerance": 0.01, "suffixes": True}, "2.3M", False),
        # either tolerance passes
        ({"answer": 100, "tolerance": 5, "rel_tolerance": 0.01}, "104", True),
        ({"answer": 100, "tolerance": 0.5, "rel_tolerance": 0.02}, "101.5", True),
        ({"answer": 100, "tolerance": 0.5, "rel_tolerance": 0.01}, "101.5", False),
        ({"answer": 0.3}, "0.30000000000000004", True),  # float noise is not a wrong answer
        ({"answer": 12.5, "unit": "MB"}, "12.5 MB", True),
        ({"answer": -3}, "−3", True),
    ],
)
def test_numeric_tolerances(overrides: dict[str, Any], answer: str, ok: bool) -> None:
    result = check_answer(make_question(type="numeric", **overrides), answer)
    assert result.correct is ok and result.score == (1.0 if ok else 0.0)


def test_numeric_feedback_mentions_tolerance_and_unit() -> None:
    q = make_question(type="numeric", answer=12.5, unit="MB", tolerance=0.1)
    assert check_answer(q, "13").feedback == "你的答案 13 MB 偏大，正确答案是 12.5 MB（允许误差 ±0.1）。"
    assert_zero(check_answer(q, "13 GB"), "单位应为 MB")


# --- shape -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    ["(1, 64, 56, 56)", "1×64×56×56", "torch.Size([1, 64, 56, 56])", [1, 64, 56, 56], "1,64,56,56"],
)
def test_shape_right(answer: Any) -> None:
    result = check_answer(make_question(type="shape"), answer)
    assert (result.score, result.correct, result.expected) == (1.0, True, [1, 64, 56, 56])
    assert [d["name"] for d in result.details["dims"]] == list("NCHW")


def test_shape_names_each_wrong_dim() -> None:
    result = check_answer(make_question(type="shape"), "(1, 63, 56, 28)")
    assert_zero(result, "第 2 维（C）应为 64，你写的是 63；第 4 维（W）应为 56，你写的是 28。")
    assert result.details["dims"][1] == {"index": 1, "name": "C", "expected": 64, "given": 63, "ok": False}
    assert [d["ok"] for d in result.details["dims"]] == [True, False, True, False]


def test_shape_wrong_number_of_dims() -> None:
    assert_zero(check_answer(make_question(type="shape"), "64×56×56"), "应为 4 维（NCHW），你写了 3 维")
    assert_zero(check_answer(make_question(type="shape"), "1×1×64×56×56"), "你写了 5 维")


@pytest.mark.parametrize(("answer", "ok"), [("64×56×56", True), ("(1,64,56,56)", True), ("64×28×56", False)])
def test_shape_batch_optional(answer: str, ok: bool) -> None:
    result = check_answer(make_question(type="shape", batch_optional=True), answer)
    assert result.correct is ok


def test_shape_batch_optional_names_dims_without_batch() -> None:
    result = check_answer(make_question(type="shape", batch_optional=True), "64×28×56")
    assert result.feedback == "第 2 维（H）应为 56，你写的是 28。"
    assert [d["name"] for d in result.details["dims"]] == list("CHW")
    assert_zero(check_answer(make_question(type="shape", batch_optional=True), "56×56"), "也可省略第 1 维 N")


def test_shape_without_order_has_unnamed_dims() -> None:
    result = check_answer(make_question(type="shape", order=None, answer=(64, 56, 56)), "64×56×55")
    assert result.feedback == "第 3 维应为 56，你写的是 55。"


# --- open --------------------------------------------------------------------------------------


def test_open_full_coverage_in_chinese() -> None:
    result = check_answer(make_question(type="open"), "对每个通道求均值和方差，标准化后再做缩放和平移。")
    assert result.score == 1.0 and result.correct
    assert result.feedback == "覆盖了 3/3 个要点。"
    assert result.expected.startswith("BN 对每个通道")
    assert result.details["coverage"] == 1.0 and result.details["grader"] == "builtin"
    assert result.codes == ({"code": "open_coverage", "covered": 3, "named": 0, "total": 3},)


def test_open_partial_coverage_lists_missing_points() -> None:
    result = check_answer(make_question(type="open"), "Compute the mean per channel.")
    assert result.details["coverage"] == pytest.approx(2 / 3, abs=1e-4) and result.correct  # 0.67 >= 0.6
    assert result.score == pytest.approx((2 / 3) / FULL_MARKS_COVERAGE)  # two of three points: 0.74
    assert result.feedback == "覆盖了 2/3 个要点；还可以谈谈：可学习的缩放平移。"
    hits = result.details["keypoints"]
    assert [h["verdict"] for h in hits] == ["covered", "covered", "missing"]
    assert hits[0] == {"label": "按通道统计", "statement": "", "weight": 1.0, "verdict": "covered", "hit": True,
                       "evidence": "compute the mean per channel", "matched": "channel", "how": "exact"}
    assert {"code": "open_missing", "points": ["可学习的缩放平移"]} in result.codes


def test_open_fuzzy_english_typo() -> None:
    result = check_answer(make_question(type="open"), "normalise each chanel, then scale with gamma")
    assert [h["how"] for h in result.details["keypoints"]] == ["fuzzy", None, "exact"]


def test_open_below_threshold_is_not_correct() -> None:
    result = check_answer(make_question(type="open"), "和通道有关")
    assert result.score == pytest.approx((1 / 3) / FULL_MARKS_COVERAGE)
    assert result.score < OPEN_CORRECT_THRESHOLD
    assert result.correct is False


@pytest.mark.parametrize(
    ("answer", "part"), [("", "为空"), ("  \n", "为空"), (42, "文字"), ("字" * 100_001, "太长")]
)
def test_open_unreadable(answer: Any, part: str) -> None:
    assert_zero(check_answer(make_question(type="open"), answer), part)


# --- generated ---------------------------------------------------------------------------------


def test_instance_for_draws_the_calculator() -> None:
    q = make_question(type="generated")
    inst = instance_for(q, 3)
    assert inst == calculators.draw("conv2d_output_shape", q.params, 3)
    assert inst.kind == "shape" and inst.order == "NCHW"
    assert expected_answer(q, seed=3) == list(inst.answer)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(5))
def test_generated_shape(seed: int) -> None:
    q = make_question(type="generated")
    shape = list(instance_for(q, seed).answer)  # type: ignore[arg-type]
    right = check_answer(q, "×".join(map(str, shape)), seed=seed)
    assert right.correct and right.expected == shape
    assert right.details["seed"] == seed and right.details["params"]["kernel_size"] in (3, 5)

    wrong = list(shape)
    wrong[2] += 1
    result = check_answer(q, wrong, seed=seed)
    assert_zero(result, f"第 3 维（H）应为 {shape[2]}，你写的是 {shape[2] + 1}")
    assert result.details["dims"][2]["ok"] is False and result.details["seed"] == seed


def test_generated_numeric_uses_instance_tolerance() -> None:
    q = make_question(type="generated", calculator="precision_recall_f1", params={})
    inst = instance_for(q, 11)
    assert inst.kind == "numeric" and inst.tolerance > 0
    value = float(inst.answer)  # type: ignore[arg-type]
    assert check_answer(q, str(value + inst.tolerance * 0.9), seed=11).correct
    result = check_answer(q, str(value + inst.tolerance * 3 + 0.01), seed=11)
    assert_zero(result, "偏大")
    assert result.details["tolerance"] == inst.tolerance and result.details["seed"] == 11


def test_generated_numeric_exact() -> None:
    q = make_question(
        type="generated",
        calculator="conv2d_params",
        params={"in_channels": 3, "out_channels": 64, "kernel_size": 3, "bias": True},
    )
    result = check_answer(q, "1,792", seed=0)
    assert result.correct and result.expected == 1792


def test_generated_numeric_suffixes_follow_the_numeric_rules() -> None:
    params = {"in_channels": 64, "out_channels": 128, "height": 56, "kernel_size": 3, "ask": "macs"}
    q = make_question(type="generated", calculator="conv2d_macs", params=params, suffixes=True)
    assert instance_for(q, 0).answer == 231_211_008  # 128·56·56·64·9, within 1%
    assert check_answer(q, "231M", seed=0).correct and check_answer(q, "2.31亿", seed=0).correct
    assert check_answer(q, "0.231G", seed=0).correct and check_answer(q, "231,211,008", seed=0).correct
    assert_zero(check_answer(q, "2.2亿", seed=0), "偏小")
    without = make_question(type="generated", calculator="conv2d_macs", params=params)
    assert_zero(check_answer(without, "231M", seed=0), "数量级后缀")


def test_generated_needs_a_seed() -> None:
    assert_zero(check_answer(make_question(type="generated"), "(1, 2, 3, 4)"), "缺少 seed")
    assert_zero(check_answer(make_question(type="generated"), "(1, 2, 3, 4)", seed=True), "seed")  # type: ignore[arg-type]
    with pytest.raises(AnswerFormatError):
        expected_answer(make_question(type="generated"))


def test_generated_unreadable_answer_keeps_instance_details() -> None:
    result = check_answer(make_question(type="generated"), "abc", seed=1)
    assert result.score == 0.0 and result.details["seed"] == 1 and "error" in result.details
    assert result.expected == list(instance_for(make_question(type="generated"), 1).answer)  # type: ignore[arg-type]


# --- expected_answer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"type": "single"}, "B"),
        ({"type": "multiple"}, ["A", "C"]),
        ({"type": "numeric"}, 1792),
        ({"type": "numeric", "answer": 0.125}, 0.125),
        ({"type": "shape"}, [1, 64, 56, 56]),
        ({"type": "shape", "answer": "(1, 64, 56, 56)"}, [1, 64, 56, 56]),
    ],
)
def test_expected_answer(overrides: dict[str, Any], expected: Any) -> None:
    assert expected_answer(make_question(**overrides)) == expected


def test_check_result_is_frozen() -> None:
    result = check_answer(make_question(), "B")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 0.5  # type: ignore[misc]


# --- never raises ------------------------------------------------------------------------------

_MALFORMED = [
    None,
    True,
    {},
    {"a": 1},
    [None],
    [[1, 2]],
    float("nan"),
    float("inf"),
    "x" * 1_000_000,
    "",
    "\ud800",
    "批归一化\udfff",
    [],
    10**400,
]


@pytest.mark.parametrize("qtype", ["single", "multiple", "numeric", "shape", "open", "generated"])
@pytest.mark.parametrize("answer", _MALFORMED, ids=lambda a: repr(a)[:20])
def test_malformed_answers_score_zero(qtype: str, answer: Any) -> None:
    result = check_answer(make_question(type=qtype), answer, seed=0)
    assert result.score == 0.0 and result.correct is False and result.feedback


@pytest.mark.parametrize("qtype", ["single", "multiple", "numeric", "shape", "open", "generated"])
@settings(max_examples=150, deadline=None)
@given(answer=json_like, seed=st.none() | st.integers(min_value=0, max_value=2**31))
def test_check_answer_never_raises(qtype: str, answer: Any, seed: int | None) -> None:
    result = check_answer(make_question(type=qtype), answer, seed=seed)
    assert 0.0 <= result.score <= 1.0
    assert result.correct is (result.score >= (OPEN_CORRECT_THRESHOLD if qtype == "open" else 0.999))
    assert isinstance(result.feedback, str) and result.feedback
