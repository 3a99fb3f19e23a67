"""docs/content.md is the output of `mianjing content stats` for the bundled folder, and the catalogue says
what the folder holds."""

from __future__ import annotations

from app.content.catalogue import catalogue_markdown
from app.content.loader import load_content
from tests.conftest import REPO, VALID
from tests.test_content_validation import run_cli


def test_the_committed_page_is_the_commands_output():
    result = run_cli("content", "stats", "content")
    assert result.returncode == 0, result.stderr
    committed = (REPO / "docs" / "content.md").read_text(encoding="utf-8")
    assert committed == result.stdout, (
        "docs/content.md is stale: run `mianjing content stats content > docs/content.md`")


def test_the_catalogue_counts_banks_topics_and_rounds():
    page = catalogue_markdown(load_content(VALID))
    # the fixture bank: one question of each type
    assert "| `sample` | 示例题库 | sample.md | 1 | 1 | 1 | 1 | 1 | 1 | 0 | 6 |" in page
    assert "| **in all** | 1 bank |  | 1 | 1 | 1 | 1 | 1 | 1 | 0 | 6 |" in page
    assert "| BN | 3 |" in page and "| 卷积计算 | 2 |" in page
    # the mini round: s-open and a drawn single (with its follow-up s-numeric); two drawn conv questions
    assert "### 迷你轮 (`mini`, 10 minutes)" in page
    assert "| 基础 | `s-open`, 1 drawn (bank sample, type single) | 6 | 2 | 1 |" in page
    assert "| 计算 | 2 drawn (topic 卷积计算) | 4 | 2 | 0 |" in page
    assert "| **in all** |  | 10 of 10 | 4 | 1 |" in page


def test_a_broken_folder_is_refused(tmp_path):
    (tmp_path / "banks").mkdir()
    (tmp_path / "banks" / "b.md").write_text("---\nid: x\n---\n", encoding="utf-8")
    result = run_cli("content", "stats", str(tmp_path))
    assert result.returncode == 1 and "front matter" in result.stderr
