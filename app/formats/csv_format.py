"""CSV in and out: one row per question, for spreadsheets (Excel, LibreOffice, Google Sheets) and Anki.

The header is exactly `id,type,bank,topics,difficulty,stem,options,answer,tolerance,explanation,key_points,
feedback`. Export writes UTF-8 with a BOM (so Excel reads it as UTF-8) and CRLF line ends; import accepts it
with or without the BOM (and GB18030, what Excel writes on Chinese Windows, with a warning), a `;`
separator (Excel in some locales), cells with line breaks, and skips rows that are entirely empty.
A JSON cell may hold plain text where said so. What each cell holds:

| column | holds |
|---|---|
| id | the question id (lower-case letters, digits, dashes); empty → made from the bank, title and row (app/formats/ids.py) |
| type | single, multiple, truefalse, numeric, shape, short, matching, open, generated, code, description |
| bank | the bank id, for the reader; an import puts every row into the bank it is given (a different value is reported once) |
| topics | JSON list of strings (`["激活函数", "优化器"]`); plain text = one topic; empty → the bank id |
| difficulty | integer 1…5; empty → 3 |
| stem | the prompt (markdown; a generated item's template with `{{name}}` placeholders) |
| options | single/multiple: JSON list of options keyed A, B, C… in order, each a string or `{"key", "text", "feedback"}` (written as objects only when an option has feedback or the keys are not A, B, C…); matching: JSON list of `[left, right]` pairs (`["", right]` = a distractor); other types: empty |
| answer | single: the key (`C`); multiple: JSON list of keys (`["B", "C"]`); either one with weights: a JSON object `{"A": 1, "B": 0.5, "C": -0.5}` (single: the key worth 1 is correct; multiple: the keys with positive weight); truefalse: `true`/`false` (also 对/错, 正确/错误, T/F); numeric: a number, or a JSON list of accepted answers `{"value", "tolerance", "fraction", "feedback"}` / `{"min", "max", "fraction", "feedback"}`; shape: JSON list of ints; short: JSON list of accepted answers, each a string (100%) or `{"text", "fraction", "feedback"}`; open: the reference answer (markdown); matching, generated, code, description: empty |
| tolerance | numeric with one answer: the absolute tolerance; empty → 0 |
| explanation | the explanation (解析, markdown); may be empty: every row is marked `imported_from: csv:<file>` unless its feedback cell says otherwise |
| key_points | open: JSON list of `{"label", "synonyms", "weight", "statement", "groups"}` (weight 1 and groups [] may be left out; a missing statement is the label) |
| feedback | a JSON object (empty cell = `{}`): for truefalse `true`/`false`, the feedback shown to whoever answered true / false; then everything the cells above do not hold, as the Mianjing extension (app/formats/extension.py): Question field names with JSON values that override what the cells give, e.g. `title`, `tags`, `source` (default: the file name), `followups`, `scored`, `unit`, `suffixes`, `rel_tolerance`, `order`, `batch_optional`, `case_sensitive`, `self_rated`, `misconceptions` (`[{"label", "groups", "statement"}]`), `calculator` and `params` (generated), `code` (the code item's spec: `entry`, `starter`, `reference`, `tests`, …), option `feedback`s. Export writes exactly the fields that differ from what the other cells read back as. |

Every problem is reported with its data row (1 = the first row after the header) and column; a row with an
error is left out. Export → import → export gives the identical file.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from app.content.banks import ID_RE, TRUEFALSE_TEXT
from app.content.model import (
    QUESTION_TYPES,
    Accepted,
    KeyPoint,
    Option,
    Pair,
    Question,
)
from app.formats import ImportNote, ImportResult, pairs_problem
from app.formats.extension import ExtensionError, from_extension, to_extension
from app.formats.ids import question_id

HEADER = ("id", "type", "bank", "topics", "difficulty", "stem", "options", "answer", "tolerance", "explanation",
          "key_points", "feedback")
BOM = "\ufeff"
_TRUE = {"true", "t", "对", "正确", "yes", "1"}
_FALSE = {"false", "f", "错", "错误", "no", "0"}
class _CellError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _num(x: float) -> Any:
    """A number as it reads best in a cell: 1792 rather than 1792.0."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def _num_text(x: float) -> str:
    return str(_num(x))


# --- export ------------------------------------------------------------------------------------


def _options_cell(q: Question) -> str:
    if q.type == "matching":
        return _dumps([[p.left, p.right] for p in q.pairs])
    if q.type not in ("single", "multiple"):
        return ""
    plain = all(o.key == chr(ord("A") + i) and not o.feedback for i, o in enumerate(q.options))
    if plain:
        return _dumps([o.text for o in q.options])
    return _dumps([{"key": o.key, "text": o.text, **({"feedback": o.feedback} if o.feedback else {})}
                   for o in q.options])


def _accepted_json(a: Accepted, short: bool) -> Any:
    if short:
        if a.fraction == 1.0 and not a.feedback:
            return a.text
        out: dict[str, Any] = {"text": a.text}
    elif a.value is not None:
        out = {"value": _num(a.value), "tolerance": _num(a.tolerance)}
    else:
        out = {"min": _num(a.low or 0.0), "max": _num(a.high or 0.0)}
    out["fraction"] = _num(a.fraction)
    if a.feedback:
        out["feedback"] = a.feedback
    return out


def _answer_cell(q: Question) -> str:
    t = q.type
    if t in ("single", "multiple"):
        if q.weights is not None:
            return _dumps({k: _num(v) for k, v in q.weights.items()})
        keys = list(q.correct_keys)
        return keys[0] if t == "single" else _dumps(keys)
    if t == "truefalse":
        return "true" if q.answer else "false"
    if t == "numeric":
        if q.accepted:
            return _dumps([_accepted_json(a, False) for a in q.accepted])
        return _num_text(float(q.answer))
    if t == "shape":
        return _dumps([int(d) for d in q.answer])
    if t == "short":
        return _dumps([_accepted_json(a, True) for a in q.accepted])
    if t == "open":
        return q.reference
    return ""


def _keypoints_cell(q: Question) -> str:
    if not q.keypoints:
        return ""
    out = []
    for k in q.keypoints:
        d: dict[str, Any] = {"label": k.label, "synonyms": list(k.synonyms)}
        if k.weight != 1.0:
            d["weight"] = _num(k.weight)
        if k.statement:
            d["statement"] = k.statement
        if k.groups:
            d["groups"] = [list(g) for g in k.groups]
        out.append(d)
    return _dumps(out)


def _tf_feedback(q: Question) -> dict[str, str]:
    """A true/false item's feedback per side, the `true`/`false` keys of the feedback cell."""
    if q.type != "truefalse":
        return {}
    return {("true" if o.key == "T" else "false"): o.feedback for o in q.options if o.feedback}


def _feedback_cell(q: Question, cells: list[str], file: str, position: int) -> str:
    """What the other cells do not hold: the extension over what they read back as (app/formats/extension.py)."""
    tf = _tf_feedback(q)
    row = dict(zip(HEADER, [*cells, _dumps(tf) if tf else ""], strict=True))
    native = _Row(row, bank=q.bank, file=file, position=position, taken=set()).native()
    ext = to_extension(q, base=native, always=())
    ext.pop("v", None)
    out = {**tf, **ext}
    return _dumps(out) if out else ""


def _tolerance_cell(q: Question) -> str:
    return _num_text(q.tolerance) if q.type == "numeric" and not q.accepted and q.tolerance else ""


def export_csv(questions: Sequence[Question], *, file: str = "") -> str:
    """The CSV text (BOM first) of `questions`; `file` is the name a later import will be given, so that a
    source equal to it is left out of the feedback cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    for position, q in enumerate(questions, start=1):
        cells = [q.id, q.type, q.bank, _dumps(list(q.topics)), str(q.difficulty), q.prompt, _options_cell(q),
                 _answer_cell(q), _tolerance_cell(q), q.explanation, _keypoints_cell(q)]
        writer.writerow([*cells, _feedback_cell(q, cells, file, position)])
    return BOM + buf.getvalue()


# --- import ------------------------------------------------------------------------------------


def _json_cell(field: str, text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _CellError(field, f"不是合法的 JSON（{exc.msg}，第 {exc.pos + 1} 个字符）；应为{what} / not valid "
                                f"JSON") from None


def _str_list(field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _CellError(field, "应为字符串列表 / must be a list of strings")
    return tuple(value)


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _CellError(field, f"应为数字，而不是 {value!r} / must be a number")
    try:
        x = float(value)
    except ValueError:
        raise _CellError(field, f"应为数字，而不是 {value!r} / must be a number") from None
    if not math.isfinite(x):
        raise _CellError(field, f"应为有限的数字，而不是 {value!r} / must be a finite number")
    return x


def _groups(field: str, value: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list):
        raise _CellError(field, "groups 应为字符串列表的列表 / groups must be a list of lists of strings")
    return tuple(_str_list(field, g) for g in value)


class _Row:
    def __init__(self, cells: dict[str, str], *, bank: str, file: str, position: int, taken: set[str]) -> None:
        self.c = cells
        self.bank = bank
        self.file = file
        self.position = position
        self.taken = taken

    def extras(self) -> dict[str, Any]:
        text = self.c["feedback"].strip()
        if not text:
            return {}
        value = _json_cell("feedback", text, " JSON 对象（见 app/formats/csv_format.py）")
        if not isinstance(value, dict):
            raise _CellError("feedback", "应为 JSON 对象 / must be a JSON object")
        return value

    def native(self) -> Question:
        """The question the columns give (with a true/false item's `true`/`false` feedback), before the rest of
        the feedback cell is applied."""
        c = self.c
        qtype = c["type"].strip().lower()
        if qtype not in QUESTION_TYPES:
            raise _CellError("type", f"未知题型「{c['type']}」，可选：{', '.join(QUESTION_TYPES)} / unknown type")
        self.ex = self.extras()
        qid = c["id"].strip()
        if qid:
            if not ID_RE.match(qid):
                raise _CellError("id", f"题号「{qid}」只能包含小写字母、数字和连字符 / invalid id")
            if qid in self.taken:
                raise _CellError("id", f"题号「{qid}」重复 / duplicate id")
        else:
            title = self.ex.get("title", "")
            qid = question_id(self.bank, title if isinstance(title, str) else "", self.position, set(self.taken))
        topics_text = c["topics"].strip()
        if not topics_text:
            topics: tuple[str, ...] = (self.bank,)
        elif topics_text.startswith("["):
            topics = _str_list("topics", _json_cell("topics", topics_text, "字符串列表"))
        else:
            topics = (topics_text,)
        diff_text = c["difficulty"].strip()
        try:
            difficulty = int(diff_text) if diff_text else 3
        except ValueError:
            raise _CellError("difficulty", f"应为 1 到 5 的整数，而不是「{diff_text}」 / must be an integer 1-5") from None
        if not 1 <= difficulty <= 5:
            raise _CellError("difficulty", f"应为 1 到 5 的整数，而不是 {difficulty} / must be an integer 1-5")
        stem = c["stem"].strip()
        if not stem:
            raise _CellError("stem", "题干为空 / the stem is empty")
        base: dict[str, Any] = {
            "id": qid, "bank": self.bank, "type": qtype, "title": "", "prompt": stem,
            "explanation": c["explanation"].strip(), "difficulty": difficulty, "topics": topics, "tags": (),
            "source": self.file, "file": self.file, "line": 0,
            # an imported row may have no explanation (content/FORMAT.md)
            "imported_from": f"csv:{self.file}" if self.file else "",
        }
        base.update(getattr(self, "t_" + qtype)(self.ex))
        return Question(**base)

    def question(self) -> Question:
        native = self.native()
        rest = {k: v for k, v in self.ex.items() if not (native.type == "truefalse" and k in ("true", "false"))}
        try:
            q = from_extension(rest, bank=self.bank, file=self.file, base=native) if rest else native
        except ExtensionError as exc:
            raise _CellError("feedback", f"{exc} / the feedback cell cannot be read") from None
        if q.id != native.id:
            raise _CellError("feedback", "id 写在 id 列，不在 feedback 里 / the id belongs in the id column")
        if q.type == "generated" and not q.calculator:
            raise _CellError("feedback", "随机题要在 feedback 里给出 calculator 和 params / needs calculator")
        if q.type == "code" and q.code is None:
            raise _CellError("feedback", "代码题要在 feedback 里给出 code / a code item needs its code spec")
        self.taken.add(q.id)
        return q

    def weights_or_keys(self, qtype: str, options: tuple[Option, ...]) -> dict[str, Any]:
        text = self.c["answer"].strip()
        keys = {o.key for o in options}
        if not text:
            raise _CellError("answer", "缺少答案 / the answer is empty")
        value: Any = _json_cell("answer", text, "选项字母、列表或权重对象") if text[0] in "[{\"" else text
        weights: dict[str, float] | None = None
        if isinstance(value, dict):
            weights = {str(k).upper(): _number("answer", v) for k, v in value.items()}
            chosen = [k for k, w in weights.items() if (w == 1.0 if qtype == "single" else w > 0)]
        elif isinstance(value, list):
            chosen = [str(k).strip().upper() for k in value]
        elif isinstance(value, str):
            chosen = [value.strip().upper()]
        else:
            raise _CellError("answer", "应为选项字母、列表或权重对象 / must be keys or weights")
        bad = [k for k in list(chosen) + list(weights or {}) if k not in keys]
        if bad:
            raise _CellError("answer", f"没有选项 {', '.join(sorted(set(bad)))} / unknown option keys")
        if qtype == "single" and len(chosen) != 1:
            raise _CellError("answer", "单选题应恰有一个正确选项 / a single item has exactly one right option")
        if not chosen:
            raise _CellError("answer", "没有正确选项 / no right option")
        options = tuple(Option(o.key, o.text, o.key in chosen, o.feedback) for o in options)
        return {"options": options, "weights": weights}

    def choice_options(self) -> tuple[Option, ...]:
        text = self.c["options"].strip()
        if not text:
            raise _CellError("options", "选择题缺少选项 / no options")
        value = _json_cell("options", text, "选项列表")
        if not isinstance(value, list) or len(value) < 2:
            raise _CellError("options", "应为至少两个选项的列表 / must list at least two options")
        out = []
        for i, item in enumerate(value):
            key = chr(ord("A") + i)
            if isinstance(item, str):
                out.append(Option(key, item, False))
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                out.append(Option(str(item.get("key", key)).upper(), item["text"], False,
                                  str(item.get("feedback", ""))))
            else:
                raise _CellError("options", f"第 {i + 1} 个选项应为字符串或 {{key, text, feedback}} / invalid option")
        if len({o.key for o in out}) != len(out):
            raise _CellError("options", "选项字母重复 / duplicate option keys")
        return tuple(out)

    def t_single(self, ex: dict[str, Any]) -> dict[str, Any]:
        return self.weights_or_keys("single", self.choice_options())

    def t_multiple(self, ex: dict[str, Any]) -> dict[str, Any]:
        return self.weights_or_keys("multiple", self.choice_options())

    def t_truefalse(self, ex: dict[str, Any]) -> dict[str, Any]:
        text = self.c["answer"].strip().lower()
        if text in _TRUE:
            value = True
        elif text in _FALSE:
            value = False
        else:
            raise _CellError("answer", f"判断题的答案应为 true 或 false，而不是「{self.c['answer']}」 / must be true or false")
        for side in ("true", "false"):
            if not isinstance(ex.get(side, ""), str):
                raise _CellError("feedback", f"{side} 的反馈应为字符串 / feedback must be a string")
        options = (Option("T", TRUEFALSE_TEXT["T"], value, ex.get("true", "")),
                   Option("F", TRUEFALSE_TEXT["F"], not value, ex.get("false", "")))
        return {"answer": value, "options": options}

    def t_numeric(self, ex: dict[str, Any]) -> dict[str, Any]:
        text = self.c["answer"].strip()
        if not text:
            raise _CellError("answer", "缺少答案 / the answer is empty")
        tol_text = self.c["tolerance"].strip()
        if not text.startswith("["):
            tolerance = abs(_number("tolerance", tol_text)) if tol_text else 0.0
            return {"answer": _number("answer", text), "tolerance": tolerance}
        if tol_text:
            raise _CellError("tolerance", "几个答案时容差写在每个答案里 / with several answers each has its tolerance")
        items = _json_cell("answer", text, "答案列表")
        accepted = []
        for item in items if isinstance(items, list) else [None]:
            if not isinstance(item, dict):
                raise _CellError("answer", "每个答案应为 {value, tolerance, fraction} 或 {min, max, fraction} / invalid")
            fraction = _number("answer", item.get("fraction", 1))
            feedback = str(item.get("feedback", ""))
            if "value" in item:
                accepted.append(Accepted(value=_number("answer", item["value"]), fraction=fraction, feedback=feedback,
                                         tolerance=abs(_number("answer", item.get("tolerance", 0)))))
            elif "min" in item and "max" in item:
                accepted.append(Accepted(low=_number("answer", item["min"]), high=_number("answer", item["max"]),
                                         fraction=fraction, feedback=feedback))
            else:
                raise _CellError("answer", "每个答案要有 value 或 min 和 max / needs value or min and max")
        full = [a for a in accepted if a.fraction == 1.0]
        if not full:
            raise _CellError("answer", "至少要有一个 fraction 为 1 的答案 / needs one answer worth 1")
        first = full[0]
        shown = first.value if first.value is not None else ((first.low or 0.0) + (first.high or 0.0)) / 2
        return {"answer": shown, "accepted": tuple(accepted)}

    def t_shape(self, ex: dict[str, Any]) -> dict[str, Any]:
        value = _json_cell("answer", self.c["answer"].strip() or "null", "整数列表")
        if not isinstance(value, list) or not value or not all(isinstance(d, int) and not isinstance(d, bool)
                                                                for d in value):
            raise _CellError("answer", "形状题的答案应为整数列表，如 [2, 32, 18, 18] / must be a list of ints")
        return {"answer": tuple(value)}

    def t_short(self, ex: dict[str, Any]) -> dict[str, Any]:
        value = _json_cell("answer", self.c["answer"].strip() or "null", "可接受答案的列表")
        if not isinstance(value, list) or not value:
            raise _CellError("answer", "应为可接受答案的列表 / must list the accepted answers")
        accepted = []
        for item in value:
            if isinstance(item, str):
                accepted.append(Accepted(text=item))
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                accepted.append(Accepted(text=item["text"], fraction=_number("answer", item.get("fraction", 1)),
                                         feedback=str(item.get("feedback", ""))))
            else:
                raise _CellError("answer", "每个答案应为字符串或 {text, fraction, feedback} / invalid answer")
        if not any(a.fraction == 1.0 for a in accepted):
            raise _CellError("answer", "至少要有一个 100% 的答案 / needs one answer worth 100%")
        return {"accepted": tuple(accepted)}

    def t_matching(self, ex: dict[str, Any]) -> dict[str, Any]:
        value = _json_cell("options", self.c["options"].strip() or "null", "配对列表 [[左, 右], …]")
        if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 and all(
                isinstance(s, str) for s in p) for p in value):
            raise _CellError("options", "应为配对列表 [[左, 右], …] / must be a list of [left, right] pairs")
        pairs = tuple(Pair(left, right) for left, right in value)
        if problem := pairs_problem(pairs):
            raise _CellError("options", problem)
        return {"pairs": pairs}

    def t_open(self, ex: dict[str, Any]) -> dict[str, Any]:
        text = self.c["key_points"].strip()
        keypoints: list[KeyPoint] = []
        if text:
            value = _json_cell("key_points", text, "要点列表")
            if not isinstance(value, list):
                raise _CellError("key_points", "应为要点列表 / must be a list")
            for item in value:
                if not isinstance(item, dict) or not isinstance(item.get("label"), str):
                    raise _CellError("key_points", "每个要点应为 {label, synonyms, weight, statement} / invalid")
                keypoints.append(KeyPoint(item["label"], _str_list("key_points", item.get("synonyms", [])),
                                          _number("key_points", item.get("weight", 1)),
                                          # a claim needs its sentence; a spreadsheet's label stands in
                                          str(item.get("statement") or item["label"]),
                                          _groups("key_points", item.get("groups", []))))
        return {"reference": self.c["answer"].strip(), "keypoints": tuple(keypoints)}

    def t_generated(self, ex: dict[str, Any]) -> dict[str, Any]:
        return {}

    def t_code(self, ex: dict[str, Any]) -> dict[str, Any]:
        return {}

    def t_description(self, ex: dict[str, Any]) -> dict[str, Any]:
        return {"scored": False}


def _decode(data: bytes | str, notes: list[ImportNote]) -> str:
    if isinstance(data, str):
        return data.removeprefix(BOM)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        notes.append(ImportNote("error", "文件既不是 UTF-8 也不是 GB18030 编码 / the file is neither UTF-8 nor GB18030"))
        return ""
    notes.append(ImportNote("warning", "文件不是 UTF-8，按 GB18030（中文 Excel 的默认编码）读取 / read as GB18030"))
    return text


def import_csv(data: bytes | str, *, bank: str, file: str) -> ImportResult:
    """The questions of a CSV file, one per row, with a note (row, column) for every problem."""
    result = ImportResult()
    text = _decode(data, result.notes)
    if not text and result.errors:
        return result
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    if delimiter == ";":
        result.notes.append(ImportNote("warning", "分隔符是分号（某些地区的 Excel） / the separator is ';'"))
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        result.notes.append(ImportNote("error", f"CSV 格式错误 / malformed CSV: {exc}"))
        return result
    if not rows:
        result.notes.append(ImportNote("error", "文件是空的 / the file is empty"))
        return result
    header = [h.strip() for h in rows[0]]
    while header and header[-1] == "":
        header.pop()  # Excel sometimes writes trailing separators
    if tuple(header) != HEADER:
        missing = [h for h in HEADER if h not in header]
        extra = [h for h in header if h not in HEADER]
        detail = "；".join(part for part in (
            f"缺少列 missing: {', '.join(missing)}" if missing else "",
            f"多余的列 extra: {', '.join(extra)}" if extra else "",
            "列的顺序不对 wrong order" if not missing and not extra else "") if part)
        result.notes.append(ImportNote("error", f"表头应为 {','.join(HEADER)}（{detail}） / wrong header",
                                       line=1, field="header"))
        return result
    taken: set[str] = set()
    other_banks: set[str] = set()
    position = 0
    for number, cells in enumerate(rows[1:], start=1):
        if not any(c.strip() for c in cells):
            continue
        position += 1
        if len(cells) > len(HEADER) and any(c.strip() for c in cells[len(HEADER):]):
            result.notes.append(ImportNote("error", f"这一行有 {len(cells)} 个单元格，表头只有 {len(HEADER)} 列 / "
                                                    "too many cells", row=number))
            continue
        row = dict(zip(HEADER, [*cells, *([""] * (len(HEADER) - len(cells)))], strict=False))
        if row["bank"].strip() and row["bank"].strip() != bank:
            other_banks.add(row["bank"].strip())
        try:
            q = _Row(row, bank=bank, file=file, position=position, taken=taken).question()
        except _CellError as exc:
            result.notes.append(ImportNote("error", str(exc), row=number, field=exc.field))
            continue
        result.questions.append(q)
    if other_banks:
        result.notes.append(ImportNote("warning", f"bank 列写的 {', '.join(sorted(other_banks))} 都导入到了题库 {bank} / "
                                                  f"rows of other banks were imported into {bank}", field="bank"))
    return result


__all__ = ["BOM", "HEADER", "export_csv", "import_csv"]
