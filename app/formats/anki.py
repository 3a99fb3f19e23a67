"""Anki export: an `.apkg` with one deck per bank (genanki), for candidates who review in Anki.

- One note model, "Mianjing", with the fields Front, Back, Id, Bank, Type, Source; its card shows Front and,
  after the answer line, Back. Its model id is fixed (MODEL_ID, derived from the string "mianjing-note-v1")
  so every export updates the same note type instead of adding "Mianjing+" copies.
- Deck id = `deck_id(bank)`: the first 4 bytes of sha256("mianjing-deck:" + bank id) folded into
  [2^30, 2^31) (the range genanki recommends), so a bank's deck is the same deck on every export. The deck's
  name is the bank's title (`bank_titles`), else its id.
- Note GUID = `genanki.guid_for(bank, question id)` (a generated item's drawn instance k >= 2 adds k): a
  re-import updates the notes instead of duplicating them, and re-exporting gives the same GUIDs.
- Markdown is rendered to HTML like every bank (markdown-it, raw HTML escaped, app/content/render.py); math
  becomes what Anki's MathJax reads: `$…$` → `\\(…\\)` and `$$…$$` → `\\[…\\]` (a `$` inside a code span
  or block stays as it is: the markdown parser never sees math there).
- Tags: the question's topics, spaces (Anki separates tags by spaces) as underscores.
- Front: the prompt (and the options of a choice item, the left and right texts of a matching item, the
  starter code of a code item). Back: the correct option(s), the value(s) or the reference answer, then the
  explanation. Generated items: `instances` drawn instances (seeds 1…n, as in the GIFT export), each its
  own note. Descriptions are not cards: they are left out and reported in `notes`. A code item's reference
  implementation stays out (it is never shown to candidates).
"""

from __future__ import annotations

import hashlib
import html
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import genanki
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from app.calculators import draw
from app.content.banks import fill_template
from app.content.model import Question
from app.formats import ImportNote

MODEL_ID = 1_000_000_000 + int(hashlib.sha256(b"mianjing-note-v1").hexdigest()[:8], 16) % 1_000_000_000
FIELDS = ("Front", "Back", "Id", "Bank", "Type", "Source")

_CSS = """.card { font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; font-size: 18px;
  line-height: 1.55; text-align: left; color: #222; background: #fff; }
.options { list-style: none; padding-left: 0; } .options li { margin: .25em 0; }
.answer-key { font-weight: 600; } pre { background: #f5f5f5; padding: .5em; overflow-x: auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2em .5em; }
"""

MODEL = genanki.Model(
    MODEL_ID,
    "Mianjing",
    fields=[{"name": f} for f in FIELDS],
    templates=[{
        "name": "Card 1",
        "qfmt": "{{Front}}",
        "afmt": '{{FrontSide}}\n\n<hr id="answer">\n\n{{Back}}',
    }],
    css=_CSS,
    sort_field_index=2,
)


def _math_inline(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    return "\\(" + html.escape(tokens[idx].content, quote=False) + "\\)"


def _math_block(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    return "<p>\\[" + html.escape(tokens[idx].content.strip(), quote=False) + "\\]</p>\n"


_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
    .use(dollarmath_plugin, allow_space=True, double_inline=True)
)
_md.add_render_rule("math_inline", _math_inline)
_md.add_render_rule("math_inline_double", _math_block)
_md.add_render_rule("math_block", _math_block)
_md.add_render_rule("math_block_label", _math_block)


def to_anki_html(text: str) -> str:
    """Markdown as Anki HTML: raw HTML escaped, math as MathJax `\\(…\\)` / `\\[…\\]`."""
    return _md.render(text).strip()


def _inline(text: str) -> str:
    return _md.renderInline(text)


def deck_id(bank: str) -> int:
    """A bank's deck id: stable across exports, in genanki's recommended range [2^30, 2^31)."""
    h = int(hashlib.sha256(f"mianjing-deck:{bank}".encode()).hexdigest()[:8], 16)
    return (1 << 30) + h % (1 << 30)


def tag_of(topic: str) -> str:
    return "_".join(topic.split())


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _options(q: Question) -> str:
    items = "".join(f"<li><b>{html.escape(o.key)}.</b> {_inline(o.text)}</li>" for o in q.options)
    return f'<ul class="options">{items}</ul>'


def _front(q: Question, prompt: str) -> str:
    out = to_anki_html(prompt)
    if q.type in ("single", "multiple"):
        out += "\n" + _options(q)
    elif q.type == "matching":
        lefts = [p.left for p in q.pairs if p.left]
        rights = sorted({p.right for p in q.pairs})
        out += "\n<ol>" + "".join(f"<li>{_inline(t)}</li>" for t in lefts) + "</ol>"
        out += '\n<ul class="options">' + "".join(f"<li>{_inline(t)}</li>" for t in rights) + "</ul>"
    elif q.type == "code" and q.code is not None:
        out += "\n" + to_anki_html("```python\n" + q.code.starter.rstrip("\n") + "\n```")
    return out


def _answer(q: Question) -> str:
    t = q.type
    if t in ("single", "multiple"):
        chosen = [o for o in q.options if o.correct]
        return "<p class=\"answer-key\">答案：" + "；".join(
            f"{html.escape(o.key)}. {_inline(o.text)}" for o in chosen) + "</p>"
    if t == "truefalse":
        return f"<p class=\"answer-key\">答案：{'正确' if q.answer else '错误'}</p>"
    if t == "numeric":
        if q.accepted:
            parts = []
            for a in q.accepted:
                if a.fraction <= 0:
                    continue
                shown = (f"{_num(a.value)} ± {_num(a.tolerance)}" if a.value is not None and a.tolerance
                         else _num(a.value) if a.value is not None else f"{_num(a.low or 0)} … {_num(a.high or 0)}")
                parts.append(shown + (f"（{round(a.fraction * 100)}%）" if a.fraction < 1 else ""))
            body = "；".join(parts)
        else:
            body = _num(float(q.answer)) + (f" ± {_num(q.tolerance)}" if q.tolerance else "")
        return f"<p class=\"answer-key\">答案：{html.escape(body)}{html.escape(' ' + q.unit) if q.unit else ''}</p>"
    if t == "shape":
        return f"<p class=\"answer-key\">答案：{html.escape(str(tuple(q.answer)))}</p>"
    if t == "short":
        accepted = [a for a in q.accepted if a.fraction > 0]
        return "<p class=\"answer-key\">答案：" + "；".join(
            html.escape(a.text) + (f"（{round(a.fraction * 100)}%）" if a.fraction < 1 else "") for a in accepted) + "</p>"
    if t == "matching":
        rows = "".join(f"<tr><td>{_inline(p.left)}</td><td>{_inline(p.right)}</td></tr>" for p in q.pairs if p.left)
        return f"<table>{rows}</table>"
    if t == "open":
        return to_anki_html(q.reference)
    return ""


def _back(q: Question, answer: str, explanation: str) -> str:
    parts = [answer] if answer else []
    if explanation.strip():
        parts.append(to_anki_html(explanation))
    return "\n".join(parts)


def _notes_of(q: Question, instances: int) -> list[genanki.Note]:
    tags = [tag_of(t) for t in q.topics if t.strip()]

    def note(front: str, back: str, guid: str) -> genanki.Note:
        return genanki.Note(model=MODEL, fields=[front, back, q.id, q.bank, q.type, q.source], tags=tags, guid=guid)

    if q.type != "generated":
        return [note(_front(q, q.prompt), _back(q, _answer(q), q.explanation), genanki.guid_for(q.bank, q.id))]
    assert q.calculator is not None
    out = []
    for i in range(instances):
        inst = draw(q.calculator, q.params, i + 1)  # seeds 1…n, as the GIFT export draws them
        shown = str(tuple(inst.answer)) if inst.kind == "shape" else _num(float(inst.answer))  # type: ignore[arg-type]
        explanation = fill_template(q.explanation, {**inst.params, "worked": inst.worked, "answer": inst.answer})
        guid = genanki.guid_for(q.bank, q.id) if i == 0 else genanki.guid_for(q.bank, q.id, i + 1)
        out.append(note(to_anki_html(fill_template(q.prompt, inst.params)),
                        _back(q, f'<p class="answer-key">答案：{html.escape(shown)}</p>', explanation), guid))
    return out


def build_package(questions: Sequence[Question], *, bank_titles: Mapping[str, str] | None = None,
                  instances: int = 1, notes: list[ImportNote] | None = None) -> genanki.Package:
    """The decks (one per bank, in first-seen order) holding a note per question."""
    titles = bank_titles or {}
    decks: dict[str, genanki.Deck] = {}
    for q in questions:
        if q.type == "description":
            if notes is not None:
                notes.append(ImportNote("warning", f"{q.id}: 说明文字不是卡片，未导出 / a description is not a card",
                                        field=q.id))
            continue
        if q.type == "generated" and notes is not None:
            notes.append(ImportNote("warning", f"{q.id}: Anki 没有参数化题型，导出了 {max(1, instances)} 个抽好的实例 / "
                                               "exported as drawn instances", field=q.id))
        deck = decks.get(q.bank)
        if deck is None:
            deck = decks[q.bank] = genanki.Deck(deck_id(q.bank), titles.get(q.bank, q.bank))
        for n in _notes_of(q, max(1, instances)):
            deck.add_note(n)
    return genanki.Package(list(decks.values()))


def export_apkg(questions: Sequence[Question], *, bank_titles: Mapping[str, str] | None = None,
                path: str | Path | None = None, instances: int = 1,
                notes: list[ImportNote] | None = None, timestamp: float | None = None) -> bytes:
    """The `.apkg` of `questions`: written to `path` when given; its bytes are returned either way.

    `timestamp` (default: now) stamps the notes: Anki updates a note on import only when the incoming one is
    newer, so each export must be stamped later than the one a candidate imported before."""
    package = build_package(questions, bank_titles=bank_titles, instances=instances, notes=notes)
    if path is not None:
        package.write_to_file(str(path), timestamp=timestamp)
        return Path(path).read_bytes()
    fd, tmp = tempfile.mkstemp(suffix=".apkg")
    os.close(fd)
    try:
        package.write_to_file(tmp, timestamp=timestamp)
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)


__all__ = ["FIELDS", "MODEL_ID", "build_package", "deck_id", "export_apkg", "tag_of", "to_anki_html"]
