"""Every validation rule has a broken fixture; every error names file:line; the checker lists them all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.content.loader import ContentInvalid, load_content
from tests.conftest import REPO, VALID

HEAD = "---\nid: broken\ntitle: 坏题库\n---\n\n"


def question(qid: str, meta: str, body: str = "题干\n\n### 解析\n\n解析。\n") -> str:
    return f"## {qid}\n\n```yaml\n{meta.strip()}\n```\n\n{body}\n"


BASE = "difficulty: 2\ntopics: [BN]\nsource: 003_860948ad19d43784\n"
CHOICE_BODY = "题干\n\n### 选项\n\n- [ ] A. 一\n- [ ] B. 二\n\n### 解析\n\n解析。\n"


def write_bank(root: Path, text: str, name: str = "b.md") -> Path:
    (root / "banks").mkdir(parents=True, exist_ok=True)
    path = root / "banks" / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(root: Path) -> list[str]:
    with pytest.raises(ContentInvalid) as info:
        load_content(root)
    return [str(e) for e in info.value.errors]


# (bank text, expected line, expected words in the message)
CASES = {
    "front matter not closed": ("---\nid: x\ntitle: t\n", 1, "front matter"),
    "front matter bad yaml": ("---\nid: [x\ntitle: t\n---\n", 3, "YAML"),
    "front matter missing": ("## q1\n", 1, "front matter"),
    "meta block bad yaml": (HEAD + "## q1\n\n```yaml\ntype: single\ndifficulty: [2\n```\n", 10, "YAML"),
    "meta block missing": (HEAD + "## q1\n\n题干\n", 6, "缺少 ```yaml"),
    "unknown type": (HEAD + question("q1", "type: essay\n" + BASE), 9, "未知题型"),
    "unknown key": (HEAD + question("q1", "type: open\ndificulty: 2\n" + BASE), 10, "未知字段「dificulty」"),
    "bad difficulty": (HEAD + question("q1", "type: numeric\nanswer: 1\n" + BASE.replace("2", "9")), 11, "difficulty"),
    "choice without correct": (HEAD + question("q1", "type: single\n" + BASE, CHOICE_BODY), 17, "没有标出正确选项"),
    "single with two correct": (
        HEAD + question("q1", "type: single\n" + BASE, CHOICE_BODY.replace("[ ]", "[x]")), 17, "只能有一个正确选项"),
    "numeric without answer": (HEAD + question("q1", "type: numeric\n" + BASE), 8, "answer"),
    "numeric bad tolerance": (HEAD + question("q1", "type: numeric\nanswer: 3\ntolerance: -1\n" + BASE), 11, "tolerance"),
    "numeric bad rel tolerance": (
        HEAD + question("q1", "type: numeric\nanswer: 3\nrel_tolerance: 2\n" + BASE), 11, "rel_tolerance"),
    "shape bad answer": (HEAD + question("q1", "type: shape\nanswer: [1, -2]\n" + BASE), 10, "正整数"),
    "open too few key points": (
        HEAD + question("q1", "type: open\n" + BASE,
                        "题干\n\n### 参考答案\n\n答。\n\n### 要点\n\n- 一: a|b\n  > 一\n\n### 解析\n\n解析。\n"), 21, "3-6 个要点"),
    "scored not a boolean": (HEAD + question("q1", "type: numeric\nanswer: 3\nscored: nope\n" + BASE), 11,
                             "scored 必须是 true 或 false"),
    "missing explanation": (HEAD + question("q1", "type: numeric\nanswer: 3\n" + BASE, "题干\n"), 6, "解析"),
    "unknown calculator": (HEAD + question("q1", "type: generated\ncalculator: magic\n" + BASE), 10, "未知计算器"),
    "invalid parameter ranges": (
        HEAD + question("q1", "type: generated\ncalculator: conv2d_output_shape\nparams:\n  kernel_size: 9\n"
                        "  height: {min: 2, max: 3}\n  width: 3\n  padding: 0\n  dilation: 1\n" + BASE), 11, "参数范围"),
    "unknown placeholder": (
        HEAD + question("q1", "type: generated\ncalculator: linear_params\n" + BASE,
                        "算 {{nonsense}}\n\n### 解析\n\n解析。\n"), 6, "未知占位符"),
    "suffixes on a shape calculator": (
        HEAD + question("q1", "type: generated\ncalculator: conv2d_output_shape\nsuffixes: true\n" + BASE), 11,
        "suffixes 只用于数值答案"),
    "suffixes not a boolean": (
        HEAD + question("q1", "type: generated\ncalculator: conv2d_macs\nsuffixes: 'yes'\n" + BASE), 11,
        "suffixes 必须是 true 或 false"),
    "followup to missing id": (HEAD + question("q1", "type: numeric\nanswer: 3\nfollowups: [ghost]\n" + BASE), 6, "ghost"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_error_has_file_and_line(tmp_path, case):
    text, line, words = CASES[case]
    write_bank(tmp_path, text)
    errors = errors_of(tmp_path)
    expected_prefix = f"{tmp_path / 'banks' / 'b.md'}:{line}:"
    assert any(e.startswith(expected_prefix) and words in e for e in errors), errors


def test_duplicate_ids_across_files(tmp_path):
    write_bank(tmp_path, HEAD + question("dup", "type: numeric\nanswer: 1\n" + BASE), "a.md")
    write_bank(tmp_path, HEAD.replace("broken", "other") + question("dup", "type: numeric\nanswer: 1\n" + BASE), "b.md")
    errors = errors_of(tmp_path)
    assert any(e.startswith(f"{tmp_path / 'banks' / 'b.md'}:6:") and "a.md:6" in e for e in errors), errors


def test_every_error_is_reported_not_just_the_first(tmp_path):
    text = HEAD + "".join(CASES[c][0].removeprefix(HEAD).replace("## q1", f"## q{i}")
                          for i, c in enumerate(["unknown type", "numeric without answer", "unknown calculator"]))
    write_bank(tmp_path, text)
    assert len(errors_of(tmp_path)) == 3


def test_not_utf8_and_missing_directory(tmp_path):
    (tmp_path / "banks").mkdir()
    (tmp_path / "banks" / "latin.md").write_bytes(b"---\nid: x\n---\n\xff\xfe bad")
    assert any("UTF-8" in e and "latin.md:4" in e for e in errors_of(tmp_path))
    with pytest.raises(ContentInvalid) as info:
        load_content(tmp_path / "nope")
    assert "不存在" in str(info.value.errors[0])


def test_round_errors(tmp_path):
    write_bank(tmp_path, (VALID / "banks" / "sample.md").read_text(encoding="utf-8"))
    (tmp_path / "rounds").mkdir()
    (tmp_path / "rounds" / "r.md").write_text(
        "---\nid: r\ntitle: R\nduration: 5\n---\n\n## 一\n\n```yaml\nminutes: 4\nquestions: [ghost]\n```\n\n"
        "## 二\n\n```yaml\nminutes: 3\npick:\n  - topic: 不存在的主题\n    count: 1\n```\n", encoding="utf-8")
    errors = errors_of(tmp_path)
    path = tmp_path / "rounds" / "r.md"
    assert any(e.startswith(f"{path}:11:") and "ghost" in e for e in errors), errors
    assert any(e.startswith(f"{path}:18:") and "只匹配到 0 题" in e for e in errors), errors
    assert any(e.startswith(f"{path}:1:") and "超过了 duration" in e for e in errors), errors


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_cli_check_lists_every_error_and_exits_nonzero(tmp_path):
    write_bank(tmp_path, HEAD + question("q1", "type: essay\n" + BASE) + question("q2", "type: numeric\n" + BASE))
    result = run_cli("content", "check", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / 'banks' / 'b.md'}:9: 未知题型" in result.stderr
    assert f"{tmp_path / 'banks' / 'b.md'}:23: 数值题缺少数字 answer" in result.stderr
    assert "2 error(s)" in result.stderr
    ok = run_cli("content", "check", str(VALID))
    assert ok.returncode == 0 and "6 questions" in ok.stdout


def test_serve_refuses_to_start_with_broken_content(tmp_path):
    write_bank(tmp_path, HEAD + question("q1", "type: essay\n" + BASE))
    result = run_cli("serve", "--port", "8765", env={"MIANJING_CONTENT_DIR": str(tmp_path),
                                                    "MIANJING_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert result.returncode == 1
    assert "未知题型" in result.stderr and "refusing to start" in result.stderr
