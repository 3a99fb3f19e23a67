"""One entry point that scores any answer to any question type.

`check_answer` never raises for a bad *answer*: unreadable input becomes a zero score whose feedback (and
`CheckResult.unreadable`) says what format is expected; a practice check refuses it, an interview scores it.
A broken *question* (unknown type, unknown calculator) still raises, because that is a content bug the
content checker should have caught and hiding it would only make it harder to find.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.calculators import Instance, draw
from app.content.banks import numeric_accepts
from app.content.model import Accepted, Question
from app.content.short_answers import expected_text, first_match
from app.scoring.answers import (
    MAX_OPEN_TEXT_LEN,
    AnswerFormatError,
    check_text,
    parse_choice,
    parse_matching,
    parse_number,
    parse_shape,
    parse_short,
    parse_truefalse,
)
from app.scoring.code_verdicts import feedback as code_feedback
from app.scoring.open_grader import OpenGrade, grade_open

# Grades an open answer (its text already checked): grade_open, or the model grader's (app/runtime/grader.py).
GradeOpen = Callable[[Question, str], OpenGrade]
# Judges a code item's source in the sandbox (app/judge via the API): the verdict of app/scoring/code_verdicts.py.
JudgeCode = Callable[[Question, str], dict[str, Any]]
# 60% of the (weighted) key points covered counts as answered (and below it, as a mistake: DESIGN).
OPEN_CORRECT_THRESHOLD = 0.6
CORRECT_THRESHOLD = 0.999  # everything else must be fully right; the slack absorbs float sums
_EPS = 1e-9  # relative slack so 0.1 + 0.2 style float noise never fails an exact answer


@dataclass(frozen=True)
class CheckResult:
    score: float  # 0..1
    correct: bool  # score >= 0.999; open questions: key-point coverage >= 0.6
    # "B" / ["A", "C"] / number / list of ints / reference text / true|false / a short answer's text /
    # {left: right} of a matching item
    expected: Any
    feedback: str  # Chinese, one or two plain sentences
    # What was read and how it was marked. The author's feedback for what the candidate gave (Moodle's
    # per-answer feedback, markdown) is here for pages and the API to show: `option_feedback` {key: text} for
    # the chosen options of a choice or true/false item, `answer_feedback` (text) of the accepted answer a
    # short or numeric one matched.
    details: dict[str, Any] = field(default_factory=dict)
    codes: tuple[dict[str, Any], ...] = ()  # the feedback as data: {"code": ..., arguments} (open items so far)

    @property
    def unreadable(self) -> str | None:
        """What the scorer says when it cannot read the answer (the format it expects), else None."""
        error = self.details.get("error")
        return error if isinstance(error, str) else None


def instance_for(question: Question, seed: int) -> Instance:
    """Draw the concrete numbers of a generated question for one seed."""
    if question.calculator is None:
        raise ValueError(f"question {question.id} has no calculator")
    return draw(question.calculator, question.params, seed)


def expected_answer(question: Question, *, seed: int | None = None) -> Any:
    """The canonical reference answer, in the same shape `CheckResult.expected` uses."""
    qtype = question.type
    if qtype == "single":
        return question.correct_keys[0].upper() if question.correct_keys else None
    if qtype == "multiple":
        return sorted(k.upper() for k in question.correct_keys)
    if qtype == "numeric":
        return _plain_number(float(question.answer))
    if qtype == "truefalse":
        return bool(question.answer)
    if qtype == "short":
        return expected_text(next(a.text for a in question.accepted if a.fraction >= 1))
    if qtype == "matching":
        return {p.left: p.right for p in question.pairs if p.left}
    if qtype == "description":
        return None  # nothing is asked
    if qtype == "shape":
        return list(parse_shape(question.answer))
    if qtype == "open":
        return question.reference
    if qtype == "code":
        return None  # the reference implementation is never revealed
    if qtype == "generated":
        _require_seed(seed)
        assert seed is not None
        return _shown(instance_for(question, seed))
    raise ValueError(f"unknown question type: {qtype!r}")


def check_answer(question: Question, answer: Any, *, seed: int | None = None,
                 inst: Instance | None = None, grade: GradeOpen = grade_open,
                 judge: JudgeCode | None = None) -> CheckResult:
    """Score `answer` (as sent by the client: str, number, list...) against `question`; a generated one's
    instance for `seed` is drawn here unless the caller has drawn it already (`inst`); an open one is graded
    by `grade`, a code one by `judge`."""
    qtype = question.type
    if qtype == "generated":
        return _check_generated(question, answer, seed, inst)
    if qtype == "code":
        return _check_code(question, answer, judge)
    try:
        if qtype == "single":
            return _check_single(question, answer)
        if qtype == "multiple":
            return _check_multiple(question, answer)
        if qtype == "truefalse":
            return _check_truefalse(question, answer)
        if qtype == "short":
            return _check_short(question, answer)
        if qtype == "matching":
            return _check_matching(question, answer)
        if qtype == "numeric" and question.accepted:
            return _check_numeric_answers(question, answer)
        if qtype == "numeric":
            return _check_numeric(
                answer,
                float(question.answer),
                question.tolerance,
                question.rel_tolerance,
                unit=question.unit,
                suffixes=question.suffixes,
            )
        if qtype == "shape":
            return _check_shape(answer, parse_shape(question.answer), question.order, question.batch_optional)
        if qtype == "open" and question.self_rated:
            return self_rated_result(question, open_text(answer))
        if qtype == "open":
            return open_result(question, grade(question, open_text(answer)))
    except AnswerFormatError as exc:
        return _unreadable(expected_answer(question), exc.message_zh)
    if qtype == "description":
        raise ValueError(f"question {question.id} is a description: it asks nothing and is never scored")
    raise ValueError(f"unknown question type: {qtype!r}")


# --- helpers -----------------------------------------------------------------------------------


def _unreadable(expected: Any, message: str, **details: Any) -> CheckResult:
    return CheckResult(0.0, False, expected, message, {"error": message, **details})


def _plain_number(x: float) -> int | float:
    # 1792.0 shows as 1792 in JSON and feedback; keep floats that are not whole.
    if x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def _fmt(x: float) -> str:
    p = _plain_number(x)
    return str(p) if isinstance(p, int) else f"{p:.6g}"


def _require_seed(seed: Any) -> None:
    if seed is None:
        raise AnswerFormatError("缺少 seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise AnswerFormatError("seed 必须是整数")


def _join(keys: list[str] | tuple[str, ...]) -> str:
    return "、".join(keys)


# --- choice ------------------------------------------------------------------------------------


def _option_keys(question: Question) -> list[str]:
    return [o.key.upper() for o in question.options]


def _unknown(question: Question, chosen: tuple[str, ...]) -> list[str]:
    valid = set(_option_keys(question))
    return [k for k in chosen if k not in valid]


def _option_feedback(question: Question, chosen: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The author's feedback for each chosen option that has one (shown in place after a check); the key
    `option_feedback` of a result's details is there only when one has some."""
    by_key = {o.key.upper(): o.feedback for o in question.options}
    return {k: by_key[k] for k in chosen if by_key.get(k)}


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.4g}%"


def _check_single(question: Question, answer: Any) -> CheckResult:
    right = [k.upper() for k in question.correct_keys]
    expected = right[0] if right else None
    chosen = parse_choice(answer)
    details: dict[str, Any] = {"chosen": list(chosen), "correct": right}
    if bad := _unknown(question, chosen):
        return CheckResult(
            0.0,
            False,
            expected,
            f"没有选项 {_join(bad)}，可选的是 {_join(_option_keys(question))}。",
            details,
        )
    if len(chosen) > 1:
        return CheckResult(0.0, False, expected, f"这是单选题，只能选一个，你选了 {_join(chosen)}。", details)
    if feedback := _option_feedback(question, chosen):
        details["option_feedback"] = feedback
    if chosen[0] in right:
        return CheckResult(1.0, True, expected, "回答正确。", details)
    # Moodle's single-answer multichoice: the chosen option's fraction, clamped to [0, 1].
    weight = (question.weights or {}).get(chosen[0], 0.0)
    score = min(max(weight, 0.0), 1.0)
    credit = f"（得分 {_percent(score)}）" if score > 0 else ""
    return CheckResult(score, False, expected, f"正确答案是 {expected}，你选的是 {chosen[0]}{credit}。", details)


def _check_truefalse(question: Question, answer: Any) -> CheckResult:
    right = "T" if question.answer else "F"
    chosen = parse_truefalse(answer)
    details: dict[str, Any] = {"chosen": [chosen], "correct": [right]}
    if feedback := _option_feedback(question, [chosen]):
        details["option_feedback"] = feedback
    if chosen == right:
        return CheckResult(1.0, True, bool(question.answer), "回答正确。", details)
    verdict = "这句话是对的" if question.answer else "这句话是错的"
    return CheckResult(0.0, False, bool(question.answer), f"{verdict}。", details)


def _check_multiple(question: Question, answer: Any) -> CheckResult:
    right = sorted(k.upper() for k in question.correct_keys)
    chosen = parse_choice(answer)
    details: dict[str, Any] = {"chosen": list(chosen), "correct": right}
    if bad := _unknown(question, chosen):
        return CheckResult(
            0.0, False, right, f"没有选项 {_join(bad)}，可选的是 {_join(_option_keys(question))}。", details
        )
    wrong = [k for k in _option_keys(question) if k not in right]
    if question.weights:
        shares = {k.upper(): float(v) for k, v in question.weights.items()}
    else:
        # Moodle: every right option earns 1/#right, every wrong one costs 1/#wrong.
        shares = {k: 1.0 / len(right) for k in right} | {k: -1.0 / len(wrong) for k in wrong}
    raw = sum(shares.get(k, 0.0) for k in chosen)
    score = min(max(raw, 0.0), 1.0)
    if score >= 1.0 - 1e-9:
        score = 1.0
    if feedback := _option_feedback(question, chosen):
        details["option_feedback"] = feedback
    hit = [k for k in chosen if k in right]
    missed = [k for k in right if k not in chosen]
    extra = [k for k in chosen if k not in right]
    if not missed and not extra:
        feedback = "全部选对。"
    else:
        parts = []
        if hit:
            parts.append(f"选对了 {_join(hit)}")
        if missed:
            parts.append(f"漏选了 {_join(missed)}")
        if extra:
            parts.append(f"错选了 {_join(extra)}")
        feedback = "；".join(parts) + f"。正确答案是 {_join(right)}。"
    return CheckResult(score, score >= CORRECT_THRESHOLD, right, feedback, details)


# --- numeric -----------------------------------------------------------------------------------


def _check_numeric(
    answer: Any,
    expected: float,
    tolerance: float,
    rel_tolerance: float,
    *,
    unit: str | None,
    suffixes: bool,
    extra: dict[str, Any] | None = None,
) -> CheckResult:
    plain = _plain_number(expected)
    value = parse_number(answer, suffixes=suffixes, unit=unit)
    diff = abs(value - expected)
    slack = _EPS * max(1.0, abs(expected))
    ok = diff <= tolerance + slack or (rel_tolerance > 0 and diff <= rel_tolerance * abs(expected) + slack)
    details: dict[str, Any] = {
        "value": _plain_number(value),
        "expected": plain,
        "tolerance": tolerance,
        "rel_tolerance": rel_tolerance,
        "unit": unit,
        **(extra or {}),
    }
    suffix = f" {unit}" if unit else ""
    if ok:
        return CheckResult(1.0, True, plain, "回答正确。", details)
    direction = "偏大" if value > expected else "偏小"
    allowed = ""
    if rel_tolerance > 0:
        allowed = f"（允许相对误差 {rel_tolerance:.6g}）"
    elif tolerance > 0:
        allowed = f"（允许误差 ±{tolerance:.6g}）"
    feedback = f"你的答案 {_fmt(value)}{suffix} {direction}，正确答案是 {_fmt(expected)}{suffix}{allowed}。"
    return CheckResult(0.0, False, plain, feedback, details)


def _check_numeric_answers(question: Question, answer: Any) -> CheckResult:
    """A numeric item with several accepted values or ranges: the first that holds the number gives its
    fraction and its feedback (Moodle's qtype_numerical)."""
    expected = float(question.answer)
    plain = _plain_number(expected)
    unit = question.unit
    value = parse_number(answer, suffixes=question.suffixes, unit=unit)
    hit = next((a for a in question.accepted if numeric_accepts(a, value)), None)
    details: dict[str, Any] = {"value": _plain_number(value), "expected": plain, "unit": unit,
                               "accepted": [_accepted_view(a) for a in question.accepted]}
    suffix = f" {unit}" if unit else ""
    if hit is not None:
        details.update(matched=question.accepted.index(hit), fraction=hit.fraction, answer_feedback=hit.feedback)
    score = hit.fraction if hit is not None else 0.0
    if score >= 1:
        return CheckResult(1.0, True, plain, "回答正确。", details)
    credit = f"部分正确（得分 {_percent(score)}）：" if score > 0 else ""
    direction = "偏大" if value > expected else "偏小"
    feedback = f"{credit}你的答案 {_fmt(value)}{suffix} {direction}，正确答案是 {_fmt(expected)}{suffix}。"
    return CheckResult(score, False, plain, feedback, details)


def _accepted_view(a: Accepted) -> dict[str, Any]:
    if a.value is not None:
        return {"value": _plain_number(a.value), "tolerance": a.tolerance, "fraction": a.fraction}
    return {"min": a.low, "max": a.high, "fraction": a.fraction}


# --- short answer and matching -------------------------------------------------------------------


def _check_short(question: Question, answer: Any) -> CheckResult:
    """Moodle's qtype_shortanswer: the first accepted answer the whole text matches (`*` any run of
    characters) gives its fraction and its feedback; case matters only when the item says so."""
    text = parse_short(answer)
    expected = expected_answer(question)
    hit = first_match(question.accepted, text, question.case_sensitive)
    details: dict[str, Any] = {"given": text.strip(), "case_sensitive": question.case_sensitive}
    if hit is not None:
        details.update(matched=question.accepted.index(hit), fraction=hit.fraction, answer_feedback=hit.feedback)
    score = hit.fraction if hit is not None else 0.0
    if score >= 1:
        return CheckResult(1.0, True, expected, "回答正确。", details)
    if score > 0:
        return CheckResult(score, False, expected, f"部分正确（得分 {_percent(score)}），参考答案是「{expected}」。",
                           details)
    return CheckResult(0.0, False, expected, f"不对，参考答案是「{expected}」。", details)


def matching_rights(question: Question) -> list[str]:
    """A matching item's right texts, each once, in bank order (distractors included)."""
    return list(dict.fromkeys(p.right for p in question.pairs))


def _check_matching(question: Question, answer: Any) -> CheckResult:
    """Moodle's qtype_match: the share of left items matched to their right text (an unanswered one counts
    as wrong)."""
    lefts = [p for p in question.pairs if p.left]
    picked = parse_matching(answer, [p.left for p in lefts], matching_rights(question))
    rows = [{"left": p.left, "given": picked.get(p.left), "expected": p.right, "ok": picked.get(p.left) == p.right}
            for p in lefts]
    right = sum(r["ok"] for r in rows)
    score = right / len(lefts)
    expected = expected_answer(question)
    details = {"pairs": rows}
    if right == len(lefts):
        return CheckResult(1.0, True, expected, "全部配对正确。", details)
    wrong = [str(r["left"]) for r in rows if not r["ok"]]
    return CheckResult(score, False, expected, f"配对对了 {right}/{len(lefts)} 项；配错或没配的：{_join(wrong)}。", details)


# --- shape -------------------------------------------------------------------------------------


def _check_shape(
    answer: Any,
    expected: tuple[int, ...],
    order: str | None,
    batch_optional: bool,
    extra: dict[str, Any] | None = None,
) -> CheckResult:
    given = parse_shape(answer)
    names: list[str | None] = list(order) if order and len(order) == len(expected) else [None] * len(expected)
    target, target_names = expected, names
    if batch_optional and len(given) == len(expected) - 1 and len(expected) > 1:
        target, target_names = expected[1:], names[1:]
    shown = list(expected)
    if len(given) != len(target):
        layout = f"（{order}）" if order and len(order) == len(expected) else ""
        optional = f"，也可省略第 1 维 {names[0] or ''}".rstrip() if batch_optional else ""
        feedback = f"维度数不对：应为 {len(expected)} 维{layout}{optional}，你写了 {len(given)} 维。"
        return CheckResult(0.0, False, shown, feedback, {"dims": [], "given": list(given), **(extra or {})})
    dims = [
        {"index": i, "name": target_names[i], "expected": e, "given": g, "ok": e == g}
        for i, (e, g) in enumerate(zip(target, given, strict=True))
    ]
    details = {"dims": dims, **(extra or {})}
    bad = [d for d in dims if not d["ok"]]
    if not bad:
        return CheckResult(1.0, True, shown, "形状正确。", details)
    # All or nothing: N and C are usually copied from the prompt, so partial credit would mostly reward that.
    parts = [
        f"第 {d['index'] + 1} 维"
        + (f"（{d['name']}）" if d["name"] else "")
        + f"应为 {d['expected']}，你写的是 {d['given']}"
        for d in bad
    ]
    return CheckResult(0.0, False, shown, "；".join(parts) + "。", details)


# --- open --------------------------------------------------------------------------------------


def open_text(answer: Any) -> str:
    """The text of an open answer that can be graded; AnswerFormatError for anything else."""
    if not isinstance(answer, str):
        raise AnswerFormatError("请用文字作答。")
    check_text(answer, MAX_OPEN_TEXT_LEN)
    if not answer.strip():
        raise AnswerFormatError("答案为空。")
    return answer


def self_rated_result(question: Question, text: str) -> CheckResult:
    """An open item without key points (an imported essay): nothing to grade it by, so the candidate's own
    rating is its only grade. The result shows the reference and proposes no rating; score 0 marks nothing
    (app.practice.scheduling.is_mistake reads a self-rated item from the rating alone)."""
    return CheckResult(0.0, False, question.reference, "这一题没有要点可以对照：对照参考答案给自己打分。",
                       {"self_rated": True, "keypoints": [], "misconceptions": []}, ({"code": "self_rated"},))


def open_result(question: Question, grade: OpenGrade) -> CheckResult:
    """A graded open answer as a result: the per-point verdicts and codes, and one plain sentence."""
    by = {v: [p.label for p in grade.points if p.verdict == v] for v in ("covered", "named", "contradicted",
                                                                        "missing")}
    parts = [f"覆盖了 {len(by['covered'])}/{len(grade.points)} 个要点"]
    if by["named"]:
        parts.append(f"只点到名字、没有解释：{_join(by['named'])}")
    if by["contradicted"]:
        parts.append(f"说反了：{_join(by['contradicted'])}")
    if by["missing"]:
        parts.append(f"还可以谈谈：{_join(by['missing'])}")
    parts.extend(f"误区「{m.label}」：{m.statement}" for m in grade.misconceptions)
    return CheckResult(grade.score, grade.score >= OPEN_CORRECT_THRESHOLD, question.reference,
                       "；".join(parts) + "。", grade.details(), tuple(grade.codes()))


# --- generated ---------------------------------------------------------------------------------


def _check_code(question: Question, answer: Any, judge: JudgeCode | None) -> CheckResult:
    if not isinstance(answer, str) or not answer.strip():
        return _unreadable(None, "代码题的答案是 Python 源码（一个字符串），不能为空")
    if judge is None:
        raise ValueError(f"question {question.id} is a code item: it needs the judge")
    verdict = judge(question, answer)
    text, codes = code_feedback(verdict)
    return CheckResult(score=float(verdict["score"]), correct=verdict["status"] == "accepted", expected=None,
                       feedback=text, details={"judge": verdict}, codes=codes)


def _check_generated(question: Question, answer: Any, seed: Any, inst: Instance | None) -> CheckResult:
    try:
        _require_seed(seed)
    except AnswerFormatError as exc:
        return _unreadable(None, exc.message_zh)
    inst = inst or instance_for(question, seed)
    extra = {"seed": seed, "params": dict(inst.params)}
    try:
        if inst.kind == "shape":
            expected_shape = tuple(int(d) for d in inst.answer)  # type: ignore[union-attr]
            return _check_shape(answer, expected_shape, inst.order, question.batch_optional, extra)
        expected_value = float(inst.answer)  # type: ignore[arg-type]
        if not math.isfinite(expected_value):
            raise ValueError(f"calculator {inst.calculator} gave a non-finite answer")
        return _check_numeric(
            answer,
            expected_value,
            inst.tolerance,
            inst.rel_tolerance,
            unit=question.unit,
            suffixes=question.suffixes,
            extra=extra,
        )
    except AnswerFormatError as exc:
        return _unreadable(_shown(inst), exc.message_zh, **extra)


def _shown(inst: Instance) -> Any:
    """A generated instance's answer as `expected` shows it: a list for shapes, a plain number otherwise."""
    if inst.kind == "shape":
        return list(inst.answer)  # type: ignore[arg-type]
    return _plain_number(float(inst.answer))  # type: ignore[arg-type]
