"""Turn a bank markdown file into Question records, collecting every problem with its line."""

from __future__ import annotations

import ast
import functools
import json
import math
import re
from collections.abc import Callable
from typing import Any

from app.calculators import CALCULATORS, draw, validate_ranges
from app.content.markdown_doc import Block, DocError, parse_document
from app.content.model import (
    QUESTION_TYPES,
    Accepted,
    BankInfo,
    CodeSpec,
    ContentError,
    Groups,
    KeyPoint,
    Misconception,
    Option,
    Pair,
    Question,
)
from app.content.short_answers import expected_text, first_match

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
OPTION_RE = re.compile(r"^\s*[-*+]\s+\[( |x|X)\]\s+(.*)$")
OPTION_KEY_RE = re.compile(r"^([A-Za-z])\s*[.、)）．]\s*(.*)$")
KEYPOINT_RE = re.compile(r"^\s*[-*+]\s+(.*)$")
STATEMENT_RE = re.compile(r"^\s+>\s?(.*)$")  # the claim, on the line under its item: "  > 同一神经元…"
WEIGHT_RE = re.compile(r"\s*[(（]\s*(?:权重|weight)\s*[:：]?\s*([0-9.]+)\s*[)）]\s*$", re.IGNORECASE)
PLACEHOLDER_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
# A short answer's credit at the end of its item: "(得分 50%)", "(credit 50%)"; anything else is its text.
CREDIT_RE = re.compile(r"\s*[(（]\s*(?:得分|credit)\s*[:：]?\s*([^)）]*?)\s*[)）]\s*$", re.IGNORECASE)
PERCENT_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*[%％]$")
PAIR_SEP = "->"
IMPORTED_FROM_RE = re.compile(r"^[a-z][a-z0-9-]*:\S.*$")

SECTION_NAMES = {
    "选项": "options", "options": "options",
    "参考答案": "reference", "answer": "reference",
    "要点": "keypoints", "key points": "keypoints", "keypoints": "keypoints",
    "常见误区": "misconceptions", "misconceptions": "misconceptions",
    "解析": "explanation", "explanation": "explanation",
    "代码模板": "starter", "starter": "starter",
    "参考实现": "code_reference", "reference implementation": "code_reference",
    "测试用例": "tests", "tests": "tests",
    "包装": "wrapper", "wrapper": "wrapper",
    "可接受答案": "accepted", "accepted answers": "accepted",
    "配对": "pairs", "pairs": "pairs",
}
SECTION_TITLES = {"options": "选项", "reference": "参考答案", "keypoints": "要点", "misconceptions": "常见误区",
                  "explanation": "解析", "starter": "代码模板", "code_reference": "参考实现", "tests": "测试用例",
                  "wrapper": "包装", "accepted": "可接受答案", "pairs": "配对"}
# The sections each type reads; another type's section is an error (it would be silently ignored otherwise).
# The older types keep their leniency except for the two sections that are new with the imported types.
TYPE_SECTIONS: dict[str, set[str]] = {
    "truefalse": {"explanation"},
    "short": {"accepted", "explanation"},
    "matching": {"pairs", "explanation"},
    "description": {"explanation"},
}
NEW_SECTIONS = {"accepted": "short", "pairs": "matching"}
COMMON_KEYS = {"type", "difficulty", "topics", "tags", "source", "followups", "scored", "replaces",
               "not_duplicate_of", "imported_from"}
TYPE_KEYS = {
    "single": {"weights"},
    "multiple": {"weights"},
    "numeric": {"answer", "answers", "tolerance", "rel_tolerance", "unit", "suffixes"},
    "shape": {"answer", "order", "batch_optional"},
    "open": {"self_rated"},
    "truefalse": {"answer", "feedback"},
    "short": {"case_sensitive"},
    "matching": set(),
    "description": set(),
    "generated": {"calculator", "params", "suffixes"},  # suffixes: only with a numeric calculator
    "code": {"entry", "compare", "rtol", "atol", "random_cases", "seed", "time_limit", "memory_mb"},
}
NUMERIC_ANSWER_KEYS = {"value", "tolerance", "min", "max", "fraction", "feedback"}
TRUEFALSE_TEXT = {"T": "正确", "F": "错误"}  # the options a true/false item is shown and scored as
CODE_LIMITS = {"time_limit": (0.1, 10.0), "memory_mb": (16, 1024), "random_cases": (0, 100)}
FENCE_RE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)\s*$")

# A generated item may name any instance parameter plus these in its templates.
TEMPLATE_EXTRAS = {"answer", "worked"}


def parse_bank(text: str, file: str) -> tuple[BankInfo | None, list[Question], list[ContentError]]:
    doc = parse_document(text)
    errors = [ContentError(file, e.line, e.message) for e in doc.errors]

    def err(line: int, message: str) -> None:
        errors.append(ContentError(file, line, message))

    bank_id = doc.front.get("id")
    bank: BankInfo | None = None
    if not isinstance(bank_id, str) or not ID_RE.match(bank_id):
        err(doc.front_line, "front matter 需要 id（小写字母、数字和连字符）")
    elif not isinstance(doc.front.get("title"), str) or not doc.front["title"].strip():
        err(doc.front_line, "front matter 需要 title")
    else:
        bank = BankInfo(bank_id, doc.front["title"].strip(), str(doc.front.get("description") or "").strip(), file)

    questions: list[Question] = []
    for block in doc.blocks:
        q = _question(block, bank_id if isinstance(bank_id, str) else "", file, err)
        if q is not None:
            questions.append(q)
    return bank, questions, errors


def _question(block: Block, bank: str, file: str, err: Callable[[int, str], None]) -> Question | None:
    parts = block.heading.split(None, 1)
    qid = parts[0] if parts else ""
    title = parts[1].strip() if len(parts) > 1 else ""
    ok = True
    if not ID_RE.match(qid):
        err(block.line, f"题目 id「{qid}」只能包含小写字母、数字和连字符")
        ok = False
    if block.meta is None:
        return None  # the document reader already reported the missing block
    meta = block.meta
    line = block.key_line

    qtype = meta.get("type")
    if qtype not in QUESTION_TYPES:
        err(line("type"), f"未知题型「{qtype}」，可选: {', '.join(QUESTION_TYPES)}")
        return None
    for key in meta:
        if key not in COMMON_KEYS | TYPE_KEYS[qtype]:
            err(line(str(key)), f"未知字段「{key}」（{qtype} 题可用: {', '.join(sorted(COMMON_KEYS | TYPE_KEYS[qtype]))}）")
            ok = False

    difficulty = meta.get("difficulty")
    if not isinstance(difficulty, int) or isinstance(difficulty, bool) or not 1 <= difficulty <= 5:
        err(line("difficulty"), "difficulty 必须是 1 到 5 的整数")
        ok = False
    topics = _str_list(meta.get("topics"))
    if not topics:
        err(line("topics"), "topics 必须是非空的字符串列表")
        ok = False
    tags = _str_list(meta.get("tags", []))
    if tags is None:
        err(line("tags"), "tags 必须是字符串列表")
        ok = False
    source = meta.get("source")
    if not isinstance(source, str) or not source.strip():
        err(line("source"), "缺少 source（来源的种子文件名或面试轮次）")
        ok = False
    followups = _str_list(meta.get("followups", []))
    if followups is None:
        err(line("followups"), "followups 必须是题目 id 的列表")
        ok = False
    scored = meta.get("scored", qtype != "description")
    if not isinstance(scored, bool):
        err(line("scored"), "scored 必须是 true 或 false（false：只练不评分，如自我介绍、反问）")
        ok = False
    elif qtype == "description" and scored:
        err(line("scored"), "说明（description）从不评分：不能写 scored: true")
        ok = False
    imported_from = meta.get("imported_from", "")
    if not isinstance(imported_from, str) or (imported_from and not IMPORTED_FROM_RE.match(imported_from.strip())):
        err(line("imported_from"), "imported_from 应写成「格式:文件名」，如 gift:algebra.gift")
        ok = False
        imported_from = ""
    replaces = _str_list(meta.get("replaces", []))
    if replaces is None or not all(ID_RE.match(r) for r in replaces):
        err(line("replaces"), "replaces 必须是题目 id 的列表（合并进本题、已删除的旧题）")
        ok = False
    not_duplicate_of = _reasons(meta.get("not_duplicate_of", {}))
    if not_duplicate_of is None:
        err(line("not_duplicate_of"), "not_duplicate_of 应为 {题目 id: 为什么两题问的不是一回事}，理由不能为空")
        ok = False

    sections: dict[str, str] = {}
    section_lines: dict[str, int] = {}
    for section in block.sections:
        name = SECTION_NAMES.get(section.title.strip().lower())
        if name is None:
            err(section.line, f"未知小节「{section.title}」，可用: 选项、参考答案、要点、常见误区、解析"
                              "（代码题: 代码模板、参考实现、测试用例、包装）")
            ok = False
            continue
        if name in sections:
            err(section.line, f"小节「{section.title}」重复")
            ok = False
        allowed = TYPE_SECTIONS.get(qtype)
        if (allowed is not None and name not in allowed) or (name in NEW_SECTIONS and NEW_SECTIONS[name] != qtype):
            err(section.line, f"{qtype} 题没有「### {SECTION_TITLES[name]}」小节"
                              + (f"（可用: {'、'.join(SECTION_TITLES[n] for n in sorted(allowed))}）" if allowed else ""))
            ok = False
            continue
        sections[name] = section.text
        section_lines[name] = section.line  # the heading: where a problem with the whole section is reported
        section_lines[name + ".text"] = section.text_line  # line i of the section's text is text_line + 1 + i
    prompt = block.intro_text
    if not prompt:
        err(block.line, "题干为空")
        ok = False
    explanation = sections.get("explanation", "")
    # An imported item may come without general feedback, and a description explains nothing.
    if not explanation and not imported_from and qtype != "description":
        err(block.line, "缺少「### 解析」小节")
        ok = False

    fields: dict[str, Any] = {}
    checker = _TYPE_CHECKERS[qtype]
    ok = checker(meta, sections, section_lines, block, fields, err) and ok
    if qtype == "generated" and ok:
        ok = _check_templates(prompt, explanation, fields, block, err)
    if not ok:
        return None
    return Question(
        id=qid, bank=bank, type=qtype, title=title, prompt=prompt, explanation=explanation,
        difficulty=difficulty, topics=tuple(topics or ()), tags=tuple(tags or ()), source=source.strip(),
        followups=tuple(followups or ()), scored=scored is not False, file=file, line=block.line,
        replaces=tuple(replaces or ()), imported_from=imported_from.strip(),
        not_duplicate_of=not_duplicate_of or {}, **fields,
    )


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return None
    return [str(v).strip() for v in value if str(v).strip()]


def _reasons(value: Any) -> dict[str, str] | None:
    """not_duplicate_of: question id -> the reason, a non-empty string; None when malformed."""
    if not isinstance(value, dict):
        return None
    out = {str(k).strip(): v.strip() for k, v in value.items() if isinstance(v, str)}
    if len(out) != len(value) or not all(ID_RE.match(k) and v for k, v in out.items()):
        return None
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def _choice(meta, sections, section_lines, block, fields, err) -> bool:
    text = sections.get("options")
    if text is None:
        err(block.line, "选择题缺少「### 选项」小节")
        return False
    options: list[Option] = []
    first = section_lines["options"]
    ok = True
    in_feedback = False  # the `  > 反馈` lines under the last option
    for offset, raw in enumerate(text.split("\n")):
        lineno = section_lines["options.text"] + 1 + offset
        m = OPTION_RE.match(raw)
        if m:
            body = m.group(2).strip()
            km = OPTION_KEY_RE.match(body)
            key, body = (km.group(1).upper(), km.group(2).strip()) if km else (chr(ord("A") + len(options)), body)
            if any(o.key == key for o in options):
                err(lineno, f"选项 {key} 重复")
                ok = False
            options.append(Option(key, body, m.group(1).lower() == "x"))
            in_feedback = False
        elif raw.strip() and options and raw.startswith((" ", "\t")):
            last = options[-1]
            fm = STATEMENT_RE.match(raw)
            if fm:
                feedback = f"{last.feedback}\n{fm.group(1).rstrip()}" if in_feedback else fm.group(1).strip()
                options[-1] = Option(last.key, last.text, last.correct, feedback)
                if not in_feedback and not feedback:
                    err(lineno, f"选项 {last.key} 的反馈是空的（`> ` 后写选了它的人看到的话）")
                    ok = False
                in_feedback = True
            elif in_feedback:
                err(lineno, f"选项 {last.key} 的反馈之后不能再续写选项正文：正文写在 `> 反馈` 之前")
                ok = False
            else:
                options[-1] = Option(last.key, f"{last.text}\n{raw.strip()}", last.correct)
    options = [Option(o.key, o.text, o.correct, o.feedback.strip()) for o in options]
    if len(options) < 2:
        err(first, "选择题至少需要两个选项（写成 `- [x] A. ...` / `- [ ] B. ...`）")
        return False
    correct = sum(o.correct for o in options)
    if correct == 0:
        err(first, "没有标出正确选项（用 `- [x]`）")
        ok = False
    elif meta["type"] == "single" and correct > 1:
        err(first, f"单选题只能有一个正确选项，这里标了 {correct} 个")
        ok = False
    weights = meta.get("weights")
    if weights is not None:
        parsed = _weights(weights, options, meta["type"], block.key_line("weights"), err)
        if parsed is None:
            ok = False
        else:
            fields["weights"] = parsed
    fields["options"] = tuple(options)
    return ok


def _weights(weights: Any, options: list[Option], qtype: str, lineno: int,
             err: Callable[[int, str], None]) -> dict[str, float] | None:
    """`weights: {A: 1, B: 0.5, C: -0.5}`, Moodle's fractions: each in [-1, 1], and consistent with the `[x]`
    marks (single: the marked option is worth 1 and no other is; multiple: the marked options are exactly
    those worth something, and together they reach 1)."""
    keys = {o.key for o in options}
    if not isinstance(weights, dict) or not all(
        str(k).upper() in keys and _number(v) is not None for k, v in weights.items()
    ):
        err(lineno, "weights 应为 {选项: 分值}，选项必须存在，分值为数字")
        return None
    parsed = {str(k).upper(): float(v) for k, v in weights.items()}
    bad = [k for k, v in parsed.items() if not -1 <= v <= 1]
    if bad:
        err(lineno, f"weights 的分值应在 -1 到 1 之间（Moodle 的得分比例），{'、'.join(bad)} 不是")
        return None
    marked = [o.key for o in options if o.correct]
    if qtype == "single":
        full = [k for k, v in parsed.items() if v >= 1]
        if any(parsed.get(k, 1.0) != 1 for k in marked):
            err(lineno, f"单选题标 [x] 的选项 {'、'.join(marked)} 应得满分：它的 weight 应为 1")
            return None
        if [k for k in full if k not in marked]:
            err(lineno, f"只有标 [x] 的选项能得满分，{'、'.join(k for k in full if k not in marked)} 的 weight 为 1")
            return None
        return parsed
    unlisted = [k for k in marked if k not in parsed]
    if unlisted:
        err(lineno, f"给了 weights 就要列出每个标 [x] 的选项，缺 {'、'.join(unlisted)}")
        return None
    mismatch = [o.key for o in options if o.correct != (parsed.get(o.key, 0.0) > 0)]
    if mismatch:
        err(lineno, f"标 [x] 的选项应正好是分值为正的选项，{'、'.join(mismatch)} 不一致")
        return None
    if sum(v for v in parsed.values() if v > 0) < 1 - 1e-9:
        err(lineno, "没有满分答案：分值为正的选项加起来不到 1")
        return None
    return parsed


def _numeric(meta, sections, section_lines, block, fields, err) -> bool:
    ok = True
    if "answers" in meta:
        if "answer" in meta:
            err(block.key_line("answers"), "answer 和 answers 只能写一个（answers: 几个可接受的值或区间）")
            return False
        for key in ("tolerance", "rel_tolerance"):
            if key in meta:
                err(block.key_line(key), f"有 answers 时 {key} 写在每一项里（value + tolerance，或 min/max）")
                ok = False
        accepted = _numeric_answers(meta["answers"], block.key_line("answers"), err)
        if accepted is None:
            return False
        fields["accepted"] = accepted
        answer = _shown_value(accepted)
    else:
        answer = _number(meta.get("answer"))
        if answer is None:
            err(block.key_line("answer"), "数值题缺少数字 answer（或 answers: 几个可接受的值或区间）")
            ok = False
    for key in ("tolerance", "rel_tolerance"):
        if key in meta and "answers" not in meta:
            value = _number(meta[key])
            if value is None or value < 0 or (key == "rel_tolerance" and value >= 1):
                err(block.key_line(key), f"{key} 必须是非负数" + ("且小于 1" if key == "rel_tolerance" else ""))
                ok = False
            else:
                fields[key] = value
    unit = meta.get("unit")
    if unit is not None and not isinstance(unit, str):
        err(block.key_line("unit"), "unit 必须是字符串")
        ok = False
    if "suffixes" in meta and not isinstance(meta["suffixes"], bool):
        err(block.key_line("suffixes"), "suffixes 必须是 true 或 false")
        ok = False
    fields.update(answer=answer, unit=unit, suffixes=bool(meta.get("suffixes", False)))
    return ok


def _numeric_answers(raw: Any, lineno: int, err: Callable[[int, str], None]) -> tuple[Accepted, ...] | None:
    """`answers:` of a numeric item: `{value, tolerance?, fraction?, feedback?}` or `{min, max, fraction?,
    feedback?}` each; the first that holds the candidate's number gives its fraction (Moodle). The yaml block
    has no line per entry, so every problem names the `answers:` line and the entry's position."""
    if not isinstance(raw, list) or not raw:
        err(lineno, "answers 应为非空列表，每项 {value: 3.14, tolerance: 0.01, fraction: 1} 或 {min: 3, max: 4}")
        return None
    out: list[Accepted] = []
    ok = True
    for n, entry in enumerate(raw, 1):
        where = f"answers 第 {n} 项"
        if not isinstance(entry, dict):
            err(lineno, f"{where}应为映射，如 {{value: 3.14, tolerance: 0.01, fraction: 1}}")
            ok = False
            continue
        unknown = sorted(str(k) for k in entry if k not in NUMERIC_ANSWER_KEYS)
        if unknown:
            err(lineno, f"{where}有未知字段 {', '.join(unknown)}（可用: {', '.join(sorted(NUMERIC_ANSWER_KEYS))}）")
            ok = False
            continue
        fraction = _fraction(entry.get("fraction", 1))
        if fraction is None:
            err(lineno, f"{where}的 fraction 应为 0 到 1 之间的数")
            ok = False
        feedback = entry.get("feedback", "")
        if not isinstance(feedback, str):
            err(lineno, f"{where}的 feedback 应为文字")
            ok = False
        if "value" in entry:
            value, tolerance = _number(entry["value"]), _number(entry.get("tolerance", 0))
            if "min" in entry or "max" in entry:
                err(lineno, f"{where}: value 和 min/max 只能写一种")
                ok = False
            elif value is None or tolerance is None or tolerance < 0:
                err(lineno, f"{where}: value 应为数字，tolerance 为非负数")
                ok = False
            elif fraction is not None and isinstance(feedback, str):
                out.append(Accepted(value=value, tolerance=tolerance, fraction=fraction, feedback=feedback.strip()))
        elif "min" in entry or "max" in entry:
            low, high = _number(entry.get("min")), _number(entry.get("max"))
            if "tolerance" in entry:
                err(lineno, f"{where}: 区间（min/max）没有 tolerance")
                ok = False
            elif low is None or high is None or low > high:
                err(lineno, f"{where}: min 和 max 都要写成数字，且 min ≤ max")
                ok = False
            elif fraction is not None and isinstance(feedback, str):
                out.append(Accepted(low=low, high=high, fraction=fraction, feedback=feedback.strip()))
        else:
            err(lineno, f"{where}需要 value（可加 tolerance）或 min 和 max")
            ok = False
    if not ok:
        return None
    if not any(a.fraction == 1 for a in out):
        err(lineno, "answers 里没有满分答案（至少一项 fraction: 1）")
        return None
    shown = _shown_value(tuple(out))
    first = next(a for a in out if numeric_accepts(a, shown))
    if first.fraction != 1:
        err(lineno, f"满分答案 {shown:g} 先被前面得分 {first.fraction:g} 的一项接住了：按顺序第一个匹配的算分")
        return None
    return tuple(out)


def numeric_accepts(accepted: Accepted, value: float) -> bool:
    """Whether `value` is within one numeric answer: value ± tolerance, or low..high (ends included), with a
    relative slack so float noise (0.1 + 0.2) never misses an exact bound."""
    if accepted.value is not None:
        slack = 1e-9 * max(1.0, abs(accepted.value))
        return abs(value - accepted.value) <= accepted.tolerance + slack
    assert accepted.low is not None and accepted.high is not None
    slack = 1e-9 * max(1.0, abs(accepted.low), abs(accepted.high))
    return accepted.low - slack <= value <= accepted.high + slack


def _shown_value(accepted: tuple[Accepted, ...]) -> float:
    """The value a numeric item with several answers shows as its answer: the first full-credit one's value,
    or the middle of its range."""
    best = next(a for a in accepted if a.fraction == 1)
    if best.value is not None:
        return best.value
    assert best.low is not None and best.high is not None
    return (best.low + best.high) / 2


def _fraction(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and 0 <= number <= 1 else None


def _truefalse(meta, sections, section_lines, block, fields, err) -> bool:
    answer = meta.get("answer")
    if not isinstance(answer, bool):
        err(block.key_line("answer"), "判断题的 answer 应为 true 或 false")
        return False
    feedback = meta.get("feedback", {})
    texts: dict[bool, str] = {}
    if not isinstance(feedback, dict):
        err(block.key_line("feedback"), "feedback 应为 {true: 答 true 的人看到的话, false: …}")
        return False
    for key, text in feedback.items():
        side = {True: True, False: False, "true": True, "false": False}.get(
            key.strip().lower() if isinstance(key, str) else key)
        if side is None or not isinstance(text, str) or side in texts:
            err(block.key_line("feedback"), "feedback 只有 true 和 false 两项，每项一段文字")
            return False
        texts[side] = text.strip()
    fields.update(answer=answer, options=(
        Option("T", TRUEFALSE_TEXT["T"], answer, texts.get(True, "")),
        Option("F", TRUEFALSE_TEXT["F"], not answer, texts.get(False, "")),
    ))
    return True


def _list_items(text: str, first: int, what: str,
                err: Callable[[int, str], None]) -> tuple[list[tuple[int, str, str]], bool]:
    """The items of a list section with what the `  > ` lines under each say: (line, item text, feedback), and
    whether every other line is blank (anything else is reported: it would be silently dropped)."""
    items: list[tuple[int, str, str]] = []
    ok = True
    for offset, raw in enumerate(text.split("\n")):
        lineno = first + 1 + offset
        m = KEYPOINT_RE.match(raw)
        if m and not raw.startswith((" ", "\t")):
            items.append((lineno, m.group(1).strip(), ""))
            continue
        fm = STATEMENT_RE.match(raw)
        if fm and items:
            at, body, feedback = items[-1]
            items[-1] = (at, body, f"{feedback}\n{fm.group(1).rstrip()}" if feedback else fm.group(1).strip())
        elif raw.strip():
            err(lineno, f"「{what}」小节里每行应是 `- …` 列表项（或其下缩进的 `> 反馈`），这一行不是")
            ok = False
    return items, ok


def _short(meta, sections, section_lines, block, fields, err) -> bool:
    case_sensitive = meta.get("case_sensitive", False)
    if not isinstance(case_sensitive, bool):
        err(block.key_line("case_sensitive"), "case_sensitive 必须是 true 或 false")
        return False
    text = sections.get("accepted")
    if text is None:
        err(block.line, "简答题缺少「### 可接受答案」小节（`- 答案`，可加 `(得分 50%)`）")
        return False
    accepted: list[Accepted] = []
    items, ok = _list_items(text, section_lines["accepted.text"], "可接受答案", err)
    for lineno, body, feedback in items:
        fraction = 1.0
        cm = CREDIT_RE.search(body)
        if cm:
            pm = PERCENT_RE.match(cm.group(1).strip())
            value = float(pm.group(1)) / 100 if pm else None
            if value is None or not 0 <= value <= 1:
                err(lineno, f"得分应写成 0% 到 100% 之间的百分数，如 `(得分 50%)`，这里是「{cm.group(1)}」")
                ok = False
                continue
            fraction, body = value, body[: cm.start()].strip()
        if not body:
            err(lineno, "可接受答案是空的")
            ok = False
            continue
        if any(a.text == body for a in accepted):
            err(lineno, f"可接受答案「{body}」重复")
            ok = False
            continue
        accepted.append(Accepted(text=body, fraction=fraction, feedback=feedback.strip()))
    if not accepted:
        if ok:
            err(section_lines["accepted"], "「可接受答案」小节是空的：每行一个 `- 答案`")
        return False
    if not any(a.fraction == 1 for a in accepted):
        err(section_lines["accepted"], "没有满分答案：至少一个可接受答案得 100%（不写得分即 100%）")
        return False
    best = next(a for a in accepted if a.fraction == 1)
    hit = first_match(tuple(accepted), expected_text(best.text), case_sensitive)
    if ok and hit is None:
        err(section_lines["accepted"], f"满分答案「{best.text}」连它自己的写法都匹配不上")
        return False
    if ok and hit is not None and hit.fraction != 1:
        err(section_lines["accepted"], f"满分答案「{best.text}」先被前面的「{hit.text}」（得分 {hit.fraction:.0%}）"
                                       "匹配：按顺序第一个匹配的算分")
        return False
    fields.update(accepted=tuple(accepted), case_sensitive=case_sensitive)
    return ok


# A matching item of ours pairs at least three; one imported keeps Moodle's own minimum (its GIFT reader and
# its matching question take two, and Moodle's own GIFT examples have a two-pair one): kept, not skipped.
MIN_PAIRS = 3
MIN_IMPORTED_PAIRS = 2


def _matching(meta, sections, section_lines, block, fields, err) -> bool:
    text = sections.get("pairs")
    if text is None:
        err(block.line, "配对题缺少「### 配对」小节（`- 左边 -> 右边`，干扰项写 `- -> 右边`）")
        return False
    pairs: list[Pair] = []
    items, ok = _list_items(text, section_lines["pairs.text"], "配对", err)
    for lineno, body, feedback in items:
        if PAIR_SEP not in body:
            err(lineno, f"配对应写成 `- 左边 -> 右边`，这里没有 `{PAIR_SEP}`")
            ok = False
            continue
        if feedback:
            err(lineno + 1, "配对没有反馈：`> ` 行只用于选项和可接受答案")
            ok = False
        left, right = (p.strip() for p in body.split(PAIR_SEP, 1))
        if not right:
            err(lineno, f"「{left}」配对的右边是空的")
            ok = False
            continue
        if left and any(p.left == left for p in pairs):
            err(lineno, f"左边「{left}」重复：每个左边只能配一个右边")
            ok = False
            continue
        pairs.append(Pair(left, right))
    lefts = [p for p in pairs if p.left]
    least = MIN_IMPORTED_PAIRS if meta.get("imported_from") else MIN_PAIRS
    if ok and len(lefts) < least:
        err(section_lines["pairs"], f"配对题至少需要 {least} 对（左边不为空），这里有 {len(lefts)} 对")
        ok = False
    fields["pairs"] = tuple(pairs)
    return ok


def _description(meta, sections, section_lines, block, fields, err) -> bool:
    return True  # its keys and sections are refused where they are read: nothing to answer, nothing to score


def _shape(meta, sections, section_lines, block, fields, err) -> bool:
    raw = meta.get("answer")
    if isinstance(raw, str):
        raw = [p for p in re.split(r"[\s,()\[\]×xX*]+", raw) if p]
        try:
            raw = [int(p) for p in raw]
        except ValueError:
            raw = None
    if not isinstance(raw, list) or not raw or not all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 2**53 for d in raw
    ):
        err(block.key_line("answer"), "形状题的 answer 应为正整数列表，如 [1, 64, 56, 56]")
        return False
    order = meta.get("order")
    if order is not None and (not isinstance(order, str) or len(order) != len(raw)):
        err(block.key_line("order"), f"order 应为 {len(raw)} 个字母（每一维一个），如 NCHW")
        return False
    fields.update(answer=tuple(raw), order=order, batch_optional=bool(meta.get("batch_optional", False)))
    return True


def _open(meta, sections, section_lines, block, fields, err) -> bool:
    ok = True
    reference = sections.get("reference", "")
    self_rated = meta.get("self_rated", False)
    if not isinstance(self_rated, bool):
        err(block.key_line("self_rated"), "self_rated 必须是 true 或 false")
        return False
    if self_rated:
        # An imported essay: no key points to grade by, so the candidate's self-rating is its only grade.
        for name in ("keypoints", "misconceptions"):
            if name in sections:
                err(section_lines[name], f"self_rated 的问答题只凭自评，没有「### {SECTION_TITLES[name]}」："
                                         "删掉这一节，或删掉 self_rated")
                ok = False
        fields.update(reference=reference, self_rated=True)
        return ok
    if not reference:
        err(block.line, "问答题缺少「### 参考答案」小节")
        ok = False
    text = sections.get("keypoints")
    if text is None:
        err(block.line, "问答题缺少「### 要点」小节")
        return False
    first = section_lines["keypoints"]
    points: list[KeyPoint] = []
    for item in _claim_items(text, section_lines["keypoints.text"], err):
        if item is None:
            ok = False
            continue
        lineno, label, groups, weight, statement = item
        if not 0 < weight < math.inf:
            err(lineno, "要点权重必须是正数")
            ok = False
            continue
        if not statement:
            err(lineno, f"要点「{label}」缺少陈述：在下一行缩进写 `> 这个要点断言的内容`")
            ok = False
        flat = tuple(dict.fromkeys(s for g in groups for s in g))
        points.append(KeyPoint(label, flat, weight, statement, groups if len(groups) > 1 else ()))
    if not 3 <= len(points) <= 6 and ok:
        err(first, f"问答题需要 3-6 个要点，这里有 {len(points)} 个")
        ok = False
    wrong: list[Misconception] = []
    if "misconceptions" in sections:
        for item in _claim_items(sections["misconceptions"], section_lines["misconceptions.text"], err):
            if item is None:
                ok = False
                continue
            lineno, label, groups, weight, statement = item
            if weight != 1.0:
                err(lineno, "误区没有权重")
                ok = False
            wrong.append(Misconception(label, groups, statement))
        if not wrong:
            err(section_lines["misconceptions"], "「常见误区」小节是空的：写成 `- 标签: 模式1|模式2 & 模式3`")
            ok = False
    fields.update(reference=reference, keypoints=tuple(points), misconceptions=tuple(wrong))
    return ok


ClaimItem = tuple[int, str, Groups, float, str]  # line, label, pattern groups, weight, statement


def _claim_items(text: str, first: int, err: Callable[[int, str], None]) -> list[ClaimItem | None]:
    """The list items of a 要点 or 常见误区 section: `- 标签: a|b & c|d (权重 2)`, each optionally followed by
    an indented `> statement` line. None stands for an item already reported as malformed."""
    items: list[ClaimItem | None] = []
    lines = text.split("\n")
    for offset, raw in enumerate(lines):
        m = KEYPOINT_RE.match(raw)
        if not m:
            continue
        lineno = first + 1 + offset
        body = m.group(1).strip()
        weight = 1.0
        wm = WEIGHT_RE.search(body)
        if wm:
            try:
                weight = float(wm.group(1))
            except ValueError:
                weight = -1
            body = body[: wm.start()].strip()
        lm = re.match(r"^(.*?)[:：]\s*(.*)$", body)
        label, patterns = lm.groups() if lm else ("", "")
        label = label.strip()
        groups = tuple(tuple(s.strip() for s in g.split("|") if s.strip()) for g in patterns.split("&"))
        if not label or not patterns.strip():
            err(lineno, "应写成 `- 标签: 同义词1|同义词2`（关系用 ` & ` 连接两组）")
            items.append(None)
            continue
        if any(not g for g in groups):
            err(lineno, f"「{label}」有空的一组：`&` 两边都要写同义词")
            items.append(None)
            continue
        statement = ""
        nxt = lines[offset + 1] if offset + 1 < len(lines) else ""
        sm = STATEMENT_RE.match(nxt)
        if sm:
            statement = sm.group(1).strip()
            if not statement:
                err(lineno + 1, f"「{label}」的陈述是空的")
                items.append(None)
                continue
        items.append((lineno, label, groups, weight, statement))
    return items


def _generated(meta, sections, section_lines, block, fields, err) -> bool:
    name = meta.get("calculator")
    if name not in CALCULATORS:
        err(block.key_line("calculator"), f"未知计算器「{name}」，可选: {', '.join(sorted(CALCULATORS))}")
        return False
    params = meta.get("params", {}) or {}
    if not isinstance(params, dict):
        err(block.key_line("params"), "params 应为 参数: 取值 的映射")
        return False
    problems, _ = _validated(name, json.dumps(params, sort_keys=True, default=str))
    for problem in problems:
        err(block.key_line("params"), f"参数范围有问题: {problem}")
    ok = not problems
    suffixes = meta.get("suffixes", False)
    if not isinstance(suffixes, bool):
        err(block.key_line("suffixes"), "suffixes 必须是 true 或 false")
        ok = False
    elif suffixes and CALCULATORS[name].kind != "numeric":
        # A shape has no order of magnitude to abbreviate: the key would promise what scoring never does.
        err(block.key_line("suffixes"), f"suffixes 只用于数值答案，计算器「{name}」的答案是形状")
        ok = False
    fields.update(calculator=name, params=params, suffixes=bool(suffixes))
    return ok


@functools.lru_cache(maxsize=4096)
def _validated(name: str, params_json: str) -> tuple[list[str], frozenset[str]]:
    """Problems with the ranges, and the parameter names a template may use.

    validate_ranges draws 50 instances; banks repeat the same ranges, and reloads repeat whole banks.
    """
    params = json.loads(params_json)
    problems = validate_ranges(name, params)
    return problems, frozenset() if problems else frozenset(draw(name, params, 0).params)


def _check_templates(prompt: str, explanation: str, fields: dict[str, Any], block: Block, err) -> bool:
    _, names = _validated(fields["calculator"], json.dumps(fields["params"], sort_keys=True, default=str))
    known = names | TEMPLATE_EXTRAS
    unknown = sorted({m for m in PLACEHOLDER_RE.findall(prompt + "\n" + explanation) if m not in known})
    if unknown:
        err(block.line, f"模板里有未知占位符: {', '.join(unknown)}（可用: {', '.join(sorted(known))}）")
        return False
    return True


def _code(meta, sections, section_lines, block, fields, err) -> bool:
    entry = meta.get("entry")
    if not isinstance(entry, str) or not entry.isidentifier():
        err(block.key_line("entry"), "代码题需要 entry：要实现的函数名")
        return False
    ok = True
    code: dict[str, str] = {}
    names = {"starter": "代码模板", "code_reference": "参考实现", "tests": "测试用例", "wrapper": "包装"}
    for name, title in names.items():
        if name not in sections:
            if name != "wrapper":
                err(block.line, f"代码题缺少「### {title}」小节（一个 ```python 代码块）")
                ok = False
            continue
        source, first = _fenced(sections[name], section_lines[name + ".text"])
        if source is None:
            err(section_lines[name], f"「{title}」小节应是一个 ```python 代码块")
            ok = False
            continue
        defined = _top_level_names(source, first, err)
        if defined is None:
            ok = False
            continue
        need = {"starter": {entry}, "code_reference": {entry}, "tests": {"EXAMPLES", "HIDDEN"}, "wrapper": {"call"}}
        missing = sorted(need[name] - defined)
        if missing:
            err(section_lines[name], f"「{title}」没有定义 {', '.join(missing)}")
            ok = False
        code[name] = source
    rule = meta.get("compare", "allclose")
    if rule not in ("exact", "allclose", "set", "unordered", "shape_dtype"):
        err(block.key_line("compare"), "compare 可选: exact, allclose, set, unordered, shape_dtype")
        ok = False
    numbers: dict[str, float] = {}
    for key, default in (("rtol", 1e-6), ("atol", 1e-8), ("time_limit", 2.0), ("memory_mb", 256),
                         ("random_cases", 10), ("seed", 0)):
        value = meta.get(key, default)
        number = _number(value)
        low, high = CODE_LIMITS.get(key, (0, math.inf))
        if number is None or not low <= number <= high or (key in ("memory_mb", "random_cases", "seed")
                                                           and not float(number).is_integer()):
            err(block.key_line(key), f"{key} 应为 {low} 到 {high} 之间的数" + ("（整数）" if key != "rtol" else ""))
            ok = False
        else:
            numbers[key] = number
    if ok:
        fields["code"] = CodeSpec(
            entry=entry, starter=code["starter"], reference=code["code_reference"], tests=code["tests"],
            wrapper=code.get("wrapper", ""), compare=rule, rtol=numbers["rtol"], atol=numbers["atol"],
            random_cases=int(numbers["random_cases"]), seed=int(numbers["seed"]),
            time_limit_s=numbers["time_limit"], memory_mb=int(numbers["memory_mb"]))
    return ok


def _fenced(text: str, text_line: int) -> tuple[str | None, int]:
    """The body of the section's one fenced code block and the file line of its first line."""
    lines = text.split("\n")
    start = next((i for i, raw in enumerate(lines) if FENCE_RE.match(raw)), None)
    if start is None:
        return None, 0
    fence = FENCE_RE.match(lines[start]).group(1)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip().startswith(fence)), None)
    if end is None:
        return None, 0
    return "\n".join(lines[start + 1:end]) + "\n", text_line + 2 + start


def _top_level_names(source: str, first: int, err: Callable[[int, str], None]) -> set[str] | None:
    """The names a code block defines at its top level, or None after reporting its syntax error."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        err(first + (exc.lineno or 1) - 1, f"Python 语法错误: {exc.msg}")
        return None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


_TYPE_CHECKERS = {
    "single": _choice,
    "multiple": _choice,
    "numeric": _numeric,
    "shape": _shape,
    "open": _open,
    "generated": _generated,
    "code": _code,
    "truefalse": _truefalse,
    "short": _short,
    "matching": _matching,
    "description": _description,
}


def fill_template(template: str, values: dict[str, Any]) -> str:
    """Replace {{name}} placeholders; unknown names stay visible rather than vanish."""

    def sub(m: re.Match[str]) -> str:
        value = values.get(m.group(1))
        if value is None:
            return m.group(0)
        if isinstance(value, (list, tuple)):
            return "(" + ", ".join(str(v) for v in value) + ")"
        return str(value)

    return PLACEHOLDER_RE.sub(sub, template)


__all__ = ["DocError", "fill_template", "parse_bank"]
