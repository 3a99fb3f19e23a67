"""Reading typed answers: every accepted spelling, every rejected one, and no exception but ours."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.scoring.answers import AnswerFormatError, parse_choice, parse_number, parse_shape

json_like = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=12,
)


# --- parse_number ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("32", {}, 32.0),
        (" 32 ", {}, 32.0),
        ("32.0", {}, 32.0),
        ("32.", {}, 32.0),
        (".5", {}, 0.5),
        ("+3", {}, 3.0),
        ("3.2e1", {}, 32.0),
        ("3.2E1", {}, 32.0),
        ("1e-3", {}, 0.001),
        ("1,024", {}, 1024.0),
        ("1,024.5", {}, 1024.5),
        ("1 024", {}, 1024.0),
        ("1 024 000", {}, 1024000.0),
        ("1\u2009024", {}, 1024.0),  # thin space
        ("1\u202f024", {}, 1024.0),  # narrow no-break space
        ("1\u00a0024", {}, 1024.0),  # no-break space
        ("１，０２４", {}, 1024.0),
        ("３２", {}, 32.0),
        ("３２．５", {}, 32.5),
        ("\u22125", {}, -5.0),  # U+2212 minus sign
        ("-5", {}, -5.0),
        ("－5", {}, -5.0),
        ("-0.25", {}, -0.25),
        # percent: a number of its own when the unit is %, a fraction otherwise
        ("12.5%", {}, 0.125),
        ("12.5％", {}, 0.125),
        ("12.5%", {"unit": "%"}, 12.5),
        ("12.5 %", {"unit": "%"}, 12.5),
        ("12.5", {"unit": "%"}, 12.5),
        # magnitude suffixes
        ("2.36M", {"suffixes": True}, 2.36e6),
        ("2.36 M", {"suffixes": True}, 2.36e6),
        ("1k", {"suffixes": True}, 1e3),
        ("1K", {"suffixes": True}, 1e3),
        ("1.5G", {"suffixes": True}, 1.5e9),
        ("7B", {"suffixes": True}, 7e9),
        ("3万", {"suffixes": True}, 3e4),
        ("1.5亿", {"suffixes": True}, 1.5e8),
        ("１．５亿", {"suffixes": True}, 1.5e8),
        # units
        ("12 MB", {"unit": "MB"}, 12.0),
        ("12MB", {"unit": "MB"}, 12.0),
        ("12mb", {"unit": "MB"}, 12.0),
        ("12", {"unit": "MB"}, 12.0),
        ("12ｍｂ", {"unit": "MB"}, 12.0),
        ("12KB", {"unit": "B", "suffixes": True}, 12e3),
        ("2.36M params", {"unit": "params", "suffixes": True}, 2.36e6),
        # values that arrive as JSON numbers
        (32, {}, 32.0),
        (-3, {}, -3.0),
        (0.125, {}, 0.125),
    ],
)
def test_parse_number_accepts(text: Any, kwargs: dict[str, Any], expected: float) -> None:
    assert parse_number(text, **kwargs) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "kwargs", "message_part"),
    [
        ("", {}, "为空"),
        ("   ", {}, "为空"),
        ("abc", {}, "无法识别"),
        ("nan", {}, "无法识别"),
        ("inf", {}, "无法识别"),
        ("1e999", {}, "有限"),
        ("1,5", {}, "千位分隔符"),
        ("1,0244", {}, "千位分隔符"),
        ("1.2.3", {}, "无法识别"),
        ("--5", {}, "无法识别"),
        ("2.36M", {}, "不接受"),
        ("3万", {}, "不接受"),
        ("7B", {"unit": "MB", "suffixes": True}, "单位应为 MB"),
        ("12 GB", {"unit": "MB"}, "单位应为 MB"),
        ("12 GB", {}, "不用带单位"),
        ("12%", {"unit": "MB"}, "单位应为 MB"),
        ("12%%", {}, "无法识别"),
        ("x" * 10_001, {}, "太长"),
        (True, {}, "true/false"),
        (False, {}, "true/false"),
        (None, {}, "数字"),
        ([1], {}, "数字"),
        ({"value": 1}, {}, "数字"),
        (float("nan"), {}, "有限"),
        (float("inf"), {}, "有限"),
        (10**400, {}, "太大"),
    ],
)
def test_parse_number_rejects(text: Any, kwargs: dict[str, Any], message_part: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_number(text, **kwargs)
    assert message_part in info.value.message_zh


def test_parse_number_handles_a_megabyte_quickly() -> None:
    with pytest.raises(AnswerFormatError):
        parse_number("1" * 1_000_000)


# --- parse_shape -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(1, 64, 56, 56)", (1, 64, 56, 56)),
        ("[64,56,56]", (64, 56, 56)),
        ("64×56×56", (64, 56, 56)),
        ("64 × 56 × 56", (64, 56, 56)),
        ("64x56x56", (64, 56, 56)),
        ("64 x 56 x 56", (64, 56, 56)),
        ("64X56X56", (64, 56, 56)),
        ("64*56*56", (64, 56, 56)),
        ("1,64,56,56", (1, 64, 56, 56)),
        ("1 64 56 56", (1, 64, 56, 56)),
        ("torch.Size([1, 64, 56, 56])", (1, 64, 56, 56)),
        ("Size([1, 64, 56, 56])", (1, 64, 56, 56)),
        ("（１，６４，５６，５６）", (1, 64, 56, 56)),
        ("［６４，５６，５６］", (64, 56, 56)),
        ("６４×５６×５６", (64, 56, 56)),
        ("６４ｘ５６ｘ５６", (64, 56, 56)),
        ("６４＊５６＊５６", (64, 56, 56)),
        ("(64,)", (64,)),
        ("  (1, 64, 56, 56)  ", (1, 64, 56, 56)),
        ([1, 64, 56, 56], (1, 64, 56, 56)),
        ((64, 56, 56), (64, 56, 56)),
        (["1", "64"], (1, 64)),
        ("(0, 3)", (0, 3)),  # readable, if unlikely: judged by check_answer, not here
    ],
)
def test_parse_shape_accepts(text: Any, expected: tuple[int, ...]) -> None:
    assert parse_shape(text) == expected


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("", "为空"),
        ("()", "为空"),
        ([], "为空"),
        ("[1.5, 2]", "整数"),
        ("64.0x56", "整数"),
        ([1.0, 2.0], "整数"),
        ([True, 2], "整数"),
        ("[-1, 64]", "负数"),
        ([-1, 64], "负数"),
        ("1,2,3,4,5,6,7,8,9", "最多 8 维"),
        (list(range(1, 10)), "最多 8 维"),
        ("(1,,2)", "空的维度"),
        ("abc", "整数"),
        ("1;2;3", "整数"),
        ("x" * 10_001, "太长"),
        ("[99999999999999999999]", "整数"),
        ([10**20], "太大"),
        (None, "形状"),
        (64, "形状"),
        ({"shape": [1, 2]}, "形状"),
        ([[1, 2]], "整数"),
    ],
)
def test_parse_shape_rejects(text: Any, message_part: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_shape(text)
    assert message_part in info.value.message_zh


# --- parse_choice ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("B", ("B",)),
        ("b", ("B",)),
        (" B ", ("B",)),
        ("Ｂ", ("B",)),
        (["A", "C"], ("A", "C")),
        (["c", "a"], ("A", "C")),
        (("A", "C"), ("A", "C")),
        ("A,C", ("A", "C")),
        ("A, C", ("A", "C")),
        ("A，C", ("A", "C")),
        ("AC", ("A", "C")),
        ("CA", ("A", "C")),
        ("A C", ("A", "C")),
        ("A、C", ("A", "C")),
        ("A;C", ("A", "C")),
        ("A/C", ("A", "C")),
        ("c,a,a", ("A", "C")),
        (["A", "A"], ("A",)),
    ],
)
def test_parse_choice_accepts(answer: Any, expected: tuple[str, ...]) -> None:
    assert parse_choice(answer) == expected


@pytest.mark.parametrize(
    ("answer", "message_part"),
    [
        ("", "至少选择"),
        ([], "至少选择"),
        (" , ", "至少选择"),
        ("A1", "无法识别选项"),
        ("选B", "无法识别选项"),
        (None, "选项字母"),
        (1, "选项字母"),
        (True, "选项字母"),
        ({"A": True}, "选项字母"),
        ([1], "选项字母"),
        (["A", None], "选项字母"),
        (["A"] * 27, "太多"),
        ("A" * 10_001, "太长"),
    ],
)
def test_parse_choice_rejects(answer: Any, message_part: str) -> None:
    with pytest.raises(AnswerFormatError) as info:
        parse_choice(answer)
    assert message_part in info.value.message_zh


# --- nothing but AnswerFormatError ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(value=json_like, suffixes=st.booleans(), unit=st.none() | st.sampled_from(["%", "MB", "B", "个"]))
def test_parsers_raise_only_answer_format_error(value: Any, suffixes: bool, unit: str | None) -> None:
    for parse in (
        lambda v: parse_number(v, suffixes=suffixes, unit=unit),
        parse_shape,
        parse_choice,
    ):
        try:
            parse(value)
        except AnswerFormatError as exc:
            assert exc.message_zh


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789,. -−+eE%KkMGB万亿xX×*()[]，．（）　"), max_size=30))
def test_number_like_text_raises_only_answer_format_error(text: str) -> None:
    for parse in (lambda v: parse_number(v, suffixes=True, unit=None), parse_shape, parse_choice):
        with contextlib.suppress(AnswerFormatError):
            parse(text)
