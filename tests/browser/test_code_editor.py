"""手撕代码 in a real browser: the CodeMirror editor with the starter, a wrong NMS whose failing example shows
its expected and actual value, the fix passing, the submission judged and recorded — with the real judge and
bubblewrap sandboxes behind the page — and the editor left with the keyboard alone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, clocked_app
from tests.browser.test_candidate_feedback import as_guest
from tests.conftest import REPO, VALID, Clock
from tests.test_code_items import WRONG_NMS


@pytest.fixture
def code_server(tmp_path) -> Iterator[tuple[str, Clock]]:
    """The fixture content plus the bundled code-nms item, alone in a bank of its own."""
    folder = tmp_path / "content"
    shutil.copytree(VALID, folder)
    text = (REPO / "content" / "banks" / "coding.md").read_text(encoding="utf-8")
    front = text[: text.index("\n## ")]
    item = text[text.index("## code-nms "):]
    item = item[: item.index("\n## ")] if "\n## " in item else item
    (folder / "banks" / "coding.md").write_text(front + "\n\n" + item, encoding="utf-8")
    with clocked_app(tmp_path, content_dir=folder) as served:
        yield served


def set_source(page: Page, source: str) -> None:
    """Replace the editor's text as a paste would (no auto-indent of typed newlines)."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(source)


def test_a_candidate_fixes_a_wrong_nms_until_it_passes(code_server, page: Page) -> None:
    base, _ = code_server
    as_guest(page, base, "/practice?type=code")
    editor = page.locator(".cm-editor")
    expect(editor).to_be_visible()
    expect(page.locator(".cm-content")).to_contain_text("def nms(boxes: np.ndarray")  # the starter
    expect(page.locator("textarea.code-editor")).to_be_hidden()

    set_source(page, WRONG_NMS)
    page.get_by_role("button", name="运行示例").click()
    verdict = page.locator(".code-run .code-verdict")
    expect(verdict).to_have_attribute("data-status", "wrong_answer")
    row = verdict.locator("tr.case").first
    expect(row).to_contain_text("答案错误")
    expect(row.locator(".case-io")).to_contain_text("[0, 2]")
    expect(row.locator(".case-io")).to_contain_text("[0, 1, 2]")
    expect(verdict.locator(".stdout pre")).to_have_text("debug 3\n")
    page.screenshot(path=str(SCREENSHOTS / "code-editor-wrong.png"), full_page=True)

    fixed = (REPO / "content" / "banks" / "coding.md").read_text(encoding="utf-8")
    fixed = fixed[fixed.index("## code-nms "):]
    fixed = fixed[fixed.index("### 参考实现"):]
    fixed = fixed[fixed.index("```python\n") + 10:]
    fixed = fixed[: fixed.index("```")]
    set_source(page, fixed)
    page.get_by_role("button", name="运行示例").click()
    expect(verdict).to_have_attribute("data-status", "accepted")

    page.locator("#question-slot form.practice-form button[type=submit]").click()  # 提交: every case, scored and recorded
    judged = page.locator("#question-slot .check-result .code-verdict")
    expect(judged).to_have_attribute("data-status", "accepted")
    expect(judged.locator("tr.case")).to_have_count(19)
    expect(judged.locator('tr.case[data-kind="hidden"] .case-io')).to_have_count(0)  # only label and status
    expect(page.locator("#question-slot .check-result [data-part=review]")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "code-editor-accepted.png"), full_page=True)


def test_the_editor_is_left_with_escape_then_tab(code_server, page: Page) -> None:
    base, _ = code_server
    as_guest(page, base, "/practice?type=code")
    content = page.locator(".cm-content")
    expect(content).to_be_visible()
    content.click()
    page.keyboard.press("End")
    page.keyboard.press("Tab")  # indents inside the editor
    expect(content).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="运行示例")).to_be_focused()
