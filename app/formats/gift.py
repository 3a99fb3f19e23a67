"""GIFT import and export (Moodle's question/format/gift), pure: text in, Question records out, and back.

Import (`import_gift`) reads a file the way Moodle's reader does: blank lines separate questions, every line
is trimmed, comment lines (`//`) are left out of the text. Each question is parsed by the LALR grammar in
gift.lark; the answers' type then follows Moodle's rules (no braces: description; `{}`: essay; `{#…}`:
numeric; a `~`: multiple choice, single when an answer is marked `=`; `=` and `->`: matching; `T`/`TRUE`/
`F`/`FALSE`: true/false; anything else: short answer). What Moodle 4 writes in comments is read too:
`// [id:…]` (the question's id when it is a valid Mianjing id) and `// [tag:…]`. Text formats: `[html]` is
converted to markdown (markdownify), `[markdown]` is kept, `[moodle]` and `[plain]` (and no tag) as plain
text. Defaults for what GIFT cannot say are those of /work/interop-spec.md: difficulty 3, topics from the
last segment of `$CATEGORY` (else the bank's name), the general feedback `####` as the explanation (an
essay's reference answer too), the file name as the source, ids from app/formats/ids.py.

Every syntax error is an ImportNote "error" with line and column; a question Mianjing cannot hold (matching
with fewer than three pairs, a single choice with two full-credit answers…) is "skipped" with the reason;
what is read but not carried (numeric feedback for any other answer, an id that is not a Mianjing id…) is a
"warning".

Export (`export_gift`) writes every question type. GIFT has no shape, generated or code type, no key points
and no Mianjing metadata (difficulty, topics, source, follow-ups…): those travel in a comment line
`// mianjing: {json}` right before the question (app/formats/extension.py; Moodle ignores comments), holding
exactly what the GIFT text does not give back, so export -> import -> export is the identical text and a
Mianjing -> GIFT -> Mianjing trip rebuilds every Question. A shape item is written as a short answer
(its usual spellings), an open item as an essay `{}`, a code item as an essay with its starter code under
the text (its reference implementation and tests only in the extension). A generated item is written as
`instances` drawn instances (seeds 1..instances, drawn by app/calculators as a practice check draws them),
each a numeric or shape item, because GIFT has no parametric type: Moodle sees fixed numbers, a Mianjing
import rebuilds the template from the extension of the first instance and leaves the other instances out.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from app.calculators import draw
from app.content.banks import fill_template, numeric_accepts
from app.content.model import Accepted, Option, Pair, Question
from app.content.short_answers import expected_text, first_match
from app.formats import ImportNote, ImportResult, pairs_problem
from app.formats.extension import ExtensionError, from_extension, to_extension
from app.formats.ids import given_id, question_id

FORMAT_NAME = "gift"
EXTENSION_PREFIX = "mianjing:"
BLANK = "_____"  # what Moodle puts where the braces of a "missing word" question stood
_BLANK_MARK = "GIFTMISSINGWORDPLACEHOLDER"  # survives markdownify, replaced by BLANK afterwards
_TRIM = " \t\n\r\0\x0b"  # PHP trim(): what Moodle strips from every line
_ESCAPABLE = "\\~=#{}:"
TRUE_TEXT, FALSE_TEXT = "正确", "错误"  # the two options of a true/false item (interop spec)
MAX_OPTIONS = 26  # option keys are the letters A..Z
_FULL = 1.0 - 1e-9
# Mianjing metadata always written to the extension: they depend on where a file is imported (the bank,
# the file's name, the category above the question, the question's position), not on the GIFT text.
_CONTEXT_FIELDS = ("id", "type", "topics", "source", "imported_from")


# --- reading: blocks -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Block:
    """One question (or $CATEGORY) as Moodle's readquestions cuts it: its non-comment lines, trimmed, with
    the line number and the leading whitespace cut from each (to give columns of the original file)."""

    lines: list[tuple[int, int, str]] = field(default_factory=list)  # (line number, indent, trimmed text)
    comments: list[tuple[int, str]] = field(default_factory=list)  # (line number, text after //)

    @property
    def first_line(self) -> int:
        return self.lines[0][0]

    def where(self, line: int, column: int) -> tuple[int, int]:
        """A position inside the block's joined text (1-based, as lark gives them) in the original file."""
        number, indent, _ = self.lines[min(max(line, 1), len(self.lines)) - 1]
        return number, column + indent


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    current = _Block()
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip(_TRIM)
        if not line:
            if current.lines or current.comments:
                blocks.append(current)
                current = _Block()
        elif line.startswith("//"):
            current.comments.append((number, line[2:].strip(_TRIM)))
        else:
            indent = len(raw) - len(raw.lstrip(_TRIM))
            current.lines.append((number, indent, line))
    if current.lines or current.comments:
        blocks.append(current)
    return blocks


def _normalise(data: str | bytes) -> str:
    """Text with the BOM taken off and Windows / old Mac line ends made "\\n" (line numbers stay)."""
    if isinstance(data, bytes):
        data = data.decode("utf-8-sig", errors="replace")
    if data.startswith("\ufeff"):
        data = data[1:]
    return data.replace("\r\n", "\n").replace("\r", "\n")


# --- reading: the grammar's tree -------------------------------------------------------------------


@dataclass(slots=True)
class _Text:
    fmt: str | None  # "html", "moodle", "markdown", "plain" or None (the default)
    text: str  # escapes decoded, not trimmed
    token: Token  # where it starts


@dataclass(slots=True)
class _Answer:
    marker: str  # "" (the bare first answer), "=" or "~"
    weight: float | None
    weight_raw: str
    text: _Text | None
    arrow: str | None  # the `->` as written (with the spaces after it), None without one
    right: _Text | None
    feedback: list[_Text | None]
    token: Token | None


@dataclass(slots=True)
class _Answers:
    numeric: bool
    answers: list[_Answer]
    general: _Text | None
    token: Token


@dataclass(slots=True)
class _Parsed:
    title: str | None
    fmt: str | None
    text: str
    answers: _Answers | None
    tail: str | None


_ESCAPES = (("\\:", ":"), ("\\#", "#"), ("\\=", "="), ("\\{", "{"), ("\\}", "}"), ("\\~", "~"), ("\\n", "\n"))


def _unescape(text: str) -> str:
    """GIFT's escapes decoded as Moodle does (an escaped backslash first, so `\\\\n` is a backslash and n);
    any other backslash stays."""
    if "\\" not in text:
        return text
    text = text.replace("\\\\", "\0")
    for escaped, char in _ESCAPES:
        text = text.replace(escaped, char)
    return text.replace("\0", "\\")


def _fmt_of(tok: Token) -> str:
    return tok.value.strip()[1:-1]


@dataclass(slots=True)
class _Fb:
    text: _Text | None  # one `#…` part (None when nothing follows the `#`)


@dataclass(slots=True)
class _Gf:
    text: _Text | None  # the general feedback `####…`


class _Build(Transformer):
    """Turns the grammar's parse into small records while the LALR parser runs (no tree is built)."""

    def category(self, children: list[Token]) -> str:
        return children[0].value[len("$CATEGORY:"):]

    def formatted(self, children: list[Token]) -> _Text:
        return _Text(_fmt_of(children[0]), _unescape(children[1].value) if len(children) > 1 else "", children[0])

    @staticmethod
    def _more(children: list[Any]) -> _Text | None:
        """The text after `->`, `#` or `####` (children[0]), arrows in it kept as text."""
        rest = children[1:]
        if not rest:
            return None
        first = rest[0]
        if len(rest) == 1 and not isinstance(first, _Text):
            return _Text(None, _unescape(first.value), first) if first.type == "ATEXT" else _Text(None, first.value, first)
        fmt = first.fmt if isinstance(first, _Text) else None
        text = "".join(c.text if isinstance(c, _Text) else _unescape(c.value) if c.type == "ATEXT" else c.value
                       for c in rest)
        return _Text(fmt, text, first.token if isinstance(first, _Text) else first)

    def feedback(self, children: list[Any]) -> _Fb:
        return _Fb(self._more(children))

    def general(self, children: list[Any]) -> _Gf:
        return _Gf(self._more(children))

    def pair(self, children: list[Any]) -> tuple[str, _Text | None]:
        return children[0].value, self._more(children)

    def _answer(self, marker: str, children: list[Any], token: Token | None) -> _Answer:
        answer = _Answer(marker, None, "", None, None, None, [], token)
        for child in children:
            if isinstance(child, Token) and child.type == "WEIGHT":
                answer.weight_raw = child.value.strip()
                answer.weight = float(answer.weight_raw[1:-1]) / 100
                answer.token = answer.token or child
            elif isinstance(child, _Text):
                answer.text = child
                answer.token = answer.token or child.token
            elif isinstance(child, Token) and child.type == "ATEXT":
                answer.text = _Text(None, _unescape(child.value), child)
                answer.token = answer.token or child
            elif isinstance(child, tuple):
                answer.arrow, answer.right = child
            elif isinstance(child, _Fb):
                answer.feedback.append(child.text)
        return answer

    def bare(self, children: list[Any]) -> _Answer:
        return self._answer("", children, None)

    def item(self, children: list[Any]) -> _Answer:
        marker = children[0]
        answer = self._answer(marker.value[0], children[1:], marker)
        weight = marker.value[1:].strip(_TRIM)
        if weight:
            answer.weight_raw = weight
            answer.weight = float(weight[1:-1]) / 100
        return answer

    def _answers(self, numeric: bool, children: list[Any]) -> _Answers:
        # Moodle drops a first answer that is only white space (`{ =a}` has one answer).
        answers = [c for c in children if isinstance(c, _Answer)
                   and not (c.marker == "" and c.text is not None and not c.text.text.strip(_TRIM)
                            and c.weight is None and c.arrow is None and not c.feedback)]
        general = next((c.text for c in children if isinstance(c, _Gf)), None)
        return _Answers(numeric, answers, general, children[0])

    def numeric(self, children: list[Any]) -> _Answers:
        return self._answers(True, children)

    def choices(self, children: list[Any]) -> _Answers:
        return self._answers(False, children)

    def question(self, children: list[Any]) -> _Parsed:
        parsed = _Parsed(None, None, "", None, None)
        for child in children:
            if isinstance(child, _Answers):
                parsed.answers = child
            elif child.type == "QTEXT":
                if parsed.answers is None:
                    parsed.text = _unescape(child.value)
                else:
                    parsed.tail = _unescape(child.value)
            elif child.type == "TITLE":
                parsed.title = _unescape(child.value.rstrip(_TRIM)[2:-2])
            else:  # FORMAT
                parsed.fmt = _fmt_of(child)
        return parsed


@functools.cache
def _parser() -> Lark:
    grammar = Path(__file__).with_name("gift.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", transformer=_Build())


# --- reading: from the parse to a Question ---------------------------------------------------------


class _Skip(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Invalid(Exception):
    """GIFT that Moodle itself refuses (an error, with the position)."""

    def __init__(self, message: str, token: Token | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


def _convert(fmt: str | None, text: str) -> str:
    text = text.strip(_TRIM)
    if fmt == "html" and text:
        return _markdownify(text)
    return text


_MATH_DELIMITERS = (("$$", "$$"), ("\\(", "\\)"), ("\\[", "\\]"))  # what Moodle's MathJax filter reads
_MATH_MARK = "GIFTMATHPLACEHOLDER"


def _protect_math(text: str) -> tuple[str, list[str]]:
    """`text` with each TeX span replaced by a placeholder, and the spans: markdownify must not escape the
    `_` and `*` of `$$x_1 * y$$` (KaTeX would then typeset a literal underscore)."""
    spans: list[str] = []
    out: list[str] = []
    i = 0
    while True:
        found = [(text.find(opener, i), opener, closer) for opener, closer in _MATH_DELIMITERS]
        found = [f for f in found if f[0] >= 0]
        if not found:
            break
        start, opener, closer = min(found)
        end = text.find(closer, start + len(opener))
        if end < 0:
            break
        end += len(closer)
        out.append(text[i:start])
        out.append(f"{_MATH_MARK}{len(spans)}X")
        spans.append(text[start:end])
        i = end
    out.append(text[i:])
    return "".join(out), spans


_NEWLINE_SPACE = re.compile(r"[\t \r\n]*[\r\n][\t \r\n]*")  # markdownify's own white-space rules
_SPACE = re.compile(r"[\t ]+")


def _text_node(text: str) -> str:
    """What markdownify makes of HTML without tags or entities (one text node), without building a soup:
    white space around line ends becomes one line end, runs of spaces one space, `*` and `_` escaped."""
    text = _SPACE.sub(" ", _NEWLINE_SPACE.sub("\n", text))
    # markdownify's own trimming of a text node at the edges of a block: ASCII space before, any space after
    return text.replace("*", "\\*").replace("_", "\\_").lstrip(" \t\r\n").rstrip()


# Moodle's editors wrap plain text in paragraphs (`<p dir="ltr" style="text-align: left;">…</p>`): most HTML in
# a Moodle export is only that, and is converted here as markdownify would (tests/test_gift.py checks it
# against markdownify) without building a soup, which costs half a millisecond a fragment.
_PARAGRAPHS = re.compile(r"\s*(?:<p(?:\s[^<>]*)?>[^<&]*</p>\s*)+")
_PARAGRAPH = re.compile(r"<p(?:\s[^<>]*)?>([^<&]*)</p>")


def _paragraphs(html: str) -> str | None:
    """markdownify's result for HTML that is only paragraphs of plain text; None for anything else."""
    if not _PARAGRAPHS.fullmatch(html):
        return None
    return "\n\n".join(part for part in (_text_node(m.group(1)) for m in _PARAGRAPH.finditer(html)) if part)


@functools.lru_cache(maxsize=8192)
def _markdownify(html: str) -> str:
    text, spans = _protect_math(html)
    if "<" not in text and "&" not in text:
        text = _text_node(text).strip()
    elif (simple := _paragraphs(text)) is not None:
        text = simple.strip()
    else:
        from markdownify import markdownify

        text = markdownify(text, heading_style="ATX", bullets="-").strip()
    for n, span in enumerate(spans):
        text = text.replace(f"{_MATH_MARK}{n}X", span, 1)
    return text


def _value(t: _Text | None, default_fmt: str | None) -> str:
    if t is None:
        return ""
    return _convert(t.fmt or default_fmt, t.text)


def _raw(t: _Text | None) -> str:
    """The text as written, format tag included (where Moodle does not read a format)."""
    if t is None:
        return ""
    return (f"[{t.fmt}]" if t.fmt else "") + t.text


def _answer_text(a: _Answer) -> _Text | None:
    """The answer's text with any `->` put back (only matching reads the arrow)."""
    if a.arrow is None:
        return a.text
    base = a.text or _Text(None, "", a.token)  # type: ignore[arg-type]
    return _Text(base.fmt, base.text + a.arrow + _raw(a.right), base.token)


def _feedback(a: _Answer, default_fmt: str | None) -> str:
    # Moodle splits an answer at its first `#` only: any later `#` belongs to the feedback.
    if not a.feedback:
        return ""
    first = a.feedback[0]
    text = "#".join(f.text if f else "" for f in a.feedback)
    return _convert((first.fmt if first else None) or default_fmt, text)


@dataclass(slots=True)
class _Context:
    bank: str
    file: str
    topic: str
    taken: set[str]
    position: int


def _category_topic(path: str, bank: str) -> str:
    # Moodle writes a `/` inside a category name as `//`.
    parts = [p.replace("\0", "/").strip() for p in path.strip(_TRIM).replace("//", "\0").split("/")]
    parts = [p for p in parts if p]
    last = parts[-1] if parts else ""
    return bank if not last or last == "top" or last.startswith("$") else last


def _moodle_tokens(comments: Iterable[str], kind: str) -> list[str]:
    """The values of `[kind:…]` in Moodle 4's comment lines (`\\]` is an escaped `]`)."""
    out: list[str] = []
    opener = f"[{kind}:"
    for comment in comments:
        start = comment.find(opener)
        while start >= 0:
            i, value = start + len(opener), []
            while i < len(comment) and comment[i] != "]":
                if comment.startswith("\\]", i):
                    value.append("]")
                    i += 2
                else:
                    value.append(comment[i])
                    i += 1
            if i < len(comment):
                if text := "".join(value).strip():
                    out.append(text)
            start = comment.find(opener, i)
    return out


def _number(text: str, token: Token | None) -> float:
    try:
        value = float(text.strip(_TRIM))
    except ValueError:
        raise _Invalid(f"数值题的答案「{text.strip()}」不是数字 (not a number)", token) from None
    if not math.isfinite(value):
        raise _Invalid(f"数值题的答案「{text.strip()}」不是有限的数 (not a finite number)", token)
    return value


def _question(parsed: _Parsed, block: _Block, ctx: _Context, notes: list[ImportNote]) -> Question:
    """The plain GIFT meaning of one parsed question (no extension). Raises _Skip or _Invalid."""
    line = block.first_line
    comments = [c for _, c in block.comments]
    title = " ".join((parsed.title or "").replace("\n", " ").split())
    qfmt = parsed.fmt
    raw = parsed.text + (_BLANK_MARK + parsed.tail if parsed.tail is not None else "")
    prompt = _convert(qfmt, raw).replace(_BLANK_MARK, BLANK)
    answers = parsed.answers
    general = _value(answers.general, qfmt) if answers else ""

    ids = _moodle_tokens(comments, "id")
    qid = None
    if ids:
        qid = given_id(ids[0])
        if qid is None:
            notes.append(ImportNote("warning", f"Moodle 的 id「{ids[0]}」不是合法的题目 id，改用生成的 id "
                                               "(not a valid Mianjing id)", line))
        elif qid in ctx.taken:
            notes.append(ImportNote("warning", f"id「{qid}」重复，改用生成的 id (duplicate id)", line))
            qid = None
        else:
            ctx.taken.add(qid)
    if qid is None:
        qid = question_id(ctx.bank, title, ctx.position, ctx.taken)
    common: dict[str, Any] = {
        "id": qid, "bank": ctx.bank, "title": title, "prompt": prompt, "explanation": general,
        "difficulty": 3, "topics": (ctx.topic,), "tags": tuple(dict.fromkeys(_moodle_tokens(comments, "tag"))),
        "source": ctx.file, "imported_from": f"{FORMAT_NAME}:{ctx.file}", "file": ctx.file, "line": line,
    }
    if answers is None:
        if not prompt:
            raise _Skip("说明文字为空 (empty description)")
        return Question(type="description", scored=False, **common)
    if not prompt:
        raise _Skip("题干为空 (empty question text)")
    items = answers.answers
    if answers.numeric:
        return _numeric(items, qfmt, common, notes)
    if not items:
        # Moodle's essay; the general feedback is the reference answer a candidate rates themself against.
        return Question(type="open", self_rated=True, reference=general, **common)
    if any(a.marker == "~" for a in items):
        return _choice(items, qfmt, common, notes)
    if any(a.marker == "=" for a in items) and any(a.arrow is not None for a in items):
        return _matching(items, qfmt, common, notes)
    first = items[0]
    if (len(items) == 1 and first.marker == "" and first.arrow is None and first.weight is None
            and first.text is not None and first.text.fmt is None and first.text.text.strip(_TRIM) in
            ("T", "TRUE", "F", "FALSE")):
        return _truefalse(first, qfmt, common)
    return _short(items, qfmt, common)


def _choice(items: list[_Answer], qfmt: str | None, common: dict[str, Any], notes: list[ImportNote]) -> Question:
    if len(items) < 2:
        raise _Invalid("选择题至少需要两个答案 (a multiple choice needs two answers)", items[0].token)
    if len(items) > MAX_OPTIONS:
        raise _Skip(f"选项超过 {MAX_OPTIONS} 个 (more than {MAX_OPTIONS} options)")
    # Moodle: one answer marked `=` makes it single choice; otherwise several answers may be chosen.
    single = any(a.marker == "=" for a in items)
    options: list[Option] = []
    fractions: dict[str, float] = {}
    for i, a in enumerate(items):
        key = chr(ord("A") + i)
        text = _answer_text(a)
        if a.marker == "=":
            fraction = 1.0
            if a.weight_raw:  # Moodle reads no weight after `=` in a multiple choice: it is text
                text = _Text(text.fmt if text else None, a.weight_raw + (text.text if text else ""), a.token)
        else:
            fraction = a.weight if a.weight is not None else 0.0
        body = _value(text, qfmt)
        if not body:
            raise _Invalid("选项的文字为空 (empty answer)", a.token)
        fractions[key] = fraction
        options.append(Option(key, body, False, _feedback(a, qfmt)))
    if single:
        full = [k for k, f in fractions.items() if f >= _FULL]
        if len(full) != 1:
            raise _Skip(f"单选题有 {len(full)} 个满分答案，只能有一个 (single choice needs exactly one full-credit answer)")
        options = [replace(o, correct=o.key == full[0]) for o in options]
        if any(not -1 - 1e-9 <= f <= 1 + 1e-9 for f in fractions.values()):
            raise _Skip("答案的得分不在 -100%..100% (a weight outside -100%..100%)")
        # Plain right/wrong needs no weights; partial credit or a penalty keeps Moodle's fractions.
        weights = dict(fractions) if any(f not in (0.0, 1.0) for f in fractions.values()) else None
        return Question(type="single", options=tuple(options), weights=weights, **common)
    if any(not -1 - 1e-9 <= f <= 1 + 1e-9 for f in fractions.values()):
        raise _Skip("答案的得分不在 -100%..100% (a weight outside -100%..100%)")
    options = [replace(o, correct=fractions[o.key] > 0) for o in options]
    if not any(o.correct for o in options):
        raise _Skip("多选题没有得分的答案 (no answer earns credit)")
    best = sum(f for f in fractions.values() if f > 0)
    if best < _FULL:  # Mianjing's multiple choice needs the right answers to be worth 100% together
        raise _Skip(f"得分答案合计只有 {best:.0%}，全选对也拿不到满分 (the credited answers add up to {best:.0%})")
    # Moodle's fractions are the whole grading (an answer without a weight is worth 0, not a penalty).
    return Question(type="multiple", options=tuple(options), weights=dict(fractions), **common)


def _truefalse(answer: _Answer, qfmt: str | None, common: dict[str, Any]) -> Question:
    value = answer.text.text.strip(_TRIM) in ("T", "TRUE")  # type: ignore[union-attr]
    # `{T#wrong#right}`: the first feedback is for a wrong answer, the second for the right one.
    wrong = _convert((answer.feedback[0].fmt if answer.feedback and answer.feedback[0] else None) or qfmt,
                     answer.feedback[0].text if answer.feedback and answer.feedback[0] else "")
    rest = answer.feedback[1:]
    right = _convert((rest[0].fmt if rest and rest[0] else None) or qfmt, "#".join(f.text if f else "" for f in rest))
    options = (Option("T", TRUE_TEXT, value, right if value else wrong),
               Option("F", FALSE_TEXT, not value, wrong if value else right))
    return Question(type="truefalse", answer=value, options=options, **common)


def _short(items: list[_Answer], qfmt: str | None, common: dict[str, Any]) -> Question:
    accepted: list[Accepted] = []
    for a in items:
        text = _value(_answer_text(a), qfmt)
        if not text:
            raise _Invalid("简答题的答案为空 (empty answer)", a.token)
        fraction = a.weight if a.weight is not None else 1.0
        if not 0 <= fraction <= 1:
            raise _Skip(f"答案「{text}」的得分 {fraction:.0%} 不在 0..100% (a weight outside 0..100%)")
        accepted.append(Accepted(text=text, fraction=fraction, feedback=_feedback(a, qfmt)))
    texts = [a.text for a in accepted]
    if len(set(texts)) != len(texts):
        raise _Skip("简答题有重复的答案 (an answer is listed twice)")
    best = next((a for a in accepted if a.fraction == 1), None)
    if best is None:
        raise _Skip("简答题没有满分答案 (no answer earns full credit)")
    # The bank's rule (app/content/banks.py): the full-credit answer must score 1, not be taken by an earlier
    # answer worth less (first match wins, as in Moodle).
    hit = first_match(tuple(accepted), expected_text(best.text), False)
    if hit is None or hit.fraction != 1:
        raise _Skip(f"满分答案「{best.text}」先被得分更低的答案匹配 (the full-credit answer is matched first "
                    "by one worth less)")
    return Question(type="short", accepted=tuple(accepted), **common)


def _matching(items: list[_Answer], qfmt: str | None, common: dict[str, Any], notes: list[ImportNote]) -> Question:
    pairs: list[Pair] = []
    for a in items:
        if a.arrow is None:
            raise _Invalid("配对题的每个答案都要写成 `=左 -> 右` (a matching answer needs `->`)", a.token)
        left_text = a.text
        if a.weight_raw:  # Moodle reads no weight in a matching answer: it is part of the left text
            left_text = _Text(a.text.fmt if a.text else None, a.weight_raw + (a.text.text if a.text else ""), a.token)
        right = _raw(a.right) + "".join("#" + (f.text if f else "") for f in a.feedback)
        pairs.append(Pair(_value(left_text, qfmt), right.strip(_TRIM)))
    if problem := pairs_problem(pairs):
        raise _Skip(problem)
    if any(not p.right for p in pairs):
        raise _Invalid("配对题的右边为空 (empty right side)", items[0].token)
    return Question(type="matching", pairs=tuple(pairs), **common)


def _numeric(items: list[_Answer], qfmt: str | None, common: dict[str, Any], notes: list[ImportNote]) -> Question:
    # Moodle: from the first `~` on, everything is the feedback for any other answer.
    cut = next((i for i, a in enumerate(items) if a.marker == "~"), len(items))
    if cut < len(items):
        notes.append(ImportNote("warning", "数值题「其他答案」的反馈（~#…）没有保留 (feedback for other answers "
                                           "is not carried)", common["line"]))
    entries: list[Accepted] = []
    for a in items[:cut]:
        text = _answer_text(a)
        body = text.text.strip(_TRIM) if text else ""
        if not body:
            raise _Invalid("数值题的答案为空 (empty numeric answer)", a.token)
        fraction = a.weight if a.weight is not None else 1.0
        if not 0 <= fraction <= 1:
            raise _Skip(f"答案 {body} 的得分 {fraction:.0%} 不在 0..100% (a weight outside 0..100%)")
        feedback = _feedback(a, qfmt)
        dots = body.find("..")
        colon = body.find(":")
        if dots > 0:
            low, high = _number(body[:dots], a.token), _number(body[dots + 2:], a.token)
            if low > high:
                raise _Invalid(f"范围 {body} 的下限大于上限 (min above max)", a.token)
            entries.append(Accepted(low=low, high=high, fraction=fraction, feedback=feedback))
        elif colon > 0:
            value, tolerance = _number(body[:colon], a.token), _number(body[colon + 1:], a.token)
            entries.append(Accepted(value=value, tolerance=abs(tolerance), fraction=fraction, feedback=feedback))
        else:
            entries.append(Accepted(value=_number(body, a.token), fraction=fraction, feedback=feedback))
    if not entries:
        raise _Invalid("数值题没有答案 (no numeric answer)", None)
    full = next((e for e in entries if e.fraction == 1), None)
    if full is None:
        raise _Skip("数值题没有满分答案 (no answer earns full credit)")
    only = entries[0]
    if len(entries) == 1 and only.value is not None and not only.feedback:
        return Question(type="numeric", answer=only.value, tolerance=only.tolerance, **common)
    shown = full.value if full.value is not None else (full.low + full.high) / 2  # type: ignore[operator]
    if next(e for e in entries if numeric_accepts(e, shown)).fraction != 1:
        raise _Skip(f"满分答案 {shown:g} 先被得分更低的答案接住 (the full-credit value is matched first by one "
                    "worth less)")
    return Question(type="numeric", answer=shown, accepted=tuple(entries), **common)


_TOKEN_NAMES = {
    "RBRACE": "}", "LBRACE": "{", "EQ": "=", "TILDE": "~", "HASH": "#", "NUMERIC": "{#", "GF": "####", "ARROW": "->",
    "WEIGHT": "%权重%", "TITLE": "::标题::", "$END": "题目结尾", "FORMAT": "[格式]",
    "QTEXT": "文字", "ATEXT": "文字", "CATEGORY": "$CATEGORY",
}


def _syntax_note(exc: UnexpectedInput, block: _Block) -> ImportNote:
    if isinstance(exc, UnexpectedCharacters):
        line, column = block.where(exc.line, exc.column)
        found = exc.char
        return ImportNote("error", f"语法错误：这里不能出现「{found}」 (unexpected character {found!r})", line, column)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        line, column = block.where(exc.token.line, exc.token.column)
        found = _TOKEN_NAMES.get(exc.token.type, exc.token.type)
        expected = sorted({_TOKEN_NAMES.get(t, t) for t in exc.expected})
        return ImportNote("error", f"语法错误：这里不能出现「{found}」，应为 {' '.join(expected)} "
                                   f"(unexpected {exc.token.value!r})", line, column)
    number, indent, text = block.lines[-1]
    expected = sorted({_TOKEN_NAMES.get(t, t) for t in getattr(exc, "expected", ()) or ()})
    hint = f"，缺少 {' '.join(expected)}" if expected else ""
    return ImportNote("error", f"语法错误：题目在这里结束了{hint}（可能少了「}}」，或空行把题目断开了） "
                               "(the question ends too early)", number, indent + len(text) + 1)


def _extension(block: _Block, notes: list[ImportNote]) -> dict[str, Any] | None:
    for number, comment in block.comments:
        if comment.startswith(EXTENSION_PREFIX):
            try:
                data = json.loads(comment[len(EXTENSION_PREFIX):])
            except ValueError as exc:
                notes.append(ImportNote("warning", f"mianjing 扩展不是合法的 JSON，已忽略 (bad JSON: {exc})", number))
                return None
            if not isinstance(data, dict):
                notes.append(ImportNote("warning", "mianjing 扩展应为 JSON 对象，已忽略 (not an object)", number))
                return None
            return data
    return None


def import_gift(data: str | bytes, *, bank: str, file: str,
                progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """The questions of a GIFT file imported into `bank` (`file` is its name: the source of every question
    and where notes point), with a note for every error, skipped question and what was not carried.
    `progress(done, total)` is called every 500 blocks (the CLI shows it)."""
    result = ImportResult()
    notes = result.notes
    parser = _parser()
    blocks = _blocks(_normalise(data))
    ctx = _Context(bank=bank, file=file, topic=bank, taken=set(), position=0)
    for index, block in enumerate(blocks, 1):
        if progress is not None and index % 500 == 0:
            progress(index, len(blocks))
        if not block.lines:
            continue  # only comments: Moodle skips such a block too
        q = _read_block(parser, block, ctx, notes)
        if q is not None:
            result.questions.append(q)
    if progress is not None:
        progress(len(blocks), len(blocks))
    return result


def _read_block(parser: Lark, block: _Block, ctx: _Context, notes: list[ImportNote]) -> Question | None:
    text = "\n".join(line for _, _, line in block.lines)
    try:
        parsed = parser.parse(text)
    except UnexpectedInput as exc:
        notes.append(_syntax_note(exc, block))
        return None
    if isinstance(parsed, str):  # $CATEGORY
        if len(block.lines) > 1:  # Moodle reads the whole block as the category's name: say so
            notes.append(ImportNote("warning", "$CATEGORY 后面没有空行：下面几行没有导入（Moodle 把它们读成分类名的一部分） "
                                               "(the lines after $CATEGORY up to a blank line are not imported)",
                                    block.lines[1][0]))
        ctx.topic = _category_topic(parsed.split("\n", 1)[0], ctx.bank)
        return None
    ctx.position += 1
    extension = _extension(block, notes)
    if extension is not None and "instance_of" in extension:
        return None  # a further drawn instance of a generated item: the first one carries the item
    own_notes: list[ImportNote] = []
    base: Question | None = None
    try:
        base = _question(parsed, block, ctx, own_notes)
    except _Invalid as exc:
        if extension is None:
            line, column = block.where(exc.token.line, exc.token.column) if exc.token else (block.first_line, 0)
            notes.append(ImportNote("error", exc.message, line, column))
            return None
    except _Skip as exc:
        if extension is None:
            notes.append(ImportNote("skipped", exc.message, block.first_line))
            return None
    if extension is None:
        notes.extend(own_notes)
        return base
    try:
        q = from_extension(extension, bank=ctx.bank, file=ctx.file, line=block.first_line, base=base)
    except (ExtensionError, TypeError, ValueError) as exc:
        notes.append(ImportNote("warning", f"mianjing 扩展无法读取，按 GIFT 导入 (extension ignored: {exc})",
                                block.first_line))
        notes.extend(own_notes)
        return base
    ctx.taken.add(q.id)
    return q


# --- writing ---------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Text as GIFT writes it: the specials escaped, line ends as `\\n` (so a question stays one line and no
    blank line can cut it), carriage returns dropped (as Moodle's writer does)."""
    out = []
    for ch in text:
        if ch in _ESCAPABLE:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch != "\r":
            out.append(ch)
    return "".join(out)


_FORMAT_TAGS = ("[html]", "[moodle]", "[markdown]", "[plain]")


def escape_part(text: str) -> str:
    """An answer's or a feedback's text as GIFT writes it: escaped, and behind an explicit `[markdown]` when
    it starts like a format tag (GIFT has no escape for `[`)."""
    out = escape(text)
    return "[markdown]" + out if out.startswith(_FORMAT_TAGS) else out


def _num(x: float) -> str:
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _pct(fraction: float) -> str:
    text = f"{fraction * 100:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _tag_line(q: Question, qid: str) -> str:
    bits = [f"[id:{qid.replace(']', chr(92) + ']')}]"]
    bits += [f"[tag:{t.replace(']', chr(92) + ']')}]" for t in q.tags]
    return "// " + " ".join(bits)


def _gf(explanation: str) -> str:
    return f"\t####{escape_part(explanation)}\n" if explanation else ""


def _text_with_answers(prompt: str, answers: str) -> str:
    """The question text with its {answers}: where the prompt's one `_____` stands (missing word), else after
    the text (Moodle's reader puts `_____` back only when text follows the braces)."""
    body = prompt
    if body.count(BLANK) == 1:
        before, after = body.split(BLANK)
        if after.strip(_TRIM) and before.strip(_TRIM):
            return f"[markdown]{escape(before)}{answers}{escape(after)}"
    return f"[markdown]{escape(body)}{answers}"


def _choice_body(q: Question) -> str:
    lines = []
    right = [o for o in q.options if o.correct]
    wrong = [o for o in q.options if not o.correct]
    for o in q.options:
        if q.weights is not None:
            fraction = float(q.weights.get(o.key, q.weights.get(o.key.lower(), 1.0 if o.correct else 0.0)))
        elif q.type == "single":
            fraction = 1.0 if o.correct else 0.0
        else:  # Mianjing's default for several answers: each right one 1/#right, each wrong one -1/#wrong
            fraction = 1 / len(right) if o.correct else (-1 / len(wrong) if wrong else 0.0)
        if q.type == "single" and o.correct and fraction == 1.0:
            mark = "="
        elif fraction == 0:
            mark = "~"
        else:
            mark = f"~%{_pct(fraction)}%"
        fb = f"#{escape_part(o.feedback)}" if o.feedback else ""
        lines.append(f"\t{mark}{escape_part(o.text)}{fb}\n")
    return "{\n" + "".join(lines) + _gf(q.explanation) + "}"


def _truefalse_body(q: Question) -> str:
    value = bool(q.answer)
    by_key = {o.key: o for o in q.options}
    right = by_key.get("T" if value else "F")
    wrong = by_key.get("F" if value else "T")
    right_fb, wrong_fb = (right.feedback if right else ""), (wrong.feedback if wrong else "")
    out = "{" + ("TRUE" if value else "FALSE")
    if wrong_fb:
        out += "#" + escape_part(wrong_fb)
    elif right_fb:
        out += "#"
    if right_fb:
        out += "#" + escape_part(right_fb)
    if q.explanation:
        out += "####" + escape_part(q.explanation)
    return out + "}"


def _short_body(accepted: Sequence[Accepted], explanation: str) -> str:
    lines = []
    for a in accepted:
        weight = "" if a.fraction == 1.0 else f"%{_pct(a.fraction)}%"
        fb = f"#{escape_part(a.feedback)}" if a.feedback else ""
        lines.append(f"\t={weight}{escape_part(a.text)}{fb}\n")
    return "{\n" + "".join(lines) + _gf(explanation) + "}"


def _numeric_body(q: Question) -> str:
    if not q.accepted:
        tolerance = q.tolerance or (q.rel_tolerance * abs(float(q.answer)) if q.rel_tolerance else 0.0)
        value = f"{_num(q.answer)}:{_num(tolerance)}" if tolerance else _num(q.answer)
        if not q.explanation:
            return "{#" + value + "}"
        return "{#\n\t=" + value + "\n" + _gf(q.explanation) + "}"
    lines = []
    for a in q.accepted:
        weight = "" if a.fraction == 1.0 else f"%{_pct(a.fraction)}%"
        if a.low is not None and a.high is not None:
            value = f"{_num(a.low)}..{_num(a.high)}"
        else:
            value = f"{_num(a.value or 0.0)}:{_num(a.tolerance)}" if a.tolerance else _num(a.value or 0.0)
        fb = f"#{escape_part(a.feedback)}" if a.feedback else ""
        lines.append(f"\t={weight}{value}{fb}\n")
    return "{#\n" + "".join(lines) + _gf(q.explanation) + "}"


def _matching_body(q: Question) -> str:
    lines = [f"\t={escape_part(p.left)} -> {escape(p.right)}\n" for p in q.pairs]
    return "{\n" + "".join(lines) + _gf(q.explanation) + "}"


def _shape_spellings(shape: Sequence[int]) -> tuple[Accepted, ...]:
    dims = [str(int(d)) for d in shape]
    forms = (f"({', '.join(dims)})", f"[{', '.join(dims)}]", ", ".join(dims), ",".join(dims))
    return tuple(Accepted(text=f) for f in dict.fromkeys(forms))


def _essay_body(explanation: str) -> str:
    return "{" + (f"####{escape_part(explanation)}" if explanation else "") + "}"


def _body(q: Question) -> str:
    """The GIFT text of a question without its comment lines (never a generated item: see _instances)."""
    name = f"::{escape(q.title)}::" if q.title else ""
    if q.type == "description":
        return name + "[markdown]" + escape(q.prompt)
    if q.type in ("single", "multiple"):
        answers = _choice_body(q)
    elif q.type == "truefalse":
        answers = _truefalse_body(q)
    elif q.type == "short":
        answers = _short_body(q.accepted, q.explanation)
    elif q.type == "numeric":
        answers = _numeric_body(q)
    elif q.type == "matching":
        answers = _matching_body(q)
    elif q.type == "shape":
        answers = _short_body(_shape_spellings(tuple(q.answer)), q.explanation)
    elif q.type == "code" and q.code is not None:
        # GIFT's essay with the starter code under the text (as the Moodle XML writer does); the reference
        # implementation and the tests are not shown, only carried in the extension for a Mianjing import
        prompt = q.prompt + "\n\n```python\n" + q.code.starter.rstrip("\n") + "\n```"
        return name + _text_with_answers(prompt, _essay_body(q.explanation))
    else:  # open: GIFT's essay
        answers = _essay_body(q.explanation)
    return name + _text_with_answers(q.prompt, answers)


def _instance_question(q: Question, seed: int) -> Question:
    """One drawn instance of a generated item as the numeric or shape item GIFT can hold."""
    if q.calculator is None:
        raise ValueError(f"generated item {q.id} has no calculator")
    inst = draw(q.calculator, q.params, seed)  # what app/scoring/check.instance_for draws for this seed
    prompt = fill_template(q.prompt, inst.params)
    explanation = fill_template(q.explanation, {**inst.params, "worked": inst.worked, "answer": inst.answer})
    if inst.kind == "shape":
        return replace(q, type="shape", prompt=prompt, explanation=explanation, answer=tuple(inst.answer),
                       order=inst.order, calculator=None, params={})
    tolerance = inst.tolerance or inst.rel_tolerance * abs(float(inst.answer))  # type: ignore[arg-type]
    return replace(q, type="numeric", prompt=prompt, explanation=explanation, answer=float(inst.answer),
                   tolerance=tolerance, rel_tolerance=0.0, calculator=None, params={})


def _reread(block: str, q: Question) -> Question | None:
    """What the importer reads from `block` without an extension (None when it would not import it)."""
    blocks = _blocks(block)
    if len(blocks) != 1 or not blocks[0].lines:
        return None
    ctx = _Context(bank=q.bank, file=q.source, topic=q.topics[0] if q.topics else q.bank, taken=set(), position=1)
    try:
        parsed = _parser().parse("\n".join(line for _, _, line in blocks[0].lines))
        if isinstance(parsed, str):
            return None
        return _question(parsed, blocks[0], ctx, [])
    except (UnexpectedInput, _Skip, _Invalid):
        return None


def _ext_line(data: dict[str, Any]) -> str:
    return "// " + EXTENSION_PREFIX + " " + json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _write(q: Question, body: str, ext_of: Question) -> str:
    """A question's block: the Moodle 4 id/tag line, the extension, the text."""
    tags = _tag_line(ext_of, q.id)
    base = _reread(f"{tags}\n{body}", q)
    ext = to_extension(ext_of, base=base, always=_CONTEXT_FIELDS)
    return f"{tags}\n{_ext_line(ext)}\n{body}\n"


def _category(q: Question, bank_titles: Mapping[str, str]) -> str:
    bank = bank_titles.get(q.bank, q.bank)
    topic = q.topics[0] if q.topics else q.bank
    return f"$course$/top/{bank.replace('/', '//')}/{topic.replace('/', '//')}"


def export_gift(questions: Sequence[Question], *, instances: int = 1,
                bank_titles: Mapping[str, str] | None = None) -> str:
    """The GIFT text of `questions` (every type; see the module's doc string for what travels in the
    `// mianjing:` extension). A `$CATEGORY` line (`$course$/top/<bank title or id>/<first topic>`, so a
    Moodle import files the questions by bank and topic) precedes each run of questions of one category. A generated item becomes `instances` drawn instances (seeds 1..instances),
    each a numeric or shape item, because GIFT has no parametric type; the first carries the extension that
    rebuilds the template, the others are marked as its instances (a Mianjing import skips them)."""
    if instances < 1:
        raise ValueError("instances must be at least 1")
    out: list[str] = []
    category = None
    generated = sum(1 for q in questions if q.type == "generated")
    if generated:
        out.append(f"// Mianjing: {generated} generated item(s), each written as {instances} drawn "
                   "instance(s): GIFT has no parametric type.\n")
    titles = bank_titles or {}
    for q in questions:
        if _category(q, titles) != category:
            category = _category(q, titles)
            out.append(f"$CATEGORY: {category}\n")
        if q.type != "generated":
            out.append(_write(q, _body(q), q))
            continue
        for k in range(1, instances + 1):
            shown = _instance_question(q, k)
            if k == 1:
                out.append(_write(q, _body(shown), q))
            else:
                title = f"{q.title} ({k})" if q.title else ""
                marker = {"v": 1, "instance_of": q.id, "seed": k}
                out.append(f"{_tag_line(q, f'{q.id}-{k}')}\n{_ext_line(marker)}\n{_body(replace(shown, title=title))}\n")
    return "\n".join(out)


__all__ = ["BLANK", "escape", "escape_part", "export_gift", "import_gift"]
