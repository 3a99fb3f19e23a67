"""Fuzzing the content loader with malformed and hostile bank (and round) files.

Whatever is on disk, `load_content` either returns Content or raises ContentInvalid, never anything else
(and never crashes the process), and every error names a file, an integer line between 0 and the file's
line count + 1, and says something.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.content.loader import Content, ContentInvalid, load_content
from app.scoring.check import check_answer
from app.views import explanation_html, question_view
from tests.conftest import VALID

SAMPLE = (VALID / "banks" / "sample.md").read_bytes()
ROUND = (VALID / "rounds" / "mini.md").read_bytes()


def _deep_block(depth: int) -> str:
    return "x:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, depth)) + "  " * depth + "v: 1"


# Lines and fragments that break the format in every way we could think of.
HOSTILE = [
    # structure
    "---", "...", "```", "````", "```yaml", "```yml", "~~~", "~~~yaml", "## ", "##", "### ", "### 选项", "### 要点",
    "### 参考答案", "### 解析", "### 未知", "## s-single 重复的 id", "## S-BAD 大写", "## s-new 新题", "# 标题",
    "- [x] ", "- [x] A. 重复", "- [ ] Z. 选项", "- [X]", "- 标签: a|b", "- 标签: a|b (权重: 0)", "- 标签 (权重 -1)",
    "- x: y (weight: 1e999)", "- : |", "{{worked}}", "{{ nope }}", "{{answer}}", "{{" + "a" * 300 + "}}",
    # yaml values
    "type: generated", "type: [single]", "type: {a: b}", "calculator: conv2d_output_shape", "calculator: nope",
    "params: {in_channels: [1, 100000000000000000000]}", "params: [1, 2]", "params: {height: {min: 5, max: 1}}",
    "params: {padding: .nan}", "difficulty: 1e999", "difficulty: .nan", "difficulty: true", "difficulty: 0000-01-01",
    "difficulty: " + "9" * 5000, "answer: " + "9" * 400, "answer: [1, -1]", "answer: '1x2x0'", "answer: .inf",
    "answer: [" + "9" * 50 + "]", "tolerance: -1", "tolerance: " + "9" * 400, "rel_tolerance: 1", "order: NC",
    "order: 1234", "topics: {a: b}", "topics: []", "topics: [[a]]", "tags: 3", "followups: [s-single]",
    "followups: [s-open, s-open]", "followups: [nope]", "followups: {a: 1}", "weights: {A: .nan}", "weights: {Z: 1}",
    "weights: {[1]: 1}", "weights: [1]", "id: 2020-01-01", "id: Bad_Id", "id: [a]", "title: ''", "title: 12",
    "duration: -1", "duration: .inf", "minutes: 0", "questions: [nope]", "questions: s-open",
    "pick: [{count: 99, topic: BN}]", "pick: [{count: -1}]", "pick: {a: 1}", "pick: [{unknown: 1}]",
    "title: !!binary aGVsbG8=", "title: !!python/object/apply:os.system ['true']", "title: !!set {a, b}",
    "? [a, b]\n: 1", "~: 1", "true: 1", "1: 2", "a: &a [x, x, x]\nb: [*a, *a, *a]", "<<: {type: open}",
    'title: "\\ud800"', 'title: "\\udfff\\ud800"', 'title: "\\x00"', 'title: "\\U0010FFFF"', "key: 'unclosed",
    'key: "unclosed', "key: [unclosed", "key: {unclosed", "\tkey: tab", "key:\n\t- tab",
    "key: " + "[" * 100 + "]" * 100, "key: " + "[" * 40000 + "]" * 40000, "key: " + "- " * 40000 + "x",
    _deep_block(60), "key: |\n  literal\n bad indent",
    # odd text
    "\u202e\u200f\u200e RTL", "e" + "\u0301" * 5000, "😀🧪👩‍👩‍👧‍👦", "\ufeff", "\u2028", "\u2029", "\x85", "\r", "\x00", "a\x00b",
    "x" * 100_000, "题" * 40_000, "\x1b[31m", "\u00a0\u3000", "\ufffe\uffff",
]
HOSTILE_BYTES = [b"\xff\xfe", b"\xed\xa0\x80", b"\xc3", b"\xef\xbb\xbf", b"\r\n", b"\x00", b"\xf4\x90\x80\x80"]

fragments = st.one_of(
    st.sampled_from(HOSTILE).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from(HOSTILE_BYTES),
    st.text(max_size=30).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=16),
)


@st.composite
def mutated(draw, base: bytes) -> bytes:
    """The valid file with a few random edits: lines deleted, duplicated, swapped, replaced, inserted, spliced."""
    lines = base.split(b"\n")
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["delete", "dup", "swap", "insert", "replace", "splice", "truncate"]))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "delete" and lines:
            del lines[i: i + draw(st.integers(1, 10))]
        elif op == "dup" and lines:
            lines[i:i] = lines[i: i + draw(st.integers(1, 10))]
        elif op == "swap" and lines:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines[i:i] = draw(fragments).split(b"\n")
        elif op == "replace" and lines:
            lines[i: i + 1] = draw(fragments).split(b"\n")
        elif op == "splice" and lines:
            cut = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + draw(fragments) + lines[i][cut:]
        elif op == "truncate" and lines:
            lines = lines[: i + 1]
    data = b"\n".join(lines)
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    if draw(st.integers(0, 4)) == 0:
        data = b"\xef\xbb\xbf" + data
    if data and draw(st.integers(0, 4)) == 0:  # a few random bytes flipped
        raw = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        data = bytes(raw)
    return data


@st.composite
def from_scratch(draw) -> bytes:
    """Front matter (maybe broken) then blocks glued together from hostile fragments."""
    parts = [draw(st.sampled_from([b"---\nid: x\ntitle: t\n---", b"---\nid: x\n", b"", b"---\n---", b"---\n..."]))]
    for _ in range(draw(st.integers(0, 6))):
        parts.append(draw(st.sampled_from([b"## s-a a\n```yaml", b"## s-b b", b"```", b"### \xe9\x80\x89\xe9\xa1\xb9"])))
        parts.extend(draw(st.lists(fragments, max_size=4)))
    return b"\n".join(parts)


def assert_well_formed(directory: Path, files: dict[Path, bytes]) -> None:
    try:
        result = load_content(directory)
    except ContentInvalid as exc:
        assert exc.errors, "ContentInvalid without errors"
        known = {str(p) for p in files} | {str(directory / "banks"), str(directory)}
        for e in exc.errors:
            assert isinstance(e.file, str) and e.file in known, e
            assert isinstance(e.line, int) and not isinstance(e.line, bool), e
            lines = files[Path(e.file)].count(b"\n") + 1 if Path(e.file) in files else 1
            assert 0 <= e.line <= lines + 1, (e, lines)
            assert isinstance(e.message, str) and e.message.strip(), e
            str(e)  # printable, as `mianjing content check` prints it
    else:
        # Whatever loads can be served: every public view, explanation and check result is JSON.
        assert isinstance(result, Content)
        for q in result.questions:
            seed = 7 if q.type == "generated" else None
            orjson.dumps(question_view(q, seed))
            orjson.dumps(explanation_html(q, seed))
            r = check_answer(q, "1", seed=seed)
            orjson.dumps({"score": r.score, "expected": r.expected, "details": r.details, "feedback": r.feedback})


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(bank=st.one_of(mutated(SAMPLE), mutated(SAMPLE), from_scratch()),
       round_=st.one_of(st.just(ROUND), mutated(ROUND)))
@example(bank=SAMPLE, round_=ROUND)  # the valid fixture loads
@example(bank=SAMPLE.replace(b"padding: 1\n", b"padding: " + b"[" * 40000 + b"]" * 40000 + b"\n"), round_=ROUND)
@example(bank=SAMPLE.replace(b"tolerance: 0", b"tolerance: " + b"9" * 5000), round_=ROUND)
@example(bank=SAMPLE.replace(b"tolerance: 0", b"tolerance: " + b"9" * 400), round_=ROUND)
@example(bank=SAMPLE.replace(b"title: ", b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                             b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
                             b"title: ", 1).replace(b"padding: 1", b"padding: *d"), round_=ROUND)
@example(bank=SAMPLE.replace(b"\n", b"\r"), round_=ROUND)
@example(bank=SAMPLE.replace(b"answer: [1, 64, 56, 56]", b"answer: [1, 64, 56, 100000000000000000000000]"), round_=ROUND)
@example(bank=SAMPLE.replace(b"height: {min: 16, max: 64}", b"height: {min: 100000000000000000000, max: 100000000000000000001}"),
         round_=ROUND)
def test_loader_reports_every_problem_with_a_line(bank: bytes, round_: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="mianjing-fuzz-") as tmp:
        directory = Path(tmp)
        shutil.copytree(VALID, directory, dirs_exist_ok=True)
        files = {directory / "banks" / "sample.md": bank, directory / "rounds" / "mini.md": round_}
        for path, data in files.items():
            path.write_bytes(data)
        assert_well_formed(directory, files)


def test_valid_fixture_loads_and_crlf_bom_variants_load_the_same() -> None:
    with tempfile.TemporaryDirectory(prefix="mianjing-fuzz-") as tmp:
        directory = Path(tmp)
        shutil.copytree(VALID, directory, dirs_exist_ok=True)
        plain = load_content(directory)
        (directory / "banks" / "sample.md").write_bytes(b"\xef\xbb\xbf" + SAMPLE.replace(b"\n", b"\r\n"))
        variant = load_content(directory)
    assert [q.id for q in variant.questions] == [q.id for q in plain.questions]
    assert [q.difficulty for q in variant.questions] == [q.difficulty for q in plain.questions]
