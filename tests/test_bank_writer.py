"""The bank writer is the bank parser's inverse: every bundled item, and the awkward text imports bring."""

from __future__ import annotations

import dataclasses

import pytest

from app.content.banks import parse_bank
from app.content.loader import load_content
from app.content.model import CodeSpec, Question
from app.formats.bank_writer import write_bank
from tests.conftest import REPO


def _bare(q: Question) -> Question:
    return dataclasses.replace(q, file="", line=0)


def _round_trip(questions: list[Question], bank: str = "b") -> list[Question]:
    text = write_bank(bank=bank, title="T: 标题", description="# not a heading", questions=questions)
    info, back, errors = parse_bank(text, f"{bank}.md")
    assert errors == [], text
    assert info is not None and info.title == "T: 标题" and info.description == "# not a heading"
    return back


@pytest.fixture(scope="module")
def bundled():
    return load_content("content")


def test_every_bundled_bank_reads_back_as_the_same_questions(bundled) -> None:
    for bank in bundled.banks:
        questions = [q for q in bundled.questions if q.bank == bank.id]
        back = _round_trip(questions, bank.id)
        assert [_bare(q) for q in back] == [_bare(q) for q in questions], bank.id


def test_every_imported_type_reads_back() -> None:
    info, questions, errors = parse_bank((REPO / "tests/fixtures/types/types.md").read_text(encoding="utf-8"),
                                         "types.md")
    assert errors == [] and info is not None
    assert {q.type for q in questions} >= {"truefalse", "short", "matching", "numeric", "single", "open",
                                           "description"}
    assert [_bare(q) for q in _round_trip(questions, info.id)] == [_bare(q) for q in questions]


def _question(**overrides) -> Question:
    fields = dict(id="b-q1", bank="b", type="numeric", title="", prompt="p", explanation="e", difficulty=3,
                  topics=("t",), tags=(), source="x.gift", answer=1.0)
    return Question(**(fields | overrides))


def test_text_that_looks_like_a_heading_stays_text() -> None:
    prompt = "第一行\n## 不是新题\n### 也不是小节\n```\n## 代码里的 ## 原样\n```"
    (back,) = _round_trip([_question(prompt=prompt)])
    assert back.prompt == prompt.replace("\n## 不是", "\n\\## 不是").replace("\n### 也", "\n\\### 也")
    assert "## 代码里的 ## 原样" in back.prompt


def test_code_with_backtick_fences_inside_keeps_its_source() -> None:
    source = 'def f():\n    """```\n    example\n    ```"""\n    return 1\n'
    spec = CodeSpec(entry="f", starter=source, reference=source, tests="EXAMPLES = []\nHIDDEN = []\n",
                    time_limit_s=1.5)
    (back,) = _round_trip([_question(type="code", answer=None, code=spec)])
    assert back.code == spec


def test_a_title_and_yaml_specials_survive() -> None:
    q = _question(title="多行\n标题: yes", topics=("a: b", "yes", "123"), source="no")
    (back,) = _round_trip([q])
    assert back.title == "多行 标题: yes" and back.topics == ("a: b", "yes", "123") and back.source == "no"


def test_a_json_metadata_block_reports_its_keys_at_their_lines() -> None:
    text = write_bank(bank="b", title="t", description="", questions=[_question()])
    broken = text.replace('"difficulty": 3', '"difficulty": 9')
    _, _, errors = parse_bank(broken, "b.md")
    line = broken.split("\n").index('  "difficulty": 9,') + 1
    assert [(e.line, "difficulty" in e.message) for e in errors] == [(line, True)]
    # Not JSON after an edit (a trailing comma): read as YAML, which allows it.
    _, back, errors = parse_bank(text.replace('"answer": 1\n}', '"answer": 1,\n}'), "b.md")
    assert errors == [] and back[0].answer == 1.0
    _, _, errors = parse_bank(text.replace('"answer": 1\n}', '"answer": 1\n'), "b.md")  # no closing brace
    assert errors and "YAML" in errors[0].message
