"""The interview's countdown stays in sight however far the question scrolls, and the last question offers
the finish itself: in a real browser (Playwright + Debian's Chromium) at a laptop's and a phone's size."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, clocked_app
from tests.conftest import VALID, Clock

SIZES = {"laptop": (1280, 800), "phone": (390, 844)}


def long_guidance(folder: Path) -> Path:
    """A copy of the fixture content whose second section (the last questions of the mini round) carries a
    long guidance, as a real round's deep dive does: its questions are several screens tall."""
    shutil.copytree(VALID, folder)
    round_file = folder / "rounds" / "mini.md"
    text = round_file.read_text(encoding="utf-8")
    assert text.count("动手算。") == 1
    notes = "\n\n".join(f"第 {i} 条提示：先写出输入的形状，再按公式逐维计算输出，最后核对通道数。" for i in range(1, 41))
    round_file.write_text(text.replace("动手算。", "动手算。\n\n" + notes), encoding="utf-8")
    return folder


@pytest.fixture
def long_server(tmp_path) -> Iterator[tuple[str, Clock]]:
    with clocked_app(tmp_path, content_dir=long_guidance(tmp_path / "content")) as served:
        yield served


@pytest.mark.parametrize("size", SIZES)
def test_the_timer_stays_in_sight_and_the_last_question_finishes(long_server, page: Page, size):
    base, _ = long_server
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(base + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview = page.url
    # Not the last question: next, and no finish beside it.
    expect(page.locator('.qnav button[data-move="next"]')).to_have_count(1)
    expect(page.locator('.qnav button[data-move="finish"]')).to_have_count(0)

    last = page.locator("ol.positions .pos").count() - 1
    page.locator(f'ol.positions button[data-position="{last}"]').click()
    expect(page.locator("#interview")).to_have_attribute("data-position", str(last))
    assert page.evaluate("document.documentElement.scrollHeight") > 2 * height  # a long question

    # Scrolled to the bottom: the countdown is still wholly on screen, and still counting.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("() => window.scrollY > 0")
    expect(page.locator("#countdown")).to_be_in_viewport(ratio=1)
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^(10:00|09:5\d)$"))
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"interview-sticky-timer-{size}.png"))

    # The last question: finish where next would be.
    expect(page.locator('.qnav button[data-move="next"]')).to_have_count(0)
    finish = page.locator('.qnav button[data-move="finish"]')
    finish.scroll_into_view_if_needed()
    expect(finish).to_be_visible()
    expect(finish).to_have_text("结束面试")
    expect(page.locator("#countdown")).to_be_in_viewport(ratio=1)
    # Said no to: nothing happens.
    page.once("dialog", lambda d: d.dismiss())
    finish.click()
    expect(page.locator("#interview")).to_have_attribute("data-position", str(last))
    assert page.url == interview
    # Said yes to, with an answer typed a moment ago: it is saved first, then the interview finished.
    page.fill("#answer-text", "(1, 64, 56, 56)")
    page.once("dialog", lambda d: d.accept())
    finish.click()
    page.wait_for_url(interview + "/report")
    expect(page.locator(f'article[data-position="{last}"] .your-answer')).to_contain_text("64, 56, 56")


def test_the_last_questions_finish_works_without_javascript(long_server, page: Page):
    base, _ = long_server
    plain = page.context.browser.new_context(java_script_enabled=False, locale="zh-CN").new_page()
    plain.goto(base + "/")
    plain.locator('li[data-round="mini"] button[type=submit]').click()
    plain.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview = plain.url
    last = plain.locator("ol.positions .pos").count() - 1
    plain.locator(f'ol.positions button[data-position="{last}"]').click()
    expect(plain.locator("#interview")).to_have_attribute("data-position", str(last))
    plain.locator('.qnav button[data-move="finish"]').click()  # a button of #finish-form, by its form attribute
    plain.wait_for_url(interview + "/report")
    expect(plain.locator("#summary")).to_be_visible()
