"""The open grader reads claims: each failure class of the word-spotting grader it replaced, in both languages.

Every case here scored ≥ 0.6 (or the wrong verdict) under the old "any synonym anywhere" rule.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.content.loader import ContentInvalid, load_content
from app.content.model import KeyPoint, Misconception
from app.scoring.check import OPEN_CORRECT_THRESHOLD, check_answer
from app.scoring.open_grader import MISCONCEPTION_CAP, grade_answer

REPO = Path(__file__).resolve().parent.parent

SIGMOID_PROMPT = "常听说 “sigmoid 输出不是零中心的，会影响收敛速度”。请具体解释原因。"
SIGMOID = (
    KeyPoint("输入全为正", ("全为正", "恒为正", "大于0", "非负", "all positive"), 1, "上一层 sigmoid 的输出全部大于 0"),
    KeyPoint("梯度符号相同", ("符号相同", "同号", "same sign"), 2, "同一神经元所有权重的梯度都与 ∂L/∂z 同号"),
    KeyPoint("之字形更新", ("之字形", "zigzag", "锯齿"), 1, "更新只能走之字形路线"),
    KeyPoint("零中心的改进", ("零中心", "tanh", "零均值"), 1, "零中心的激活如 tanh 让各权重的梯度符号可以不同"),
)
BN_PROMPT = "BN 在训练和推理时的计算有什么不同？"
BN = (
    KeyPoint("训练用批统计量", ("训练", "training", "当前batch", "batch统计", "batch 的统计量", "batch statistics"), 1,
             "训练时用当前 mini-batch 的均值和方差",
             (("训练", "training"), ("当前batch", "batch统计", "batch 的统计量", "batch statistics"))),
    KeyPoint("推理用滑动平均", ("推理", "测试", "inference", "滑动平均", "running mean"), 1,
             "推理时用训练中累计的滑动平均",
             (("推理", "测试", "inference"), ("滑动平均", "running mean"))),
    KeyPoint("可学习的缩放平移", ("gamma", "beta", "γ", "β"), 1, "归一化后用可学习的 γ、β 缩放平移"),
)
BN_WRONG = (Misconception("推理也用批统计量", (("推理", "测试", "inference"), ("当前batch", "batch 的统计量", "batch statistics")),
                          "推理时仍用当前 batch 的均值和方差"),)


def verdicts(grade) -> list[str]:
    return [p.verdict for p in grade.points]


# --- negation ------------------------------------------------------------------------------------


def test_negated_claims_are_contradicted_not_credited() -> None:
    g = grade_answer(SIGMOID_PROMPT, SIGMOID, (), "sigmoid 的输出不是全为正，所以梯度不会同号")
    assert verdicts(g)[:2] == ["contradicted", "contradicted"] and g.score == 0.0
    assert g.points[1].evidence == "所以梯度不会同号"


@pytest.mark.parametrize("answer", [
    "输出全为正这个说法并不成立",  # the cue after the words: the clause's predicate is negated
    "梯度同号跟收敛慢没有关系",
    "sigmoid 的输出并非全为正",
    "梯度没有同号",
    "The outputs are not all positive, and the gradients do not share the same sign.",
    "gradients never have the same sign",
])
def test_negation_anywhere_in_the_clause(answer: str) -> None:
    g = grade_answer(SIGMOID_PROMPT, SIGMOID, (), answer)
    assert "contradicted" in verdicts(g) and "covered" not in verdicts(g)


@pytest.mark.parametrize(("answer", "covered"), [
    ("并不是不会同号", "梯度符号相同"),  # two cues cancel
    ("不是之字形而是同号", "梯度符号相同"),  # a contrast ends the cue's reach
    ("用 tanh 而不是 sigmoid", "零中心的改进"),  # "而不是" reaches forward only
    ("输出非负，所以梯度同号", "输入全为正"),  # a cue inside the matched words is theirs
    ("the gradients have the same sign rather than mixed signs", "梯度符号相同"),
    ("所以梯度同号（不是零均值造成的）", "梯度符号相同"),  # a bracket's 不 stays inside the bracket
    ("对无标签数据也一样：梯度同号", "梯度符号相同"),  # 无标签 names data, it denies nothing
])
def test_what_negation_does_not_deny(answer: str, covered: str) -> None:
    g = grade_answer(SIGMOID_PROMPT, SIGMOID, (), answer)
    assert {p.label: p.verdict for p in g.points}[covered] == "covered"


def test_a_bracket_holds_its_own_negation() -> None:
    g = grade_answer(SIGMOID_PROMPT, SIGMOID, (), "梯度不会同号（之字形是另一回事）")
    assert {p.label: p.verdict for p in g.points}["梯度符号相同"] == "contradicted"  # the 不 outside still denies


def test_a_fuzzy_match_never_drops_a_negation() -> None:
    points = (KeyPoint("非零中心", ("非零中心化",), 1, "输出不是零中心的"), *SIGMOID[1:])
    g = grade_answer("", points, (), "输出零中心化")
    assert g.points[0].verdict == "missing"


# --- negation words that are the claim's own wording -----------------------------------------------

_NEG_WORD_RE = re.compile(r"[不非无没未]|\bnot?\b|n't")
# A relation whose second group is all negations: the point reg-project-underfit had until its follow-up
# (reg-underfit-more-data) took the question over.
DATA_HELPS_LITTLE = KeyPoint("加数据作用小", (), 1, "单纯增加同分布的训练数据对欠拟合帮助很小",
                             (("数据", "样本"), ("没用", "无效", "帮助不大", "帮助很小", "作用不大", "作用有限",
                                               "不起作用", "主要降低方差", "降低的是方差")))


def _verdicts(content, qid: str | None, answer: str) -> dict[str, str]:
    """The verdict per point of a bundled item (qid), or of DATA_HELPS_LITTLE alone (None)."""
    if qid is None:
        return {p.label: p.verdict for p in grade_answer("", (DATA_HELPS_LITTLE,), (), answer).points}
    q = content.by_id[qid]
    return {p.label: p.verdict for p in grade_answer(q.prompt, q.keypoints, q.misconceptions, answer).points}


@pytest.mark.parametrize(("qid", "label", "answer"), [
    (None, "加数据作用小", "多加数据对欠拟合没用"),
    (None, "加数据作用小", "加数据帮助不大"),
    ("norm-bn-small-batch", "统计量估计不准", "均值和方差的估计不准"),
    ("norm-bn-small-batch", "统计量估计不准", "统计量估计不准"),
    ("tf-multihead", "参数量不变", "多头的总参数量不变"),
])
def test_a_negation_inside_one_group_is_the_claim_not_a_denial(bundled_content, qid, label, answer) -> None:
    """"没用" in "加数据 & 没用" says what the point says: it does not deny the other group's "数据"."""
    assert _verdicts(bundled_content, qid, answer)[label] == "covered"


@pytest.mark.parametrize(("qid", "label", "answer", "verdict"), [
    (None, "加数据作用小", "加数据作用不小", "missing"),
    (None, "加数据作用小", "加数据并不是没用", "contradicted"),
    (None, "加数据作用小", "加数据对欠拟合并非帮助不大", "contradicted"),
    ("norm-bn-small-batch", "统计量估计不准", "并不是统计量估计不准", "contradicted"),
    ("norm-bn-small-batch", "统计量估计不准", "均值和方差的估计并没有不准", "contradicted"),
])
def test_a_negation_outside_the_matched_words_still_denies(bundled_content, qid, label, answer, verdict) -> None:
    assert _verdicts(bundled_content, qid, answer)[label] == verdict


@pytest.mark.parametrize(("qid", "denial", "claim"), [
    ("norm-bn-small-batch", "梯度累积不能增大batch size", "梯度累积可以增大batch size"),
    ("reg-overfit-what", "relu 不能减少过拟合", "relu 能减少过拟合"),
    ("reg-project-underfit", "加数据对欠拟合不会有效", "加数据对欠拟合有效"),
])
def test_denying_a_cure_refutes_the_misconception(bundled_content, qid: str, denial: str, claim: str) -> None:
    """In a claim about a cure, "有效", "减少过拟合", "应该" stand beside "解决" in one group: the cure's words,
    so a cue denies them. Only the problem a cure undoes is asserted by denying it (below)."""
    q = bundled_content.by_id[qid]
    assert not grade_answer(q.prompt, q.keypoints, q.misconceptions, denial).misconceptions
    assert grade_answer(q.prompt, q.keypoints, q.misconceptions, claim).misconceptions


@pytest.mark.parametrize(("answer", "verdict"), [
    ("relu 不会梯度消失", "covered"),
    ("relu 缓解了梯度消失", "covered"),
    ("relu 不能缓解梯度消失", "contradicted"),
])
def test_the_problem_a_cure_undoes_is_asserted_by_denying_it(answer: str, verdict: str) -> None:
    point = KeyPoint("ReLU 缓解梯度消失", (), 1, "ReLU 正半轴梯度为 1，缓解梯度消失",
                     (("relu",), ("缓解梯度消失", "梯度消失")))
    assert grade_answer("", (point,), (), answer).points[0].verdict == verdict


@pytest.mark.parametrize(("qid", "denial", "claim"), [
    ("reg-project-underfit", "加数据对欠拟合没有帮助", "加数据对欠拟合有帮助"),
    ("reg-project-underfit", "加数据对欠拟合并没有帮助", "加数据对欠拟合有帮助"),
    ("norm-bn-dropout", "dropout 不应该放在bn前", "dropout 应该放在bn前"),
])
def test_a_cue_that_only_touches_the_matched_words_still_denies(bundled_content, qid: str, denial: str,
                                                                  claim: str) -> None:
    """"没有" shares "有" with the misconception's "有帮助" (and "不应" "应" with "应该") but adds the denial:
    it is no part of the words."""
    q = bundled_content.by_id[qid]
    assert not grade_answer(q.prompt, q.keypoints, q.misconceptions, denial).misconceptions
    assert grade_answer(q.prompt, q.keypoints, q.misconceptions, claim).misconceptions


def test_a_cue_sharing_the_words_own_negation_is_theirs() -> None:
    """"并非" shares "非" with "非零中心": the words say it already."""
    points = (KeyPoint("非零中心", ("非零中心",), 1, "输出不是零中心的"),)
    assert grade_answer("", points, (), "sigmoid 的输出并非零中心").points[0].verdict == "covered"


def test_english_negation_inside_a_group_is_the_claim() -> None:
    point = KeyPoint("加数据作用小", (), 1, "更多同分布数据对欠拟合帮助很小",
                     (("more data",), ("does not help", "no help")))
    assert grade_answer("", (point,), (), "More data does not help an underfit model.").points[0].verdict == "covered"
    denied = grade_answer("", (point,), (), "It is not true that more data does not help.")
    assert denied.points[0].verdict == "contradicted"


def _own_negation_claims(content) -> list[tuple[str, KeyPoint]]:
    """Every bundled relation (point or misconception) with a negation word inside one of its groups."""
    out = []
    for q in content.questions:
        if q.type != "open":
            continue
        for k in (*q.keypoints, *q.misconceptions):
            groups = k.pattern_groups
            if len(groups) >= 2 and any(_NEG_WORD_RE.search(s) for g in groups for s in g):
                out.append((q.id, KeyPoint(k.label, (), 1, k.statement, groups)))
    return out


def test_every_bundled_relation_with_its_own_negation_is_asserted_by_its_words(bundled_content) -> None:
    """One pattern of each group side by side (the negating one where a group has one) states the claim,
    and "并不是" in front of them denies it."""
    claims = _own_negation_claims(bundled_content)
    assert len(claims) >= 40
    wrong = []
    for qid, point in claims:
        words = "".join(next((s for s in g if _NEG_WORD_RE.search(s)), g[0]) for g in point.pattern_groups)
        said = grade_answer("", (point,), (), words).points[0].verdict
        denied = grade_answer("", (point,), (), "并不是" + words).points[0].verdict
        if said not in ("covered", "named") or denied != "contradicted":
            wrong.append((qid, point.label, words, said, denied))
    assert not wrong, wrong


def test_one_long_clause_of_a_relations_own_negations_grades_in_linear_time() -> None:
    """20,000 characters of "数据没用" without punctuation: one clause holding 5,000 matches of each group and
    5,000 cues. Looking each cue up among the matches by bisection keeps this at ~40 ms; comparing every
    cue with every match took 4.7 s."""
    text = "数据没用" * 5000
    grade_answer("", (DATA_HELPS_LITTLE,), (), "数据没用")  # rubric and tokenizer built
    start = time.perf_counter()
    g = grade_answer("", (DATA_HELPS_LITTLE,), (), text)
    assert time.perf_counter() - start < 1.0
    assert g.points[0].verdict == "covered"


# "不变" is invariance ("旋转不变", "尺度不变的特征", "不变量"), not a denial of the clause's other words.
SIFT = (KeyPoint("主方向", (), 1, "SIFT 按关键点的主方向对齐描述子", (("sift",), ("主方向",))),)


@pytest.mark.parametrize("answer", [
    "sift 按主方向对齐后旋转不变",
    "sift 按主方向对齐所以对旋转和光照不变",
    "sift 靠主方向得到尺度不变的特征",
    "sift 用主方向得到旋转不变量",
    "sift 按主方向对齐后旋转不变性好",
    "sift 按主方向对齐后描述子不随旋转变化",
])
def test_invariance_is_no_negation(answer: str) -> None:
    assert grade_answer("", SIFT, (), answer).points[0].verdict == "covered"


@pytest.mark.parametrize("answer", [
    "sift 不按主方向对齐，所以旋转不变",
    "sift 没有主方向",
    "sift 并不是按主方向对齐的",
])
def test_invariance_leaves_real_negations_alone(answer: str) -> None:
    assert grade_answer("", SIFT, (), answer).points[0].verdict == "contradicted"


def test_a_change_word_after_bu_bian_is_still_negated() -> None:
    """"方差不变大" is 不 + 变大; "AUC 不随阈值变化" denies what it encloses, the change with the threshold."""
    point = KeyPoint("方差变大", (), 1, "方差变大", (("方差",), ("变大",)))
    assert grade_answer("", (point,), (), "dropout 之后方差不变大").points[0].verdict == "contradicted"
    wrong = (Misconception("AUC 依赖阈值", (("auc",), ("随阈值变化",)), "AUC 取决于选定的分类阈值"),)
    assert not grade_answer("", (), wrong, "auc 不随阈值变化").misconceptions
    assert grade_answer("", (), wrong, "auc 随阈值变化").misconceptions


# --- relations and misconceptions ------------------------------------------------------------------


def test_role_swap_fails_every_relation_and_is_capped() -> None:
    swapped = "BN 在测试时用当前 batch 的统计量，训练时用滑动平均"
    g = grade_answer(BN_PROMPT, BN, BN_WRONG, swapped)
    assert verdicts(g)[:2] == ["missing", "missing"]
    assert [m.label for m in g.misconceptions] == ["推理也用批统计量"] and g.score <= MISCONCEPTION_CAP
    right = grade_answer(BN_PROMPT, BN, BN_WRONG, "训练时用当前 batch 的统计量，推理时用滑动平均，再乘 γ 加 β")
    assert verdicts(right) == ["covered"] * 3 and not right.misconceptions and right.score == 1.0


def test_misconception_cap_holds_whatever_else_is_right() -> None:
    answer = "训练时用当前batch统计，推理时用滑动平均，然后乘 gamma。另外测试时也用当前batch，这样更准"
    g = grade_answer(BN_PROMPT, BN, BN_WRONG, answer)
    assert g.coverage == 1.0 and g.score == MISCONCEPTION_CAP
    assert {"code": "misconception", "label": "推理也用批统计量", "statement": "推理时仍用当前 batch 的均值和方差",
            "cap": MISCONCEPTION_CAP} in g.codes()


@pytest.mark.parametrize("answer", [
    "很多人以为推理时也用当前batch的统计量，其实推理用滑动平均",  # reported, not claimed
    "推理时不用当前batch的统计量，而用滑动平均",  # denied
    "有人说测试时用当前 batch 统计，这是错的",  # refuted by the next clause
    "People think inference uses batch statistics, but inference uses the running mean.",
])
def test_refuting_a_misconception_is_not_asserting_it(answer: str) -> None:
    g = grade_answer(BN_PROMPT, BN, BN_WRONG, answer)
    assert not g.misconceptions, g.misconceptions


def test_english_misconception_is_capped() -> None:
    g = grade_answer(BN_PROMPT, BN, BN_WRONG, "At inference BN uses batch statistics of the current batch.")
    assert g.misconceptions and g.score <= MISCONCEPTION_CAP


# --- free credit, lists, paraphrase ----------------------------------------------------------------


def test_words_of_the_question_earn_nothing_alone() -> None:
    g = grade_answer(SIGMOID_PROMPT, SIGMOID, (), "因为 sigmoid 输出不是零中心的，所以会影响收敛速度")
    assert g.score == 0.0
    # ... but they still place a relation: "训练" is in the BN prompt, the batch statistics are not.
    assert grade_answer(BN_PROMPT, BN, (), "训练时用当前batch统计").points[0].verdict == "covered"


@pytest.mark.parametrize("answer", ["全为正、同号、之字形、tanh", "L1、L2、Dropout、BN", "all positive, same sign, zigzag, tanh"])
def test_a_list_of_names_earns_at_most_half_of_each_point(answer: str) -> None:
    g = grade_answer(SIGMOID_PROMPT, SIGMOID, (), answer)
    assert all(p.verdict in ("named", "missing") for p in g.points)
    assert g.coverage <= 0.5 and g.score < OPEN_CORRECT_THRESHOLD


def test_the_same_points_explained_earn_full_credit() -> None:
    g = grade_answer(SIGMOID_PROMPT, SIGMOID, (), "输入全为正，所以同一神经元的权重梯度同号，只能走之字形，换成 tanh 会好")
    assert verdicts(g) == ["covered"] * 4 and g.score == 1.0


def test_a_paraphrase_close_to_the_statement_covers_the_point() -> None:
    g = grade_answer(SIGMOID_PROMPT, SIGMOID, (), "我觉得是同一神经元所有权重的梯度都和 ∂L/∂z 一个方向")
    assert g.points[1].verdict == "covered" and g.points[1].how == "statement"
    denied = grade_answer(SIGMOID_PROMPT, SIGMOID, (), "同一神经元所有权重的梯度并不都与 ∂L/∂z 同向")
    assert denied.points[1].verdict == "contradicted"


def write_bank(root: Path, keypoints: str, extra: str = "", synonyms: str | None = None) -> Path:
    (root / "banks").mkdir(parents=True)
    (root / "banks" / "b.md").write_text(textwrap.dedent("""\
        ---
        id: b
        title: 测试
        ---

        ## q-zero 零中心

        ```yaml
        type: open
        difficulty: 3
        topics: [激活函数]
        source: test
        ```

        为什么 sigmoid 不好？

        ### 参考答案

        输出全为正，梯度同号，之字形更新。

        ### 要点

        """) + keypoints + extra + "\n### 解析\n\n见参考答案。\n", encoding="utf-8")
    if synonyms is not None:
        (root / "synonyms.md").write_text(synonyms, encoding="utf-8")
    return root


KP = ("- 输入全为正: 全为正|恒为正\n  > 上一层输出全部大于 0\n"
      "- 梯度同号: 同号\n  > 同一神经元的权重梯度同号\n"
      "- 之字形: 之字形\n  > 更新走之字形路线\n")


def test_the_synonym_table_widens_every_item(tmp_path: Path) -> None:
    root = write_bank(tmp_path, KP, synonyms="# 同义词表\n\n- 同号 | 一起往上或者一起往下 | same sign\n- 之字形 | z字形 | zig-zag\n")
    q = load_content(root).by_id["q-zero"]
    r = check_answer(q, "输出都大于零，所以所有权重的梯度一起往上或者一起往下，更新走 Z 字形")
    assert [k["verdict"] for k in r.details["keypoints"]][1:] == ["covered", "covered"]


# --- the content format ------------------------------------------------------------------------------


@pytest.mark.parametrize(("keypoints", "extra", "message", "line"), [
    ("- 输入全为正: 全为正\n- 梯度同号: 同号\n  > 同号\n- 之字形: 之字形\n  > 之字形\n", "", "缺少陈述", 23),
    ("- 输入全为正: 全为正 & \n  > x\n" + KP, "", "空的一组", 23),
    (KP, "\n### 常见误区\n\n- 误区: 测试 & batch\n  > \n", "陈述是空的", 33),
    (KP, "\n### 常见误区\n\n只有文字\n", "常见误区」小节是空的", 30),
    (KP, "\n### 常见误区\n\n- 误区: a & b (权重 2)\n  > x\n", "误区没有权重", 32),
])
def test_claim_syntax_errors_name_file_and_line(tmp_path: Path, keypoints, extra, message, line) -> None:
    root = write_bank(tmp_path, keypoints, extra)
    with pytest.raises(ContentInvalid) as exc:
        load_content(root)
    hits = [e for e in exc.value.errors if message in e.message]
    assert hits and hits[0].file.endswith("b.md") and hits[0].line == line, exc.value.errors


@pytest.mark.parametrize(("table", "message", "line"), [
    ("- 同号\n", "至少要有两个词", 1),
    ("- 同号 | 同向\n- 同号 | 一致\n", "已在第 1 行的组里", 2),
    ("同号 = 同向\n", "应写成", 1),
    ("- 号 | 同向\n", "太短", 1),
])
def test_synonym_table_errors_name_file_and_line(tmp_path: Path, table: str, message: str, line: int) -> None:
    root = write_bank(tmp_path, KP, synonyms=table)
    with pytest.raises(ContentInvalid) as exc:
        load_content(root)
    hits = [e for e in exc.value.errors if message in e.message]
    assert hits and hits[0].file.endswith("synonyms.md") and hits[0].line == line, exc.value.errors


def test_bundled_open_items_all_have_claims(bundled_content) -> None:
    opens = [q for q in bundled_content.questions if q.type == "open"]
    assert len(opens) >= 100
    assert all(kp.statement for q in opens for kp in q.keypoints)
    assert sum(bool(q.misconceptions) for q in opens) >= len(opens) / 2
    # No reference answer asserts one of its own item's misconceptions, or misses most of its own points.
    for q in opens:
        g = grade_answer(q.prompt, q.keypoints, q.misconceptions, q.reference)
        assert not g.misconceptions, (q.id, g.misconceptions)
        assert g.coverage >= OPEN_CORRECT_THRESHOLD, (q.id, [(p.label, p.verdict) for p in g.points])


# --- the batch interface -----------------------------------------------------------------------------


def test_grade_open_grades_a_file_and_reports_bad_lines(tmp_path: Path) -> None:
    root = write_bank(tmp_path / "content", KP)
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join([
        json.dumps({"id": "q-zero", "answer": "输出全为正，所以梯度同号，走之字形", "student": "s1"}, ensure_ascii=False),
        json.dumps({"id": "q-zero", "answer": "输出不是全为正，梯度也不同号"}, ensure_ascii=False),
        "not json",
        json.dumps({"id": "nope", "answer": "x"}),
        json.dumps({"id": "q-zero", "answer": 3}),
    ]) + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "app.cli", "grade-open", str(answers), "--content", str(root)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 1 and "3 line(s) could not be graded" in run.stderr
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert out[0]["score"] == 1.0 and out[0]["student"] == "s1" and out[0]["grader"] == "builtin"
    assert [k["verdict"] for k in out[0]["keypoints"]] == ["covered"] * 3
    assert out[1]["score"] == 0.0 and [k["verdict"] for k in out[1]["keypoints"]][:2] == ["contradicted"] * 2
    assert [o.get("line") for o in out[2:]] == [3, 4, 5] and all("error" in o for o in out[2:])
