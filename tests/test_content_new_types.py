"""The imported question types in bank markdown (issue #19): true/false, short answer, matching, numeric with
several answers, choice fractions and option feedback, self-rated essays, descriptions, imported items. Each
malformed case names its file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.content.banks import parse_bank
from app.content.loader import load_content
from app.content.model import Accepted, Option, Pair, PickRule
from tests.conftest import VALID
from tests.test_content_validation import BASE, HEAD, errors_of, question, write_bank

TYPES_BANK = Path(__file__).parent / "fixtures" / "types" / "types.md"


def parsed(text: str):
    bank, questions, errors = parse_bank(text, "b.md")
    assert not errors, [str(e) for e in errors]
    return {q.id: q for q in questions}


def test_the_fixture_bank_of_every_new_type_loads_with_the_sample(tmp_path):
    shutil.copytree(VALID, tmp_path / "c")
    shutil.copy(TYPES_BANK, tmp_path / "c" / "banks" / "types.md")
    content = load_content(tmp_path / "c")
    by = content.by_id
    assert {by[i].type for i in ("t-tf", "t-short", "t-match", "t-num", "t-single", "t-essay", "t-desc")} == {
        "truefalse", "short", "matching", "numeric", "single", "open", "description"}
    assert "t-desc" in content.unscored and not by["t-desc"].scored
    assert by["t-essay"].self_rated and by["t-essay"].keypoints == () and by["t-essay"].explanation == ""
    assert by["t-essay"].imported_from == "gift:project.gift"


def test_truefalse_is_two_options_with_their_feedback():
    q = parsed(HEAD + question("q1", "type: truefalse\nanswer: true\nfeedback: {true: 对的, false: 错了}\n" + BASE))["q1"]
    assert q.answer is True
    assert q.options == (Option("T", "正确", True, "对的"), Option("F", "错误", False, "错了"))
    plain = parsed(HEAD + question("q1", "type: truefalse\nanswer: false\n" + BASE))["q1"]
    assert plain.correct_keys == ("F",) and all(o.feedback == "" for o in plain.options)


def test_option_feedback_lines_and_weights_on_single():
    body = ("题干\n\n### 选项\n\n- [x] A. 对的\n  > 因为\n  > 第二行\n- [ ] B. 半对\n  continued\n  > 差一点\n"
            "- [ ] C. 错\n\n### 解析\n\n解析。\n")
    q = parsed(HEAD + question("q1", "type: single\nweights: {A: 1, b: 0.5, C: -0.5}\n" + BASE, body))["q1"]
    assert q.options == (Option("A", "对的", True, "因为\n第二行"), Option("B", "半对\ncontinued", False, "差一点"),
                         Option("C", "错", False))
    assert q.weights == {"A": 1.0, "B": 0.5, "C": -0.5}


def test_short_answers_with_credit_and_feedback():
    body = ("题干\n\n### 可接受答案\n\n- ReLU\n  > 对\n- *relu* (得分 50%)\n- sigmoid （credit 0%）\n"
            "  > 不是它\n\n### 解析\n\n解析。\n")
    q = parsed(HEAD + question("q1", "type: short\ncase_sensitive: true\n" + BASE, body))["q1"]
    assert q.accepted == (Accepted(text="ReLU", fraction=1.0, feedback="对"), Accepted(text="*relu*", fraction=0.5),
                          Accepted(text="sigmoid", fraction=0.0, feedback="不是它"))
    assert q.case_sensitive is True


def test_the_english_section_names():
    short = "题干\n\n### Accepted answers\n\n- a\n\n### Explanation\n\n解析。\n"
    assert parsed(HEAD + question("q1", "type: short\n" + BASE, short))["q1"].accepted == (Accepted(text="a"),)
    pairs = "题干\n\n### Pairs\n\n- a -> 1\n- b -> 2\n- c -> 3\n- -> 4\n\n### Explanation\n\n解析。\n"
    q = parsed(HEAD + question("q1", "type: matching\n" + BASE, pairs))["q1"]
    assert q.pairs == (Pair("a", "1"), Pair("b", "2"), Pair("c", "3"), Pair("", "4"))


def test_numeric_answers_keep_the_first_full_credit_value_for_display():
    meta = ("type: numeric\nunit: MB\nanswers:\n  - {value: 10, tolerance: 0.5, fraction: 0.5}\n"
            "  - {min: 3, max: 4, fraction: 1, feedback: 好}\n" + BASE)
    q = parsed(HEAD + question("q1", meta))["q1"]
    assert q.answer == 3.5 and q.unit == "MB"
    assert q.accepted == (Accepted(value=10.0, tolerance=0.5, fraction=0.5),
                          Accepted(low=3.0, high=4.0, fraction=1.0, feedback="好"))


def test_a_description_needs_no_explanation_and_may_say_scored_false():
    for meta in ("type: description\n", "type: description\nscored: false\n"):
        q = parsed(HEAD + question("q1", meta + BASE, "请读下面的材料。\n"))["q1"]
        assert q.type == "description" and q.scored is False and q.explanation == ""


PAIRS = "题干\n\n### 配对\n\n{}\n\n### 解析\n\n解析。\n"
ACCEPTED = "题干\n\n### 可接受答案\n\n{}\n\n### 解析\n\n解析。\n"
OPTIONS = "题干\n\n### 选项\n\n- [x] A. 一\n- [ ] B. 二\n- [ ] C. 三\n\n### 解析\n\n解析。\n"
SELF_RATED = "题干\n\n### 参考答案\n\n答。\n\n### 要点\n\n- 一: a\n  > 一\n\n### 解析\n\n解析。\n"

# (bank text, the text of the line the error names (its first occurrence), words of the message)
CASES = {
    "truefalse answer not a boolean": (question("q1", "type: truefalse\nanswer: yes please\n" + BASE), "answer:",
                                       "true 或 false"),
    "truefalse without answer": (question("q1", "type: truefalse\n" + BASE), "```yaml", "true 或 false"),
    "truefalse feedback with a third key": (
        question("q1", "type: truefalse\nanswer: true\nfeedback: {true: a, maybe: b}\n" + BASE), "feedback:",
        "true 和 false"),
    "truefalse with options": (question("q1", "type: truefalse\nanswer: true\n" + BASE, OPTIONS), "### 选项",
                               "没有「### 选项」"),
    "truefalse with weights": (question("q1", "type: truefalse\nanswer: true\nweights: {T: 1}\n" + BASE),
                               "weights:", "未知字段「weights」"),
    "short without accepted answers": (question("q1", "type: short\n" + BASE), "## q1", "可接受答案"),
    "short with an empty section": (question("q1", "type: short\n" + BASE, ACCEPTED.format("")),
                                    "### 可接受答案", "是空的"),
    "short bad credit": (question("q1", "type: short\n" + BASE, ACCEPTED.format("- a\n- b (得分 150%)")),
                         "- b (得分", "0% 到 100%"),
    "short credit not a percent": (question("q1", "type: short\n" + BASE, ACCEPTED.format("- a\n- b (credit half)")),
                                   "- b (credit", "百分数"),
    "short no full credit": (question("q1", "type: short\n" + BASE, ACCEPTED.format("- a (得分 50%)")),
                             "### 可接受答案", "没有满分答案"),
    "short full credit shadowed": (
        question("q1", "type: short\n" + BASE, ACCEPTED.format("- * (得分 0%)\n- relu")), "### 可接受答案",
        "先被前面的「*」"),
    "short duplicate answer": (question("q1", "type: short\n" + BASE, ACCEPTED.format("- a\n- a (得分 50%)")),
                               "- a (得分", "重复"),
    "short case_sensitive not a boolean": (
        question("q1", "type: short\ncase_sensitive: sometimes\n" + BASE, ACCEPTED.format("- a")), "case_sensitive:",
        "case_sensitive 必须是"),
    "short with pairs": (question("q1", "type: short\n" + BASE, PAIRS.format("- a -> b")), "### 配对",
                         "没有「### 配对」"),
    "pairs on a numeric item": (question("q1", "type: numeric\nanswer: 1\n" + BASE, PAIRS.format("- a -> b")),
                                "### 配对", "没有「### 配对」"),
    "short with a stray line": (question("q1", "type: short\n" + BASE, ACCEPTED.format("- a\n另外也可以写 b")),
                                "另外也可以", "列表项"),
    "matching with a stray line": (
        question("q1", "type: matching\n" + BASE, PAIRS.format("- a -> 1\n- b -> 2\n- c -> 3\nd 配 4")), "d 配 4",
        "列表项"),
    "matching without pairs": (question("q1", "type: matching\n" + BASE), "## q1", "配对"),
    "matching two pairs": (question("q1", "type: matching\n" + BASE, PAIRS.format("- a -> 1\n- b -> 2\n- -> 3")),
                           "### 配对", "至少需要 3 对"),
    "matching one pair, imported": (
        question("q1", "type: matching\nimported_from: gift:x.gift\n" + BASE, PAIRS.format("- a -> 1\n- -> 3")),
        "### 配对", "至少需要 2 对"),
    "matching duplicate left": (
        question("q1", "type: matching\n" + BASE, PAIRS.format("- a -> 1\n- b -> 2\n- a -> 3\n- c -> 4")),
        "- a -> 3", "左边「a」重复"),
    "matching without arrow": (question("q1", "type: matching\n" + BASE, PAIRS.format("- a -> 1\n- b 2\n- c -> 3")),
                               "- b 2", "没有 `->`"),
    "matching empty right": (question("q1", "type: matching\n" + BASE, PAIRS.format("- a -> 1\n- b ->\n- c -> 3")),
                             "- b ->", "右边是空的"),
    "matching with feedback": (
        question("q1", "type: matching\n" + BASE, PAIRS.format("- a -> 1\n  > 不行\n- b -> 2\n- c -> 3")),
        "  > 不行", "配对没有反馈"),
    "numeric answer and answers": (
        question("q1", "type: numeric\nanswer: 1\nanswers:\n  - {value: 1}\n" + BASE), "answers:", "只能写一个"),
    "numeric answers bad fraction": (
        question("q1", "type: numeric\nanswers:\n  - {value: 1, fraction: 2}\n" + BASE), "answers:", "fraction 应为 0 到 1"),
    "numeric answers no full credit": (
        question("q1", "type: numeric\nanswers:\n  - {value: 1, fraction: 0.5}\n" + BASE), "answers:", "没有满分答案"),
    "numeric answers unknown key": (
        question("q1", "type: numeric\nanswers:\n  - {value: 1, tol: 2}\n" + BASE), "answers:", "未知字段 tol"),
    "numeric answers bad range": (
        question("q1", "type: numeric\nanswers:\n  - {min: 4, max: 3}\n" + BASE), "answers:", "min ≤ max"),
    "numeric answers value and range": (
        question("q1", "type: numeric\nanswers:\n  - {value: 3, min: 1, max: 4}\n" + BASE), "answers:", "只能写一种"),
    "numeric answers negative tolerance": (
        question("q1", "type: numeric\nanswers:\n  - {value: 3, tolerance: -1}\n" + BASE), "answers:", "非负数"),
    "numeric answers neither": (
        question("q1", "type: numeric\nanswers:\n  - {fraction: 1}\n" + BASE), "answers:", "需要 value"),
    "numeric answers not a list": (question("q1", "type: numeric\nanswers: 3\n" + BASE), "answers:", "非空列表"),
    "numeric answers with a top-level tolerance": (
        question("q1", "type: numeric\ntolerance: 1\nanswers:\n  - {value: 3}\n" + BASE), "tolerance:",
        "写在每一项里"),
    "numeric full credit caught first": (
        question("q1", "type: numeric\nanswers:\n  - {min: 0, max: 10, fraction: 0}\n  - {value: 5}\n" + BASE),
        "answers:", "先被前面"),
    "weights out of range": (question("q1", "type: multiple\nweights: {A: 2, B: -1}\n" + BASE, OPTIONS), "weights:",
                             "-1 到 1 之间"),
    "single weights: the marked option not full": (
        question("q1", "type: single\nweights: {A: 0.5, B: 0.5}\n" + BASE, OPTIONS), "weights:", "weight 应为 1"),
    "single weights: an unmarked option full": (
        question("q1", "type: single\nweights: {B: 1}\n" + BASE, OPTIONS), "weights:", "只有标 [x] 的选项能得满分"),
    "multiple weights: below full": (
        question("q1", "type: multiple\nweights: {A: 0.5, B: -0.5}\n" + BASE, OPTIONS), "weights:", "没有满分答案"),
    "multiple weights: positive but unmarked": (
        question("q1", "type: multiple\nweights: {A: 1, B: 0.5}\n" + BASE, OPTIONS), "weights:", "不一致"),
    "multiple weights: marked one left out": (
        question("q1", "type: multiple\nweights: {B: -1}\n" + BASE, OPTIONS), "weights:", "缺 A"),
    "empty option feedback": (
        question("q1", "type: single\n" + BASE, OPTIONS.replace("- [ ] B. 二\n", "- [ ] B. 二\n  >\n")), "  >",
        "反馈是空的"),
    "option text after its feedback": (
        question("q1", "type: single\n" + BASE, OPTIONS.replace("- [ ] B. 二\n", "- [ ] B. 二\n  > 因为\n  更多\n")),
        "  更多", "反馈之后"),
    "description scored true": (question("q1", "type: description\nscored: true\n" + BASE, "材料。\n"), "scored:",
                                "不能写 scored: true"),
    "description with an answer key": (question("q1", "type: description\nanswer: 3\n" + BASE, "材料。\n"), "answer:",
                                       "未知字段「answer」"),
    "description with options": (question("q1", "type: description\n" + BASE, OPTIONS), "### 选项",
                                 "没有「### 选项」"),
    "self_rated with key points": (question("q1", "type: open\nself_rated: true\n" + BASE, SELF_RATED), "### 要点",
                                   "只凭自评"),
    "self_rated not a boolean": (question("q1", "type: open\nself_rated: 1\n" + BASE, SELF_RATED), "self_rated:",
                                 "self_rated 必须是"),
    "open without key points and not self_rated": (
        question("q1", "type: open\n" + BASE, "题干\n\n### 参考答案\n\n答。\n\n### 解析\n\n解析。\n"), "## q1", "要点"),
    "imported_from malformed": (question("q1", "type: numeric\nanswer: 1\nimported_from: file.gift\n" + BASE),
                                "imported_from:", "格式:文件名"),
    "no explanation without imported_from": (question("q1", "type: truefalse\nanswer: true\n" + BASE, "题干\n"),
                                             "## q1", "缺少「### 解析」"),
    "case_sensitive on a numeric item": (question("q1", "type: numeric\nanswer: 1\ncase_sensitive: true\n" + BASE),
                                         "case_sensitive:", "未知字段「case_sensitive」"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_malformed_item_names_its_line(tmp_path, case):
    body, marker, words = CASES[case]
    text = HEAD + body
    line = next(i for i, raw in enumerate(text.split("\n"), 1) if raw.startswith(marker))
    write_bank(tmp_path, text)
    errors = errors_of(tmp_path)
    prefix = f"{tmp_path / 'banks' / 'b.md'}:{line}:"
    assert any(e.startswith(prefix) and words in e for e in errors), errors


def test_an_imported_item_may_have_no_explanation():
    q = parsed(HEAD + question("q1", "type: truefalse\nanswer: true\nimported_from: 'gift:a.gift'\n" + BASE,
                               "题干\n"))["q1"]
    assert q.explanation == "" and q.imported_from == "gift:a.gift"


def test_an_imported_matching_item_may_pair_two():
    q = parsed(HEAD + question("q1", "type: matching\nimported_from: 'gift:a.gift'\n" + BASE,
                               "题干\n\n" + PAIRS.format("- a -> 1\n- b -> 2")))["q1"]
    assert [p.left for p in q.pairs] == ["a", "b"]


def test_descriptions_are_drawn_only_by_a_rule_that_asks_for_them(tmp_path):
    write_bank(tmp_path, HEAD + question("d1", "type: description\n" + BASE, "材料。\n")
               + question("n1", "type: numeric\nanswer: 1\n" + BASE))
    content = load_content(tmp_path)
    assert [q.id for q in content.matching(PickRule(count=1, topic="BN"))] == ["n1"]
    assert [q.id for q in content.matching(PickRule(count=1, type="description"))] == ["d1"]
