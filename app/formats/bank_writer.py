"""Write Question records as a bank in Mianjing's own markdown (content/FORMAT.md).

Every import lands here, so that what came from GIFT, Moodle XML or CSV can be reviewed, diffed and
published like any bank. The writer is the parser's inverse: `parse_bank(write_bank(...))` gives back the
same questions (tests/test_bank_writer.py checks it over every bundled bank).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from app.content.model import Accepted, CodeSpec, KeyPoint, Misconception, Option, Question

# A line the bank reader would take for a heading of its own; a backslash keeps it text (CommonMark).
_HEADING_LIKE_RE = re.compile(r"^( {0,3})(#{1,6})(\s|$)")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _dump(data: dict[str, Any]) -> str:
    """The metadata as a JSON object, a key a line: JSON is YAML, so the bank reads as any bank, and both
    json.dumps and the reader's json.loads (app/content/markdown_doc.py) are ten times faster than PyYAML
    (whose 1 ms a question was most of a 10,000-question import)."""
    lines = (f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in data.items())
    return "{\n" + ",\n".join(lines) + "\n}"


def write_bank(*, bank: str, title: str, description: str, questions: Iterable[Question]) -> str:
    front = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in
                      (("id", bank), ("title", title), ("description", description)))
    parts = [f"---\n{front}\n---\n"]
    parts.extend(write_question(q) for q in questions)
    return "\n".join(parts)


def write_question(q: Question) -> str:
    heading = f"## {q.id} {_one_line(q.title)}".rstrip()
    out = [heading, "", "```yaml", _dump(_meta(q)), "```", "", _text(q.prompt), ""]
    for title, body in _sections(q):
        out += [f"### {title}", "", body, ""]
    return "\n".join(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _text(markdown: str) -> str:
    """Markdown kept as it is, except lines outside code fences that would open a `##`/`###` block."""
    lines, fence = [], None
    for raw in markdown.split("\n"):
        fm = _FENCE_RE.match(raw)
        if fence is None and fm:
            fence = fm.group(1)
        elif fence is not None and fm and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence):
            fence = None
        elif fence is None and _HEADING_LIKE_RE.match(raw):
            raw = _HEADING_LIKE_RE.sub(lambda m: f"{m.group(1)}\\{m.group(2)}{m.group(3)}", raw, count=1)
        lines.append(raw)
    return "\n".join(lines)


def _number(x: float) -> int | float:
    return int(x) if isinstance(x, float) and x.is_integer() and abs(x) < 2**53 else x


def _meta(q: Question) -> dict[str, Any]:
    meta: dict[str, Any] = {"type": q.type, "difficulty": q.difficulty, "topics": list(q.topics)}
    if q.tags:
        meta["tags"] = list(q.tags)
    meta["source"] = q.source
    if q.imported_from:
        meta["imported_from"] = q.imported_from
    if q.followups:
        meta["followups"] = list(q.followups)
    if not q.scored and q.type != "description":
        meta["scored"] = False
    if q.replaces:
        meta["replaces"] = list(q.replaces)
    if q.not_duplicate_of:
        meta["not_duplicate_of"] = dict(q.not_duplicate_of)
    meta.update(_TYPE_META.get(q.type, lambda _q: {})(q))
    return meta


def _choice_meta(q: Question) -> dict[str, Any]:
    return {"weights": {k: _number(v) for k, v in q.weights.items()}} if q.weights else {}


def _truefalse_meta(q: Question) -> dict[str, Any]:
    meta: dict[str, Any] = {"answer": bool(q.answer)}
    feedback = {o.key == "T": o.feedback for o in q.options if o.feedback}
    if feedback:
        meta["feedback"] = {k: feedback[k] for k in (True, False) if k in feedback}
    return meta


def _numeric_meta(q: Question) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if q.accepted:
        meta["answers"] = [_accepted_number(a) for a in q.accepted]
    else:
        meta["answer"] = _number(float(q.answer))
        if q.tolerance:
            meta["tolerance"] = _number(q.tolerance)
        if q.rel_tolerance:
            meta["rel_tolerance"] = _number(q.rel_tolerance)
    if q.unit is not None:
        meta["unit"] = q.unit
    if q.suffixes:
        meta["suffixes"] = True
    return meta


def _accepted_number(a: Accepted) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if a.value is not None:
        entry["value"] = _number(a.value)
        if a.tolerance:
            entry["tolerance"] = _number(a.tolerance)
    else:
        entry.update(min=_number(a.low), max=_number(a.high))  # type: ignore[arg-type]
    if a.fraction != 1.0:
        entry["fraction"] = _number(a.fraction)
    if a.feedback:
        entry["feedback"] = a.feedback
    return entry


def _shape_meta(q: Question) -> dict[str, Any]:
    meta: dict[str, Any] = {"answer": list(q.answer)}
    if q.order is not None:
        meta["order"] = q.order
    if q.batch_optional:
        meta["batch_optional"] = True
    return meta


def _open_meta(q: Question) -> dict[str, Any]:
    return {"self_rated": True} if q.self_rated else {}


def _short_meta(q: Question) -> dict[str, Any]:
    return {"case_sensitive": True} if q.case_sensitive else {}


def _generated_meta(q: Question) -> dict[str, Any]:
    meta: dict[str, Any] = {"calculator": q.calculator}
    if q.params:
        meta["params"] = q.params
    if q.suffixes:
        meta["suffixes"] = True
    return meta


def _code_meta(q: Question) -> dict[str, Any]:
    spec: CodeSpec = q.code  # type: ignore[assignment]
    defaults = CodeSpec(entry="", starter="", reference="", tests="")
    meta: dict[str, Any] = {"entry": spec.entry}
    for key, attr in (("compare", "compare"), ("rtol", "rtol"), ("atol", "atol"), ("random_cases", "random_cases"),
                      ("seed", "seed"), ("time_limit", "time_limit_s"), ("memory_mb", "memory_mb")):
        value = getattr(spec, attr)
        if value != getattr(defaults, attr):
            meta[key] = _number(value) if isinstance(value, float) else value
    return meta


_TYPE_META = {
    "single": _choice_meta, "multiple": _choice_meta, "truefalse": _truefalse_meta, "numeric": _numeric_meta,
    "shape": _shape_meta, "open": _open_meta, "short": _short_meta, "generated": _generated_meta,
    "code": _code_meta,
}


def _sections(q: Question) -> list[tuple[str, str]]:
    sections: list[tuple[str, str]] = []
    if q.type in ("single", "multiple"):
        sections.append(("选项", "\n".join(_option(o) for o in q.options)))
    elif q.type == "short":
        sections.append(("可接受答案", "\n".join(_accepted_text(a) for a in q.accepted)))
    elif q.type == "matching":
        sections.append(("配对", "\n".join(_pair(p.left, p.right) for p in q.pairs)))
    elif q.type == "open":
        if q.reference:
            sections.append(("参考答案", _text(q.reference)))
        if q.keypoints:
            sections.append(("要点", "\n".join(_claim(p) for p in q.keypoints)))
        if q.misconceptions:
            sections.append(("常见误区", "\n".join(_claim(m) for m in q.misconceptions)))
    elif q.type == "code" and q.code is not None:
        for title, source in (("代码模板", q.code.starter), ("参考实现", q.code.reference),
                              ("测试用例", q.code.tests), ("包装", q.code.wrapper)):
            if source:
                sections.append((title, _python(source)))
    if q.explanation:
        sections.append(("解析", _text(q.explanation)))
    return sections


def _with_feedback(item: str, feedback: str) -> str:
    return item + (f"\n  > {_one_line(feedback)}" if feedback else "")


def _option(o: Option) -> str:
    lines = o.text.split("\n")
    body = "\n".join([lines[0], *(f"  {line}" for line in lines[1:])])
    return _with_feedback(f"- [{'x' if o.correct else ' '}] {o.key}. {body}", o.feedback)


def _accepted_text(a: Accepted) -> str:
    credit = "" if a.fraction == 1.0 else f" (得分 {_percent(a.fraction)}%)"
    return _with_feedback(f"- {_one_line(a.text)}{credit}", a.feedback)


def _pair(left: str, right: str) -> str:
    return f"- {_one_line(left)} -> {_one_line(right)}" if left else f"- -> {_one_line(right)}"


def _percent(fraction: float) -> str:
    value = round(fraction * 100, 5)
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _claim(point: KeyPoint | Misconception) -> str:
    groups = point.pattern_groups
    patterns = " & ".join("|".join(g) for g in groups)
    weight = getattr(point, "weight", 1.0)
    suffix = "" if weight == 1.0 or not math.isfinite(weight) else f" (权重 {_number(float(weight))})"
    return _with_feedback(f"- {point.label}: {patterns}{suffix}", point.statement)


def _python(source: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", source)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}python\n{source.rstrip(chr(10))}\n{fence}"
