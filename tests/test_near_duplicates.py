"""The near-duplicate warning of `mianjing content check`: stems alike across banks are reported with both
file:line, an allowed pair is not, and the check is fast on the bundled banks."""

from __future__ import annotations

import time

from app.content.model import Question
from app.content.near_duplicates import THRESHOLD, near_duplicate_warnings, near_duplicates, normalised_stem
from tests.test_content_validation import BASE, HEAD, errors_of, question, run_cli, write_bank

# Two banks asked the same computation in their own words (conv-rf-dilated and seg-atrous-rf, merged since).
DILATED_A = "三层 $3\\times3$ 卷积依次堆叠，步长都为 1，空洞率依次为 1、2、4。最后一层一个输出位置的理论感受野边长是多少？"
DILATED_B = ("面试官：“依次堆叠三个 $3\\times3$ 卷积，步长均为 1，空洞率（dilation）依次为 1、2、4。最后一层输出的一个"
             "像素在输入上的感受野边长是多少？”")
OTHERS = [
    "BatchNorm2d(64) 有多少个可学习参数？",
    "Adam 和 SGD with momentum 的区别是什么？各适合什么场景？",
    "Focal Loss 的公式是什么？γ 的作用是什么？",
    "ONNX 导出时动态 batch 维度怎么设置？",
    "K-means 的初始化对结果有什么影响？K-means++ 怎么做？",
]


def q(qid: str, prompt: str, *, title: str = "", file: str = "banks/a.md", line: int = 1, **kw) -> Question:
    return Question(id=qid, bank=file, type="open", title=title, prompt=prompt, explanation="解析", difficulty=2,
                    topics=("t",), tags=(), source="s", file=file, line=line, **kw)


def corpus(*extra: Question) -> list[Question]:
    return [q(f"other-{i}", p, line=10 * (i + 1)) for i, p in enumerate(OTHERS)] + list(extra)


def test_the_same_question_in_two_banks_is_reported_with_both_places():
    a = q("conv-rf-dilated", DILATED_A, title="空洞卷积堆叠的感受野", file="banks/conv.md", line=382)
    b = q("seg-atrous-rf", DILATED_B, title="堆叠空洞卷积的感受野", file="banks/seg.md", line=174)
    found = near_duplicates(corpus(a, b))
    assert [(d.first.id, d.second.id) for d in found] == [("conv-rf-dilated", "seg-atrous-rf")]
    assert found[0].similarity >= THRESHOLD
    (warning,) = near_duplicate_warnings(corpus(a, b))
    assert (warning.file, warning.line) == ("banks/conv.md", 382)
    assert "seg-atrous-rf" in warning.message and "banks/seg.md:174" in warning.message


def test_unrelated_stems_are_not_reported():
    assert near_duplicates(corpus()) == []
    a = q("rf", DILATED_A)
    b = q("bn", "BN 在训练和推理时的计算有什么不同？为什么推理时要用滑动平均？")
    assert near_duplicates(corpus(a, b)) == []


def test_an_allowed_pair_is_not_reported_from_either_side():
    reason = {"seg-atrous-rf": "一题问感受野，另一题问参数量"}
    for first, second in ((reason, {}), ({}, {"conv-rf-dilated": "同上"})):
        a = q("conv-rf-dilated", DILATED_A, not_duplicate_of=first)
        b = q("seg-atrous-rf", DILATED_B, not_duplicate_of=second)
        assert near_duplicates(corpus(a, b)) == []
    # Allowing one pair does not hide another.
    a = q("conv-rf-dilated", DILATED_A, not_duplicate_of=reason)
    b = q("seg-atrous-rf", DILATED_B)
    c = q("third", DILATED_A.replace("三层", "3 层"))
    assert {(d.first.id, d.second.id) for d in near_duplicates(corpus(a, b, c))} == {
        ("conv-rf-dilated", "third"), ("seg-atrous-rf", "third")}


def test_the_stem_drops_framing_punctuation_and_placeholder_names():
    assert normalised_stem(q("x", "面试官：“BN 怎么算？”", title="BN")) == normalised_stem(q("y", "BN怎么算", title="bn"))
    assert normalised_stem(q("x", "输入 {{height}}×{{width}}")) == normalised_stem(q("y", "输入 {{h}} × {{ w }}"))


def test_not_duplicate_of_is_validated(tmp_path):
    text = (HEAD + question("q1", "type: numeric\nanswer: 1\nnot_duplicate_of: {ghost: 不同}\n" + BASE)
            + question("q2", "type: numeric\nanswer: 1\nnot_duplicate_of: {q1: ''}\n" + BASE)
            + question("q3", "type: numeric\nanswer: 1\nnot_duplicate_of: [q1]\n" + BASE))
    write_bank(tmp_path, text)
    errors = errors_of(tmp_path)
    path = tmp_path / "banks" / "b.md"
    assert any(e.startswith(f"{path}:6:") and "ghost" in e for e in errors), errors
    assert sum("not_duplicate_of 应为" in e for e in errors) == 2, errors


def test_cli_check_prints_the_warnings_and_fails_only_when_strict(tmp_path):
    meta = "type: numeric\nanswer: 15\n" + BASE
    write_bank(tmp_path, HEAD + question("q1", meta, DILATED_A + "\n\n### 解析\n\n解析。\n"), "a.md")
    write_bank(tmp_path, HEAD.replace("broken", "other") + question("q2", meta, DILATED_B + "\n\n### 解析\n\n解析。\n"),
               "b.md")
    result = run_cli("content", "check", str(tmp_path))
    assert result.returncode == 0, result.stderr
    a, b = tmp_path / "banks" / "a.md", tmp_path / "banks" / "b.md"
    assert f"{a}:6: 警告: 题干与「q2」（{b}:6）相似" in result.stderr
    assert "1 warning(s)" in result.stderr
    assert run_cli("content", "check", "--strict", str(tmp_path)).returncode == 1


def test_fast_on_the_bundled_banks(bundled_content):
    started = time.perf_counter()
    near_duplicates(bundled_content.questions)
    assert time.perf_counter() - started < 1.0
