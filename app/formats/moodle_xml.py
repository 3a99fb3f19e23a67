"""Moodle XML (`<quiz><question type="...">`) in and out, as Moodle's qformat_xml reads and writes it.

Import (`import_moodle_xml`), parsed with defusedxml (a DTD or an entity declaration is refused: an entity
bomb never expands):

- `multichoice` → `single` (`<single>true`) or `multiple`; each `<answer fraction="…">` is an option keyed
  A, B, C… in file order (Mianjing shows them in that order: `<shuffleanswers>`/`<answernumbering>` are
  read and not kept), its `<feedback>` the option's feedback. single: the 100% answer is the `[x]`; any
  other non-zero fraction makes `weights`. multiple: `[x]` = positive fractions; `weights` unless the
  fractions are Moodle's even split (right 1/#right, wrong -1/#wrong, which is Mianjing's default).
  Fractions within 5e-7 of k/n (n <= 20) are snapped to it (Moodle keeps 7 digits: 33.33333 → 1/3).
- `truefalse` → `truefalse` (options T/F with their feedback); `shortanswer` → `short` (`<usecase>1` =
  case sensitive); `matching` → `matching` (an empty `<subquestion>` text is a distractor answer);
  `numerical` → `numeric` (several `<answer>`s with `<tolerance>` → accepted values; one `<unit>` with
  multiplier 1 becomes `unit`, other units are dropped with a warning; a `*` answer is dropped with a
  warning); `essay` → `open`, `self_rated`, reference from `<graderinfo>` else the general feedback;
  `description` → `description` (`scored: false`); `<question type="category">` sets the topic of the
  questions after it (the last segment of `$course$/top/CV/检测` → 检测; `//` in a name is a literal `/`).
  Every other type (cloze/multianswer, calculated*, ddwtos, gapselect, …) is skipped with the reason.
- `<generalfeedback>` = explanation, `<tags>` = tags, `<idnumber>` = the id when it is a valid Mianjing id
  (after lower-casing), else the id comes from app/formats/ids.py. Difficulty 3, source = the file name.
- Text formats: `html` (also the default and any unknown format, as Moodle does) → markdown with
  markdownify, MathJax `\\(…\\)`/`\\[…\\]` → `$…$`/`$$…$$`; `markdown` as is; `plain_text`,
  `moodle_auto_format` and `wiki_like` as plain text. CDATA is plain XML to the parser.
- Images: `<file name= path= encoding="base64">` inside a text element, referenced as
  `@@PLUGINFILE@@/name`, go to `ImportResult.assets` under `<sha256[:8]>-<name>` (the prefix keeps two
  different files of one name apart; a name that already carries its own prefix keeps it) and the markdown
  refers to them as `![alt](assets/<bank>/<that name>)`, alt from the `<img alt>` else the file name. An
  undecodable file is dropped with a warning and its images become their alt text.
- `<mianjing><![CDATA[{json}]]></mianjing>` (what Mianjing writes, app/formats/extension.py) rebuilds the
  exact Question; without it the plain Moodle meaning above is used.

Export (`export_moodle_xml`) writes what that reader expects: `<name>`, `<questiontext format="markdown">`
(LaTeX kept as `$…$`), `<generalfeedback>`, `<defaultgrade>`, `<penalty>`, `<hidden>`, `<idnumber>`, the
type's elements, `<tags>`, and the extension. A category pseudo-question `$course$/top/<bank>/<topic>`
precedes each run of questions with the same first topic. Types Moodle lacks: `shape` → `shortanswer`
(the shape written a few ways), `generated` → `instances` drawn instances (numerical or shortanswer, seeds
1…n as in the GIFT export; the first carries the template), `code` → `essay` with the starter code; each is
reported in `notes`. A question without a title is named by its id (Moodle refuses an empty name). With `assets` (the
bank's asset folder), each `![alt](assets/<bank>/<name>)` is embedded as a base64 `<file>` of its text and
referred to as `@@PLUGINFILE@@/<name>`. Export → import → export gives the identical file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from markdownify import MarkdownConverter

from app.calculators import draw
from app.content.banks import ID_RE, TRUEFALSE_TEXT, fill_template
from app.content.model import Accepted, Option, Pair, Question
from app.formats import ImportNote, ImportResult, pairs_problem
from app.formats.extension import from_extension, to_extension
from app.formats.ids import question_id

_NO_FILE = "\0"  # a name no file has
SUPPORTED = ("multichoice", "truefalse", "shortanswer", "numerical", "matching", "essay", "description")
MAX_OPTIONS = 26  # option keys are letters


# --- reading -----------------------------------------------------------------------------------


class _LineBuilder(TreeBuilder):
    """Remembers the line each element starts on, for notes (ElementTree keeps no positions)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        self.expat: Any = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:  # type: ignore[override]
        el = super().start(tag, attrs)
        self.lines[id(el)] = self.expat.CurrentLineNumber if self.expat is not None else 0
        return el


def _parse(data: bytes) -> tuple[Element, dict[int, int]]:
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.expat = parser.parser
    parser.feed(data)
    root = parser.close()
    return root, builder.lines


class _Reader:
    def __init__(self, *, bank: str, file: str, lines: dict[int, int]) -> None:
        self.bank = bank
        self.file = file
        self.lines = lines
        self.result = ImportResult()
        self.taken: set[str] = set()
        self.position = 0
        self.topic = ""
        self.rebuilt: set[str] = set()  # ids of generated templates rebuilt from their first instance

    def note(self, kind: str, message: str, el: Element | None, field: str = "") -> None:
        line = self.lines.get(id(el), 0) if el is not None else 0
        self.result.notes.append(ImportNote(kind, message, line=line, field=field))  # type: ignore[arg-type]

    # text elements ---------------------------------------------------------------------------

    def text_of(self, parent: Element | None, *, default_format: str = "html") -> str:
        """A Moodle text element (`<x format=…><text>…</text><file …/></x>`) as markdown."""
        if parent is None:
            return ""
        raw = (parent.findtext("text") or "").strip()  # Moodle trims every text it imports
        fmt = (parent.get("format") or default_format).strip()
        files = self.files_of(parent)
        if fmt in ("markdown", "plain_text", "moodle_auto_format", "wiki_like"):
            return _plugin_refs(raw, files, self.bank)  # as is (plain text is kept plain, not escaped)
        return html_to_markdown(raw, files, self.bank)

    def files_of(self, parent: Element) -> dict[str, str]:
        """The `<file>`s of a text element: Moodle's file name -> the asset name (after storing its bytes)."""
        out: dict[str, str] = {}
        for f in parent.findall("file"):
            name = (f.get("name") or "").strip()
            if not name:
                self.note("warning", "<file> 没有 name 属性，已忽略 / a <file> without a name was ignored", f, "file")
                continue
            if (f.get("encoding") or "base64") != "base64":
                self.note("warning", f"文件 {name} 的编码不是 base64，已忽略 / file {name} is not base64: ignored",
                          f, "file")
                continue
            try:
                content = base64.b64decode("".join((f.text or "").split()), validate=True)
            except (binascii.Error, ValueError):
                self.note("warning", f"文件 {name} 的 base64 无法解码，已忽略，引用它的图片只留下说明文字 / "
                                     f"file {name}: invalid base64, dropped (its images keep their alt text)",
                          f, "file")
                continue
            safe = _safe_name(name)
            prefix = hashlib.sha256(content).hexdigest()[:8]
            asset = safe if safe.startswith(prefix + "-") else f"{prefix}-{safe}"
            self.result.assets[asset] = content
            out[name] = asset
        return out

    # questions -------------------------------------------------------------------------------

    def read(self, root: Element) -> None:
        if root.tag != "quiz":
            self.note("error", f"根元素应为 <quiz>，而不是 <{root.tag}> / the root element must be <quiz>", root)
            return
        for el in root:
            if el.tag != "question":
                continue
            qtype = (el.get("type") or "").strip()
            if qtype == "category":
                self.category(el)
                continue
            self.position += 1
            ext = self.extension(el)
            if ext is not None:
                self.from_ext(el, ext)
                continue
            try:
                q = self.native(el)
            except _Skip as exc:
                self.note("skipped", str(exc), el)
                continue
            self.result.questions.append(q)

    def native(self, el: Element) -> Question:
        """The question as Moodle means it (the <mianjing> extension aside); _Skip when it cannot be one."""
        qtype = (el.get("type") or "").strip()
        if not qtype:
            raise _Skip("<question> 没有 type 属性 / a <question> without a type")
        if qtype == "match":
            qtype = "matching"
        if qtype not in SUPPORTED:
            raise _Skip(f"题型 {qtype} 无法导入（面经没有对应的题型） / question type {qtype} is not supported")
        return getattr(self, "q_" + qtype)(el, self.header(el))

    def category(self, el: Element) -> None:
        cat = el.find("category")
        path = ((cat.findtext("text") if cat is not None and cat.find("text") is not None
                 else (cat.text if cat is not None else "")) or "").strip()
        self.topic = category_topic(path)

    def extension(self, el: Element) -> dict[str, Any] | None:
        node = el.find("mianjing")
        if node is None:
            return None
        try:
            value = json.loads(node.text or "")
        except ValueError as exc:
            self.note("warning", f"<mianjing> 扩展不是合法的 JSON（{exc}），按 Moodle 的含义导入 / the <mianjing> "
                                 "extension is not valid JSON: imported with its Moodle meaning", node, "mianjing")
            return None
        if not isinstance(value, dict):
            self.note("warning", "<mianjing> 扩展应为 JSON 对象，按 Moodle 的含义导入 / the <mianjing> extension "
                                 "must be a JSON object: imported with its Moodle meaning", node, "mianjing")
            return None
        return value

    def from_ext(self, el: Element, ext: dict[str, Any]) -> None:
        instance = ext.pop("instance", None)
        if instance is not None and instance != 1 and ext.get("id") in self.rebuilt:
            return  # a further drawn instance of a generated item rebuilt from its first one
        # The Moodle reading is the base the extension was written over; its notes and ids do not count.
        notes, taken = len(self.result.notes), set(self.taken)
        try:
            base: Question | None = self.native(el)
        except _Skip:
            base = None
        del self.result.notes[notes:]
        self.taken = taken
        try:
            q = from_extension(ext, bank=self.bank, file=self.file, line=self.lines.get(id(el), 0), base=base)
        except ValueError as exc:
            self.note("skipped", f"<mianjing> 扩展无法还原题目：{exc} / the <mianjing> extension cannot be "
                                 "read", el, "mianjing")
            return
        if q.id in self.taken:
            self.note("skipped", f"题号 {q.id} 重复 / duplicate id {q.id}", el, "mianjing")
            return
        self.taken.add(q.id)
        if instance is not None:
            self.rebuilt.add(q.id)
        self.result.questions.append(q)

    def header(self, el: Element) -> dict[str, Any]:
        title = " ".join((el.findtext("name/text") or "").split())
        qt = el.find("questiontext")
        if qt is None:
            raise _Skip("缺少 <questiontext> / missing <questiontext>")
        qfmt = (qt.get("format") or "html").strip()
        prompt = self.text_of(qt)
        gf_el = el.find("generalfeedback")
        explanation = self.text_of(gf_el, default_format=qfmt)
        idnumber = (el.findtext("idnumber") or "").strip().lower()
        if idnumber and ID_RE.match(idnumber) and idnumber not in self.taken:
            qid = idnumber
        else:
            qid = question_id(self.bank, title, self.position, self.taken)
        self.taken.add(qid)
        tags = tuple(t for t in ((tag.findtext("text") or "").strip() for tag in el.findall("tags/tag")) if t)
        return {
            "id": qid, "bank": self.bank, "title": title or qid, "prompt": prompt, "explanation": explanation,
            "difficulty": 3, "topics": (self.topic or self.bank,), "tags": tags, "source": self.file,
            "file": self.file, "line": self.lines.get(id(el), 0), "imported_from": f"moodle-xml:{self.file}" if self.file else "",
            "_format": qfmt,
        }

    def answers(self, el: Element, fmt: str, *, rich: bool) -> list[tuple[str, float, str, Element]]:
        """(text, fraction, feedback, element) of each <answer>; rich answers may be html (multichoice)."""
        out = []
        for a in el.findall("answer"):
            try:
                fraction = _snap(float(a.get("fraction", "0")) / 100)
            except ValueError:
                raise _Skip(f"答案的 fraction 不是数字：{a.get('fraction')!r} / an answer's fraction is not a "
                            "number") from None
            text = self.text_of(a, default_format=fmt) if rich else (a.findtext("text") or "").strip()
            feedback = self.text_of(a.find("feedback"), default_format=fmt)
            out.append((text, fraction, feedback, a))
        return out

    def q_multichoice(self, el: Element, h: dict[str, Any]) -> Question:
        fmt = h.pop("_format")
        single = (el.findtext("single") or "true").strip() not in ("false", "0", "")
        answers = self.answers(el, fmt, rich=True)
        if len(answers) < 2:
            raise _Skip("选择题至少要两个 <answer> / a multichoice question needs at least two answers")
        if len(answers) > MAX_OPTIONS:
            raise _Skip(f"选择题最多 {MAX_OPTIONS} 个选项 / at most {MAX_OPTIONS} answers")
        keys = [chr(ord("A") + i) for i in range(len(answers))]
        fractions = {k: f for k, (_, f, _, _) in zip(keys, answers, strict=True)}
        weights: dict[str, float] | None
        if single:
            full = [k for k, f in fractions.items() if f == 1.0]
            if len(full) != 1:
                raise _Skip("单选题应恰有一个 100% 的答案 / a single-answer question needs exactly one 100% answer")
            correct = set(full)
            weights = {k: f for k, f in fractions.items() if f != 0} if any(
                f not in (0.0, 1.0) for f in fractions.values()) else None
        else:
            correct = {k for k, f in fractions.items() if f > 0}
            if not correct:
                raise _Skip("多选题没有得分的答案 / a multiple-answer question without a positive answer")
            wrong = [k for k in keys if k not in correct]
            even = {k: 1 / len(correct) for k in correct} | {k: -1 / len(wrong) for k in wrong}
            weights = None if all(abs(fractions[k] - even[k]) < 1e-6 for k in keys) else {
                k: f for k, f in fractions.items() if f != 0}
        options = tuple(Option(k, t, k in correct, fb) for k, (t, _, fb, _) in zip(keys, answers, strict=True))
        return Question(type="single" if single else "multiple", options=options, weights=weights, **h)

    def q_truefalse(self, el: Element, h: dict[str, Any]) -> Question:
        fmt = h.pop("_format")
        answers = self.answers(el, fmt, rich=False)
        if not answers:
            raise _Skip("判断题缺少 <answer> / a true/false question without answers")
        value: bool | None = None
        feedback = {"true": "", "false": ""}
        for i, (text, fraction, fb, _) in enumerate(answers[:2]):
            side = text if text in ("true", "false") else ("true" if i == 0 else "false")  # old files: order
            feedback[side] = fb
            if fraction == 1.0:
                value = side == "true"
        if value is None:
            raise _Skip("判断题没有 100% 的答案 / a true/false question without a 100% answer")
        options = (Option("T", TRUEFALSE_TEXT["T"], value, feedback["true"]),
                   Option("F", TRUEFALSE_TEXT["F"], not value, feedback["false"]))
        return Question(type="truefalse", answer=value, options=options, **h)

    def q_shortanswer(self, el: Element, h: dict[str, Any]) -> Question:
        fmt = h.pop("_format")
        accepted = tuple(Accepted(text=t, fraction=f, feedback=fb)
                         for t, f, fb, _ in self.answers(el, fmt, rich=False) if t)
        if not any(a.fraction == 1.0 for a in accepted):
            raise _Skip("填空题没有 100% 的答案 / a short-answer question without a 100% answer")
        case = (el.findtext("usecase") or "0").strip() not in ("0", "", "false")
        return Question(type="short", accepted=accepted, case_sensitive=case, **h)

    def q_numerical(self, el: Element, h: dict[str, Any]) -> Question:
        fmt = h.pop("_format")
        accepted: list[Accepted] = []
        for text, fraction, fb, a in self.answers(el, fmt, rich=False):
            if text in ("*", ""):
                self.note("warning", "数值题的 * 答案（其余任何答案）无法保留，已舍弃 / the catch-all * answer was "
                                     "dropped", a, "answer")
                continue
            try:
                value = float(text)
                tolerance = abs(float((a.findtext("tolerance") or "0").strip() or 0))
            except ValueError:
                raise _Skip(f"数值题的答案不是数字：{text!r} / a numerical answer is not a number") from None
            if not math.isfinite(value) or not math.isfinite(tolerance):
                raise _Skip(f"数值题的答案不是有限数：{text!r} / a numerical answer is not finite")
            accepted.append(Accepted(value=value, tolerance=tolerance, fraction=fraction, feedback=fb))
        full = [a for a in accepted if a.fraction == 1.0]
        if not full:
            raise _Skip("数值题没有 100% 的答案 / a numerical question without a 100% answer")
        units = el.findall("units/unit")
        unit = None
        if len(units) == 1 and float((units[0].findtext("multiplier") or "1").strip() or 1) == 1.0:
            unit = (units[0].findtext("unit_name") or "").strip() or None
        elif units:
            self.note("warning", "数值题的多个单位（或倍数不为 1 的单位）无法保留，已忽略 / units other than one "
                                 "unit with multiplier 1 are ignored", units[0], "units")
        one = len(accepted) == 1 and not accepted[0].feedback
        return Question(type="numeric", answer=full[0].value, tolerance=full[0].tolerance if one else 0.0,
                        accepted=() if one else tuple(accepted), unit=unit, **h)

    def q_matching(self, el: Element, h: dict[str, Any]) -> Question:
        fmt = h.pop("_format")
        pairs = []
        for sub in el.findall("subquestion"):
            left = self.text_of(sub, default_format=fmt)
            right = (sub.findtext("answer/text") or "").strip()
            if not right:
                continue  # Moodle ignores a subquestion without an answer too
            pairs.append(Pair(left, right))
        if problem := pairs_problem(pairs):
            raise _Skip(problem)
        return Question(type="matching", pairs=tuple(pairs), **h)

    def q_essay(self, el: Element, h: dict[str, Any]) -> Question:
        fmt = h.pop("_format")
        reference = self.text_of(el.find("graderinfo"), default_format=fmt)
        if not reference:
            reference, h["explanation"] = h["explanation"], ""
        return Question(type="open", reference=reference, self_rated=True, **h)

    def q_description(self, el: Element, h: dict[str, Any]) -> Question:
        h.pop("_format")
        return Question(type="description", scored=False, **h)


class _Skip(Exception):
    pass


def category_topic(path: str) -> str:
    """The topic a Moodle category path names: its last segment, `//` being a literal slash."""
    parts = [p.replace("\0", "/").strip() for p in path.replace("//", "\0").split("/")]
    parts = [p for p in parts if p and p not in ("$course$", "$system$", "$module$", "$cat$", "top")
             and not (p.startswith("$") and p.endswith("$"))]
    return parts[-1] if parts else ""


def _snap(f: float) -> float:
    """Moodle stores fractions with 7 digits (0.3333333); the k/n (n <= 20) it stands for, if that is near."""
    for n in range(1, 21):
        k = round(f * n)
        if abs(f - k / n) < 5e-7:
            return k / n
    return f


_SAFE_RE = re.compile(r"[^\w.-]+")


def _safe_name(name: str) -> str:
    """A file name that is safe as a path segment and in a markdown link."""
    stem = _SAFE_RE.sub("_", name.replace("/", "_")).strip("._") or "file"
    return stem[:120]


_MATH_RE = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]|\$\$(.+?)\$\$", re.DOTALL)
_MATH_SLOT = "mjxmath{}q"


class _Converter(MarkdownConverter):
    def __init__(self, files: Mapping[str, str], bank: str) -> None:
        super().__init__(heading_style="ATX", bullets="-", escape_underscores=False, escape_asterisks=True)
        self.files = files
        self.bank = bank

    def convert_img(self, el: Any, text: str, parent_tags: Any) -> str:
        src = el.attrs.get("src", "") or ""
        name = _plugin_name(src)
        if name is None:
            return super().convert_img(el, text, parent_tags)
        alt = (el.attrs.get("alt") or "").strip() or name
        asset = self.files.get(name)
        if asset is None:
            return alt
        return f"![{_alt(alt)}](assets/{self.bank}/{asset})"


def _plugin_name(src: str) -> str | None:
    if not src.startswith("@@PLUGINFILE@@/"):
        return None
    return urllib.parse.unquote(src[len("@@PLUGINFILE@@/"):].split("?")[0]).lstrip("/")


def _alt(text: str) -> str:
    return text.replace("[", "(").replace("]", ")")


def html_to_markdown(raw: str, files: Mapping[str, str], bank: str) -> str:
    """Moodle HTML as Mianjing markdown: math kept for KaTeX, images as bank assets, no raw HTML left."""
    maths: list[str] = []

    def keep(m: re.Match[str]) -> str:
        inline, display, dollars = m.group(1), m.group(2), m.group(3)
        tex = html.unescape(inline if inline is not None else display if display is not None else dollars)
        maths.append(f"${tex.strip()}$" if inline is not None else f"$${tex.strip()}$$")
        return _MATH_SLOT.format(len(maths) - 1)

    text = _MATH_RE.sub(keep, raw)
    text = _Converter(files, bank).convert(text).strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    for i, tex in enumerate(maths):
        text = text.replace(_MATH_SLOT.format(i), tex)
    return text


_PLUGIN_MD_RE = re.compile(r"!\[([^\]]*)\]\(@@PLUGINFILE@@/([^)\s]+)\)|@@PLUGINFILE@@/([^\s)\"'<>]+)")


def _plugin_refs(text: str, files: Mapping[str, str], bank: str) -> str:
    """`@@PLUGINFILE@@/name` references in markdown or plain text, pointed at the bank's assets."""

    def sub(m: re.Match[str]) -> str:
        alt, name = (m.group(1), m.group(2)) if m.group(2) else (None, m.group(3))
        name = urllib.parse.unquote(name)
        asset = files.get(name)
        if asset is None:
            return alt or name
        if alt is None:
            return f"assets/{bank}/{asset}"
        return f"![{_alt(alt or name)}](assets/{bank}/{asset})"

    return _PLUGIN_MD_RE.sub(sub, text)


def import_moodle_xml(data: bytes | str, *, bank: str, file: str) -> ImportResult:
    """The questions of a Moodle XML file, with a note for everything skipped or not carried."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        root, lines = _parse(raw)
    except DefusedXmlException as exc:
        result = ImportResult()
        result.notes.append(ImportNote("error", "XML 含 DTD 或实体声明，出于安全考虑拒绝导入 / the XML declares a "
                                                f"DTD or entities, which are refused ({type(exc).__name__})"))
        return result
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        result = ImportResult()
        result.notes.append(ImportNote("error", f"XML 格式错误 / malformed XML: {exc}", line=line,
                                       column=column + 1))
        return result
    reader = _Reader(bank=bank, file=file, lines=lines)
    reader.read(root)
    return reader.result


# --- writing -----------------------------------------------------------------------------------


# characters XML 1.0 cannot hold at all: dropped from the text (the extension's JSON escapes them)
_NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _cdata(text: str) -> str:
    """Moodle's xml_escape: CDATA when the text holds a character XML would escape."""
    text = _NOT_XML_RE.sub("", text)
    if text and html.escape(text, quote=True) != text:
        return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    return text


def _text(raw: str, indent: int) -> str:
    return "  " * indent + f"<text>{_cdata(raw)}</text>\n"


def _fmt(x: float) -> str:
    """A number as Moodle prints one: no trailing zeros, integers without a point."""
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _percent(f: float) -> str:
    """A fraction as Moodle writes it: 100 * fraction with its 7 stored digits (1/3 -> 33.33333)."""
    p = round(f * 100, 5) + 0.0
    s = f"{p:.5f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


_ASSET_MD_RE = re.compile(r"!\[([^\]]*)\]\(assets/([a-z0-9-]+)/([^)\s/]+)\)")
# The assets of the export under way (name -> bytes), per thread and task: the images a text shows go in it.
_EXPORT_ASSETS: ContextVar[Mapping[str, bytes]] = ContextVar("moodle_xml_export_assets",
                                                               default=MappingProxyType({}))


def _embed(text: str) -> tuple[str, str]:
    """A markdown text with its bank images as `@@PLUGINFILE@@/name`, and the <file> elements holding them."""
    assets = _EXPORT_ASSETS.get()
    if not assets or "](assets/" not in text:
        return text, ""
    files: dict[str, bytes] = {}

    def sub(m: re.Match[str]) -> str:
        name = m.group(3)
        data = assets.get(name)
        if data is None:
            return m.group(0)
        files[name] = data
        return f"![{m.group(1)}](@@PLUGINFILE@@/{urllib.parse.quote(name)})"

    text = _ASSET_MD_RE.sub(sub, text)
    xml = "".join(f'      <file name="{html.escape(name, quote=True)}" path="/" encoding="base64">'
                  f"{base64.b64encode(data).decode('ascii')}</file>\n" for name, data in files.items())
    return text, xml


def _block(tag: str, text: str, indent: int, fmt: str = "markdown") -> str:
    pad = "  " * indent
    text, files = _embed(text)
    return f'{pad}<{tag} format="{fmt}">\n' + _text(text, indent + 1) + files + f"{pad}</{tag}>\n"


def _answer(fraction: float, text: str, feedback: str, *, fmt: str, extra: str = "") -> str:
    text, files = _embed(text) if fmt == "markdown" else (text, "")
    return (f'    <answer fraction="{_percent(fraction)}" format="{fmt}">\n' + _text(text, 3) + files
            + _block("feedback", feedback, 3) + extra + "    </answer>\n")


class _Writer:
    def __init__(self, *, instances: int, bank_titles: Mapping[str, str], notes: list[ImportNote] | None) -> None:
        self.instances = max(1, instances)
        self.bank_titles = bank_titles
        self.notes = notes
        self.category = ""
        self.bank = ""

    def warn(self, q: Question, message: str) -> None:
        if self.notes is not None:
            self.notes.append(ImportNote("warning", f"{q.id}: {message}", field=q.id))

    def category_for(self, q: Question) -> str:
        self.bank = q.bank
        def seg(s: str) -> str:
            return s.replace("/", "//")

        path = f"$course$/top/{seg(self.bank_titles.get(q.bank, q.bank))}"
        if q.topics:
            path += "/" + seg(q.topics[0])
        if path == self.category:
            return ""
        self.category = path
        return ("  <question type=\"category\">\n    <category>\n" + _text(path, 3) + "    </category>\n"
                '    <info format="moodle_auto_format">\n' + _text("", 3) + "    </info>\n"
                "    <idnumber></idnumber>\n  </question>\n")

    def question(self, q: Question) -> str:
        if q.type == "generated":
            return self.generated(q)
        if q.type == "code" and q.code is not None:
            return self.element(q, "essay", q.title or q.id, _code_prompt(q), q.explanation, q.id, self.body(q))
        return self.element(q, _moodle_type(q), q.title or q.id, q.prompt, q.explanation, q.id, self.body(q))

    def element(self, q: Question, qtype: str, name: str, prompt: str, explanation: str, idnumber: str,
                body: str, ext: dict[str, Any] | None = None, *, instance: bool = False) -> str:
        """One <question>; its extension (unless given) holds what Moodle's reading of it lacks."""
        category = self.category_for(q)
        out = f'  <question type="{qtype}">\n    <name>\n' + _text(name, 3) + "    </name>\n"
        out += _block("questiontext", prompt, 2)
        out += _block("generalfeedback", explanation, 2)
        out += f"    <defaultgrade>{0 if qtype == 'description' else 1}</defaultgrade>\n"
        out += "    <penalty>0</penalty>\n    <hidden>0</hidden>\n"
        out += f"    <idnumber>{_cdata(idnumber)}</idnumber>\n"
        out += body
        if q.tags:
            out += "    <tags>\n" + "".join(f"      <tag>{_text(t, 0).rstrip()}</tag>\n" for t in q.tags)
            out += "    </tags>\n"
        if ext is None:
            ext = to_extension(q, base=self.read_back(out + "  </question>\n"))
            if instance:
                ext["instance"] = 1
        payload = json.dumps(ext, ensure_ascii=False, separators=(",", ":"))
        out += "    <mianjing><![CDATA[" + payload.replace("]]>", "]]]]><![CDATA[>") + "]]></mianjing>\n"
        return category + f"<!-- question: {idnumber}  -->\n" + out + "  </question>\n"

    def read_back(self, element: str) -> Question | None:
        """What the importer makes of a written <question> without its extension (None: it would skip it)."""
        root, lines = _parse(element.encode("utf-8"))
        # No file name: the fields made from it (source, imported_from) always travel in the extension, so
        # the import rebuilds them whatever its file is called.
        reader = _Reader(bank=self.bank or "", file=_NO_FILE, lines=lines)
        reader.topic = category_topic(self.category)
        try:
            return reader.native(root)
        except _Skip:
            return None

    def body(self, q: Question) -> str:
        t = q.type
        if t in ("single", "multiple"):
            return self.multichoice(q)
        if t == "truefalse":
            return "".join(_answer(1.0 if o.correct else 0.0, "true" if o.key == "T" else "false", o.feedback,
                                   fmt="moodle_auto_format") for o in sorted(q.options, key=lambda o: o.key != "T"))
        if t == "short":
            return (f"    <usecase>{1 if q.case_sensitive else 0}</usecase>\n"
                    + "".join(_answer(a.fraction, a.text, a.feedback, fmt="moodle_auto_format") for a in q.accepted))
        if t == "numeric":
            return self.numerical(q)
        if t == "shape":
            self.warn(q, "Moodle 没有形状题，导出为填空题（几种写法都算对） / exported as shortanswer")
            return "    <usecase>0</usecase>\n" + "".join(
                _answer(1.0, s, "", fmt="moodle_auto_format") for s in _shape_texts(q.answer))
        if t == "matching":
            out = "    <shuffleanswers>true</shuffleanswers>\n" + _combined()
            for p in q.pairs:
                out += '    <subquestion format="markdown">\n' + _text(p.left, 3)
                out += "      <answer>\n" + _text(p.right, 4) + "      </answer>\n    </subquestion>\n"
            return out
        if t in ("open", "code"):
            if t == "code":
                self.warn(q, "Moodle 没有代码题，导出为问答题（附起始代码） / exported as essay with the starter code")
            return _essay(q.reference if t == "open" else "")
        if t == "description":
            return ""
        raise ValueError(f"unknown question type: {t!r}")

    def multichoice(self, q: Question) -> str:
        single = q.type == "single"
        right = [o.key for o in q.options if o.correct]
        wrong = [o.key for o in q.options if not o.correct]
        if q.weights is not None:
            fractions = {o.key: q.weights.get(o.key, q.weights.get(o.key.lower(), 0.0)) for o in q.options}
        elif single:
            fractions = {o.key: 1.0 if o.correct else 0.0 for o in q.options}
        else:
            fractions = {k: 1 / len(right) for k in right} | {k: -1 / len(wrong) for k in wrong}
        out = (f"    <single>{'true' if single else 'false'}</single>\n"
               "    <shuffleanswers>false</shuffleanswers>\n    <answernumbering>ABCD</answernumbering>\n"
               "    <showstandardinstruction>0</showstandardinstruction>\n" + _combined())
        return out + "".join(_answer(fractions[o.key], o.text, o.feedback, fmt="markdown") for o in q.options)

    def numerical(self, q: Question) -> str:
        out = ""
        if q.accepted:
            for a in q.accepted:
                if a.value is not None:
                    value, tol = a.value, a.tolerance
                else:
                    low, high = float(a.low or 0.0), float(a.high or 0.0)
                    value, tol = (low + high) / 2, (high - low) / 2
                out += _answer(a.fraction, _fmt(value), a.feedback, fmt="moodle_auto_format",
                               extra=f"      <tolerance>{_fmt(tol)}</tolerance>\n")
        else:
            answer = float(q.answer)
            tol = q.tolerance
            if q.rel_tolerance:
                tol = max(tol, q.rel_tolerance * abs(answer))
                self.warn(q, "相对容差换算成了绝对容差 / the relative tolerance became an absolute one")
            out += _answer(1.0, _fmt(answer), "", fmt="moodle_auto_format",
                           extra=f"      <tolerance>{_fmt(tol)}</tolerance>\n")
        if q.unit:
            out += ("    <units>\n      <unit>\n        <multiplier>1</multiplier>\n"
                    f"        <unit_name>{_cdata(q.unit)}</unit_name>\n      </unit>\n    </units>\n")
        out += ("    <unitgradingtype>0</unitgradingtype>\n    <unitpenalty>0.1000000</unitpenalty>\n"
                f"    <showunits>{0 if q.unit else 3}</showunits>\n    <unitsleft>0</unitsleft>\n")
        return out

    def generated(self, q: Question) -> str:
        self.warn(q, f"Moodle 没有参数化题型，导出了 {self.instances} 个抽好的实例 / exported as "
                     f"{self.instances} drawn instance(s)")
        assert q.calculator is not None
        out = ""
        for i in range(self.instances):
            inst = draw(q.calculator, q.params, i + 1)  # seeds 1…n, as the GIFT export draws them
            prompt = fill_template(q.prompt, inst.params)
            explanation = fill_template(q.explanation, {**inst.params, "worked": inst.worked, "answer": inst.answer})
            title = q.title or q.id  # Moodle refuses a question without a name
            name = title if self.instances == 1 else f"{title} ({i + 1})"
            idnumber = q.id if i == 0 else f"{q.id}-{i + 1}"
            if inst.kind == "shape":
                body = "    <usecase>0</usecase>\n" + "".join(
                    _answer(1.0, s, "", fmt="moodle_auto_format") for s in _shape_texts(inst.answer))
                qtype = "shortanswer"
            else:
                tol = max(inst.tolerance, inst.rel_tolerance * abs(float(inst.answer)))  # type: ignore[arg-type]
                body = _answer(1.0, _fmt(float(inst.answer)), "", fmt="moodle_auto_format",  # type: ignore[arg-type]
                               extra=f"      <tolerance>{_fmt(tol)}</tolerance>\n")
                body += ("    <unitgradingtype>0</unitgradingtype>\n    <unitpenalty>0.1000000</unitpenalty>\n"
                         "    <showunits>3</showunits>\n    <unitsleft>0</unitsleft>\n")
                qtype = "numerical"
            # the first instance carries the template; the others only say whose instance they are
            if i == 0:
                out += self.element(q, qtype, name, prompt, explanation, idnumber, body, None, instance=True)
            else:
                out += self.element(q, qtype, name, prompt, explanation, idnumber, body, {"id": q.id,
                                                                                          "instance": i + 1})
        return out


def _combined() -> str:
    return "".join(_block(f, "", 2) for f in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"))


def _essay(reference: str) -> str:
    return ("    <responseformat>editor</responseformat>\n    <responserequired>1</responserequired>\n"
            "    <responsefieldlines>15</responsefieldlines>\n    <attachments>0</attachments>\n"
            "    <attachmentsrequired>0</attachmentsrequired>\n" + _block("graderinfo", reference, 2)
            + _block("responsetemplate", "", 2))


def _shape_texts(answer: Any) -> list[str]:
    dims = [str(int(d)) for d in answer]
    return [f"({', '.join(dims)})", f"({','.join(dims)})", f"[{', '.join(dims)}]", ", ".join(dims)]


def _moodle_type(q: Question) -> str:
    return {"single": "multichoice", "multiple": "multichoice", "truefalse": "truefalse", "short": "shortanswer",
            "numeric": "numerical", "shape": "shortanswer", "matching": "matching", "open": "essay",
            "code": "essay", "description": "description"}[q.type]


def _code_prompt(q: Question) -> str:
    assert q.code is not None
    return q.prompt + "\n\n```python\n" + q.code.starter.rstrip("\n") + "\n```"


def export_moodle_xml(questions: Sequence[Question], *, instances: int = 1,
                      bank_titles: Mapping[str, str] | None = None,
                      notes: list[ImportNote] | None = None, assets: Mapping[str, bytes] | None = None) -> str:
    """A Moodle XML file of `questions` (in order); what Moodle cannot hold is reported in `notes`. `assets`
    (a bank's asset folder: name -> bytes) are embedded where a text shows `![alt](assets/<bank>/<name>)`."""
    writer = _Writer(instances=instances, bank_titles=bank_titles or {}, notes=notes)
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n']
    token = _EXPORT_ASSETS.set(assets or {})
    try:
        _write_all(writer, questions, parts)
    finally:
        _EXPORT_ASSETS.reset(token)
    parts.append("</quiz>\n")
    return "".join(parts)


def _write_all(writer: _Writer, questions: Sequence[Question], parts: list[str]) -> None:
    parts.extend(writer.question(q) for q in questions)


__all__ = ["category_topic", "export_moodle_xml", "html_to_markdown", "import_moodle_xml"]
