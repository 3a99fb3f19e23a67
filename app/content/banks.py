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
    BankInfo,
    CodeSpec,
    ContentError,
    Groups,
    KeyPoint,
    Misconception,
    Option,
    Question,
)

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
OPTION_RE = re.compile(r"^\s*[-*+]\s+\[( |x|X)\]\s+(.*)$")
OPTION_KEY_RE = re.compile(r"^([A-Za-z])\s*[.、)）．]\s*(.*)$")
KEYPOINT_RE = re.compile(r"^\s*[-*+]\s+(.*)$")
STATEMENT_RE = re.compile(r"^\s+>\s?(.*)$")  # the claim, on the line under its item: "  > 同一神经元…"
WEIGHT_RE = re.compile(r"\s*[(（]\s*(?:权重|weight)\s*[:：]?\s*([0-9.]+)\s*[)）]\s*$", re.IGNORECASE)
PLACEHOLDER_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")

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
}
COMMON_KEYS = {"type", "difficulty", "topics", "tags", "source", "followups", "scored", "replaces",
               "not_duplicate_of"}
TYPE_KEYS = {
    "single": {"weights"},
    "multiple": {"weights"},
    "numeric": {"answer", "tolerance", "rel_tolerance", "unit", "suffixes"},
    "shape": {"answer", "order", "batch_optional"},
    "open": set(),
    "generated": {"calculator", "params", "suffixes"},  # suffixes: only with a numeric calculator
    "code": {"entry", "compare", "rtol", "atol", "random_cases", "seed", "time_limit", "memory_mb"},
}
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
    scored = meta.get("scored", True)
    if not isinstance(scored, bool):
        err(line("scored"), "scored 必须是 true 或 false（false：只练不评分，如自我介绍、反问）")
        ok = False
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
        sections[name] = section.text
        section_lines[name] = section.line  # the heading: where a problem with the whole section is reported
        section_lines[name + ".text"] = section.text_line  # line i of the section's text is text_line + 1 + i
    prompt = block.intro_text
    if not prompt:
        err(block.line, "题干为空")
        ok = False
    explanation = sections.get("explanation", "")
    if not explanation:
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
        replaces=tuple(replaces or ()),
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
        elif raw.strip() and options and raw.startswith((" ", "\t")):
            last = options[-1]
            options[-1] = Option(last.key, f"{last.text}\n{raw.strip()}", last.correct)
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
        keys = {o.key for o in options}
        if not isinstance(weights, dict) or not all(
            str(k).upper() in keys and _number(v) is not None for k, v in weights.items()
        ):
            err(block.key_line("weights"), "weights 应为 {选项: 分值}，选项必须存在，分值为数字")
            ok = False
        else:
            fields["weights"] = {str(k).upper(): float(v) for k, v in weights.items()}
    fields["options"] = tuple(options)
    return ok


def _numeric(meta, sections, section_lines, block, fields, err) -> bool:
    ok = True
    answer = _number(meta.get("answer"))
    if answer is None:
        err(block.key_line("answer"), "数值题缺少数字 answer")
        ok = False
    for key in ("tolerance", "rel_tolerance"):
        if key in meta:
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
