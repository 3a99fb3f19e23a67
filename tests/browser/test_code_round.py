"""The "CV 手撕代码" round in a real browser, zh and en: the editor in the interview, a wrong NMS whose failing
example the candidate sees, the fix, the autosave, and a report that shows the last saved source judged on
every case — with the real judge process and bubblewrap sandboxes behind the page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, clocked_app
from tests.browser.test_code_editor import set_source
from tests.conftest import REPO, Clock
from tests.test_code_items import WRONG_NMS


@pytest.fixture
def bundled_server(tmp_path) -> Iterator[tuple[str, Clock]]:
    with clocked_app(tmp_path, content_dir=REPO / "content") as served:
        yield served


def reference(name: str) -> str:
    text = (REPO / "content" / "banks" / "coding.md").read_text(encoding="utf-8")
    text = text[text.index(f"## {name} "):]
    text = text[text.index("### 参考实现"):]
    text = text[text.index("```python\n") + 10:]
    return text[: text.index("```")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_candidate_sits_the_coding_round(bundled_server, page: Page, lang: str) -> None:
    base, _ = bundled_server
    page.goto(base + ("/?lang=en" if lang == "en" else "/"))
    page.locator('li[data-round="cv-coding"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview_url = page.url
    run = page.get_by_role("button", name="运行示例" if lang == "zh" else "Run examples")
    expect(page.locator(".cm-editor")).to_be_visible()
    expect(page.locator(".cm-content")).to_contain_text("def nms(")

    set_source(page, WRONG_NMS)
    run.click()
    verdict = page.locator(".code-run .code-verdict")
    expect(verdict).to_have_attribute("data-status", "wrong_answer")
    expect(verdict.locator("tr.case").first).to_contain_text("[0, 1, 2]")

    set_source(page, reference("code-nms"))
    run.click()
    expect(verdict).to_have_attribute("data-status", "accepted")
    expect(verdict.locator("tr.case")).to_have_count(1)  # the example only

    # 提交判题: the saved source on every case, as the finish will judge it.
    page.get_by_role("button", name="提交判题" if lang == "zh" else "Submit and judge").click()
    expect(verdict.locator("tr.case")).to_have_count(19)
    expect(verdict).to_have_attribute("data-status", "accepted")
    expect(verdict.locator('tr.case[data-kind="hidden"] .case-io')).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / f"code-round-{lang}.png"), full_page=True)

    page.once("dialog", lambda d: d.accept())
    page.locator("#finish-form button").click()  # the autosave is flushed first
    page.wait_for_url(interview_url + "/report")
    first = page.locator('article.rq[data-type="code"]').first
    first.locator("summary").click()
    judged = first.locator(".code-verdict")
    expect(judged).to_have_attribute("data-status", "accepted")
    expect(judged.locator("tr.case")).to_have_count(19)
    expect(page.locator('article.rq[data-type="code"]')).to_have_count(3)
    second = page.locator('article.rq[data-type="code"]').nth(1)
    second.locator("summary").click()
    expect(second.locator(".code-verdict")).to_have_count(0)  # never opened: not answered, nothing to judge
    expect(second.locator(".your-answer")).to_contain_text("未作答" if lang == "zh" else "Not answered")
