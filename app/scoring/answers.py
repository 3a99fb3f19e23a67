"""Parse what people type into numbers, shapes and option keys.

Every public function raises only `AnswerFormatError` (with a short Chinese message) whatever it is
given, so callers can turn any bad input into feedback instead of a 500.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from app.content.short_answers import normalize_short

MAX_TEXT_LEN = 10_000  # a number, a shape or option keys
MAX_OPEN_TEXT_LEN = 100_000  # an open answer (~35 ms of key-point scoring); MIANJING_MAX_ANSWER_CHARS is lower
MAX_DIMS = 8
MAX_DIM = 10**12  # far above any real tensor; stops absurd ints from reaching formatting code

SUFFIXES: dict[str, float] = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9, "万": 1e4, "亿": 1e8}

# Signs and separators NFKC leaves alone but people paste from Word, Excel or PDFs.
_TRANSLATE = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u00d7": "×", "\u2715": "×"})

# Plain digits, or digits grouped by three with "," or a space ("1,024", "1 024 000").
_NUMBER_RE = re.compile(
    r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:\.\d*)?(?:e[+-]?\d+)?"
    r"|[+-]?\.\d+(?:e[+-]?\d+)?",
    re.IGNORECASE,
)
_TRAILING_RE = re.compile(r"^(.*?\d\.?)\s*([^\d\s.][^\d]*)?$", re.DOTALL)


class AnswerFormatError(ValueError):
    """The answer could not be read; `message_zh` is shown to the user as is."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


def normalize_text(text: str) -> str:
    """Full-width to half-width (NFKC), odd minus signs to '-', outer whitespace trimmed."""
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE).strip()


def has_lone_surrogate(text: str) -> bool:
    """JSON's "\\ud800" escape decodes to a lone surrogate: no text, and it cannot be encoded, so neither the
    tokenizer, PostgreSQL nor a UTF-8 response can take it."""
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def text_problem(text: str) -> str | None:
    """Why `text` is not text the service can store or send, or None. A NUL (JSON's \\u0000, a URL's %00) is
    refused by PostgreSQL in text columns; a lone surrogate by every encoding."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which is not text"
    if has_lone_surrogate(text):
        return "contains a lone surrogate (a \\ud800-\\udfff escape), which is not text"
    return None


# orjson and pydantic write at most 255 levels of lists and objects, and a stored answer sits a few levels
# down in every response that carries it; MIANJING_MAX_JSON_DEPTH stays below this.
MAX_READABLE_DEPTH = 128


def answer_problem(value: Any, *, max_depth: int, max_chars: int) -> str | None:
    """Why a free-form answer (any JSON value) cannot be taken, or None: a string in it (an object key too)
    that is no text, lists and objects nested more than `max_depth` levels, or more than `max_chars`
    characters in all its strings together. One walk, without recursion, over what json.loads made."""
    if isinstance(value, str):  # the common case: one typed answer
        return (f"is {len(value)} characters long; at most {max_chars} are accepted" if len(value) > max_chars
                else text_problem(value))
    chars = 0
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        v, depth = todo.pop()
        if isinstance(v, str):
            chars += len(v)
            if chars > max_chars:
                return f"has more than {max_chars} characters in its text; at most {max_chars} are accepted"
            if problem := text_problem(v):
                return problem
        elif isinstance(v, list | dict):
            if depth >= max_depth:
                return f"is nested more than {max_depth} levels deep (lists and objects)"
            todo.extend((item, depth + 1) for item in v)  # a dict's keys: strings, checked as text
            if isinstance(v, dict):
                todo.extend((item, depth + 1) for item in v.values())
    return None


def readable_answer(value: Any) -> bool:
    """Whether a stored answer can be sent back: an older version stored answers of any nesting."""
    if not isinstance(value, list | dict):
        return True
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        v, depth = todo.pop()
        if depth > MAX_READABLE_DEPTH:
            return False
        items = v.values() if isinstance(v, dict) else v
        todo.extend((item, depth + 1) for item in items if isinstance(item, list | dict))
    return True


def check_text(text: str, max_len: int = MAX_TEXT_LEN) -> None:
    """Refuse text that is too long, or that is no text at all."""
    if len(text) > max_len:
        raise AnswerFormatError(f"答案太长了（超过 {max_len} 个字符）。")
    if has_lone_surrogate(text):
        raise AnswerFormatError("答案里有无效的字符（不成对的代理码位），请重新输入。")


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise AnswerFormatError("答案必须是有限的数字。")
    return value


def parse_number(text: Any, *, suffixes: bool = False, unit: str | None = None) -> float:
    """Read one number.

    Percent: when the question's unit is "%", "12.5%" and "12.5" both mean 12.5; otherwise a trailing
    "%" divides by 100, so "12.5%" reads as 0.125 (a precision of 0.125 may be typed either way).
    """
    if isinstance(text, bool):
        raise AnswerFormatError("请填写一个数字，而不是 true/false。")
    if isinstance(text, int):
        try:
            return _finite(float(text))
        except OverflowError:
            raise AnswerFormatError("数字太大了。") from None
    if isinstance(text, float):
        return _finite(text)
    if not isinstance(text, str):
        raise AnswerFormatError("请填写一个数字。")
    check_text(text)
    s = normalize_text(text)
    if not s:
        raise AnswerFormatError("答案为空，请填写一个数字。")

    unit_norm = normalize_text(unit) if unit else ""
    # The question's own unit is optional in the answer: strip it first so "12 MB" and "12mb" read as 12.
    if unit_norm and unit_norm != "%" and s.lower().endswith(unit_norm.lower()) and len(s) > len(unit_norm):
        s = s[: -len(unit_norm)].rstrip()

    scale = 1.0
    if s.endswith("%"):
        if unit_norm and unit_norm != "%":
            raise AnswerFormatError(f"单位应为 {unit_norm}，不是 %。")
        s = s[:-1].rstrip()
        if unit_norm != "%":
            scale = 0.01
    elif (
        s and s[-1] in SUFFIXES and _NUMBER_RE.fullmatch(s[:-1].rstrip()) and (s[-1] != "B" or not unit_norm)
    ):
        # "B" (billion) only without a unit: with a unit it is far more likely to mean bytes.
        if not suffixes:
            raise AnswerFormatError("这里不接受 K/M/G/万/亿 这样的数量级后缀，请写出完整的数字。")
        scale = SUFFIXES[s[-1]]
        s = s[:-1].rstrip()

    if _NUMBER_RE.fullmatch(s):
        try:
            value = float(s.replace(",", "").replace(" ", "")) * scale
        except (ValueError, OverflowError):
            raise AnswerFormatError("无法识别这个数字。") from None
        return _finite(value)

    # Not a plain number: explain the most likely reason.
    m = _TRAILING_RE.match(s)
    if (
        m
        and m.group(2)
        and any(c.isalpha() for c in m.group(2))
        and _NUMBER_RE.fullmatch(m.group(1).rstrip())
    ):
        tail = m.group(2).strip()
        if unit_norm:
            raise AnswerFormatError(f"单位应为 {unit_norm}，你写的是 {tail[:20]}。")
        raise AnswerFormatError(f"这里只需要填数字，不用带单位（{tail[:20]}）。")
    if re.search(r"\d,\d", s):
        raise AnswerFormatError("无法识别这个数字：千位分隔符应为每三位一个逗号，小数点请用“.”。")
    raise AnswerFormatError("无法识别这个数字，请只填写一个数字，例如 32、0.5 或 1e-3。")


_SHAPE_PREFIX_RE = re.compile(r"^(?:torch\.)?size\s*", re.IGNORECASE)
_SHAPE_SPLIT_RE = re.compile(r"\s*[,×xX*]\s*|\s+")


def _shape_dim(token: Any) -> int:
    if isinstance(token, bool):
        raise AnswerFormatError("形状的每一维都应是整数。")
    if isinstance(token, int):
        value = token
    elif isinstance(token, str):
        t = normalize_text(token)
        if re.fullmatch(r"-\d+", t):
            raise AnswerFormatError("维度不能是负数。")
        if not re.fullmatch(r"\d{1,15}", t):
            raise AnswerFormatError(f"形状的每一维都应是整数，无法识别“{t[:20]}”。")
        value = int(t)
    else:
        raise AnswerFormatError("形状的每一维都应是整数。")
    if value < 0:
        raise AnswerFormatError("维度不能是负数。")
    if value > MAX_DIM:
        raise AnswerFormatError("维度数值太大了。")
    return value


def parse_shape(answer: Any) -> tuple[int, ...]:
    """Read a tensor shape written as a tuple, list, product (64×56×56) or torch.Size([...])."""
    if isinstance(answer, (list, tuple)):
        items: list[Any] = list(answer)
        if len(items) > MAX_DIMS:
            raise AnswerFormatError(f"形状最多 {MAX_DIMS} 维。")
    elif isinstance(answer, str):
        check_text(answer)
        s = _SHAPE_PREFIX_RE.sub("", normalize_text(answer))
        # Peel matching brackets: "([1, 64])" from torch.Size, "(1, 64)", "[64]".
        while len(s) >= 2 and (s[0], s[-1]) in {("(", ")"), ("[", "]")}:
            s = s[1:-1].strip()
        if not s:
            raise AnswerFormatError("答案为空，请填写形状，例如 (1, 64, 56, 56)。")
        items = _SHAPE_SPLIT_RE.split(s)
        if items and items[-1] == "":
            items.pop()  # "(64,)" is a valid one-dim tuple
        if len(items) > MAX_DIMS:
            raise AnswerFormatError(f"形状最多 {MAX_DIMS} 维。")
        if any(t == "" for t in items):
            raise AnswerFormatError("形状里有空的维度，请检查分隔符。")
    else:
        raise AnswerFormatError("请填写形状，例如 (1, 64, 56, 56)。")
    if not items:
        raise AnswerFormatError("答案为空，请填写形状，例如 (1, 64, 56, 56)。")
    return tuple(_shape_dim(t) for t in items)


_CHOICE_SEP_RE = re.compile(r"[\s,、;/|+&.]+")


def _choice_keys(text: str) -> list[str]:
    check_text(text)
    s = _CHOICE_SEP_RE.sub("", normalize_text(text)).upper()
    bad = [c for c in s if not ("A" <= c <= "Z")]
    if bad:
        raise AnswerFormatError(f"无法识别选项“{''.join(bad)[:20]}”，请填写选项字母，例如 B 或 A,C。")
    return list(s)


def parse_choice(answer: Any) -> tuple[str, ...]:
    """Read option keys ("B", "a,c", "AC", ["A", "C"]); upper-cased, de-duplicated, sorted."""
    if isinstance(answer, str):
        keys = _choice_keys(answer)
    elif isinstance(answer, (list, tuple)):
        if len(answer) > 26:
            raise AnswerFormatError("选项太多了。")
        keys = []
        for item in answer:
            if not isinstance(item, str):
                raise AnswerFormatError('请用选项字母作答，例如 ["A", "C"]。')
            keys.extend(_choice_keys(item))
    else:
        raise AnswerFormatError("请用选项字母作答，例如 B 或 A,C。")
    if not keys:
        raise AnswerFormatError("请至少选择一个选项。")
    return tuple(sorted(set(keys)))


_TRUE_WORDS = {"t", "true", "对", "正确", "是"}
_FALSE_WORDS = {"f", "false", "错", "错误", "否"}


def parse_truefalse(answer: Any) -> str:
    """Read a true/false answer as its option key "T" or "F": a JSON boolean, or T/F, true/false, 对/错,
    正确/错误 (any case, full-width too)."""
    if isinstance(answer, bool):
        return "T" if answer else "F"
    if isinstance(answer, list) and len(answer) == 1:  # a choice form's one ticked box
        answer = answer[0]
    if not isinstance(answer, str):
        raise AnswerFormatError("请回答 true 或 false（对 / 错）。")
    check_text(answer)
    word = normalize_text(answer).lower().rstrip("。.!！")
    if word in _TRUE_WORDS:
        return "T"
    if word in _FALSE_WORDS:
        return "F"
    if not word:
        raise AnswerFormatError("答案为空，请回答 true 或 false（对 / 错）。")
    raise AnswerFormatError(f"无法识别“{word[:20]}”，请回答 true 或 false（对 / 错）。")


def parse_short(answer: Any) -> str:
    """A short answer's text (a number sent as JSON reads as its digits)."""
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        answer = str(answer)
    if not isinstance(answer, str):
        raise AnswerFormatError("请用一段文字作答。")
    check_text(answer)
    if not answer.strip():
        raise AnswerFormatError("答案为空。")
    return answer


def parse_matching(answer: Any, lefts: list[str], rights: list[str]) -> dict[str, str]:
    """A matching answer: {left item: the right choice picked for it}, read back to the question's own texts
    (compared as short answers are: NFKC, white space runs as one space). Unanswered items may be left out or
    given as "" (or null); a left or right that the question does not have is refused, naming it."""
    if not isinstance(answer, dict):
        raise AnswerFormatError('请为每一项选一个配对，写成 {"左边": "右边"}。')
    by_left = {normalize_short(t): t for t in lefts}
    by_right = {normalize_short(t): t for t in rights}
    picked: dict[str, str] = {}
    for left, right in answer.items():
        if not isinstance(left, str) or len(left) > MAX_TEXT_LEN or normalize_short(left) not in by_left:
            raise AnswerFormatError(f"没有这一项：“{str(left)[:40]}”。")
        if right is None or right == "":
            continue
        if not isinstance(right, str):
            raise AnswerFormatError(f"“{left[:40]}”的配对应是一段文字（右边的一个选项）。")
        check_text(right)
        if normalize_short(right) not in by_right:
            raise AnswerFormatError(f"“{right[:40]}”不是可选的配对。")
        picked[by_left[normalize_short(left)]] = by_right[normalize_short(right)]
    if not picked:
        raise AnswerFormatError("请至少为一项选择配对。")
    return picked
