"""An answer over MIANJING_MAX_ANSWER_CHARS in a real browser: the server refuses it (422), the page says why
and keeps every character (in the textarea and in localStorage), does not retry in a loop, and saves the
text once it is short enough. The limit is set low (100) so the test types little."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.db import upgrade
from app.main import create_app
from tests.browser.conftest import serve_in_thread
from tests.conftest import Clock, make_settings

LIMIT = 100
LONG = "批归一化在训练时用小批量的均值和方差。" * 8  # 152 characters
SHORT = LONG[:60]

pytestmark = pytest.mark.console_allows("status of 422")


@pytest.fixture
def limited_server(tmp_path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    upgrade(url)
    with serve_in_thread(create_app(make_settings(database_url=url, max_answer_chars=LIMIT))) as base:
        yield base


def pending(page: Page) -> list[str]:
    return page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('mj:pending:'))"
                         ".map(k => JSON.parse(localStorage.getItem(k)))")


def open_question_of_a_new_interview(page: Page, base: str) -> list[int]:
    """Start the mini round and go to its first open question; the statuses of its autosaves, as they come."""
    page.goto(base + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    page.locator('ol.positions button[data-type="open"]').first.click()
    expect(page.locator('section.question[data-type="open"]')).to_have_count(1)
    saves: list[int] = []
    page.on("response", lambda r: saves.append(r.status) if "/answers/" in r.url else None)
    return saves


def test_a_refused_autosave_says_why_and_keeps_the_text(limited_server, page):
    saves = open_question_of_a_new_interview(page, limited_server)

    page.fill("#answer-text", LONG)
    status = page.locator("#save-status")
    expect(status).to_have_text(f"答案超过 {LIMIT} 个字符，没有保存。文字还留在这里，删短后会自动保存。")
    expect(status).to_have_class(re.compile(r"\brefused\b"))
    expect(page.locator("#answer-text")).to_have_value(LONG)
    assert pending(page) == [LONG]
    page.wait_for_timeout(2500)
    assert saves == [422]  # refused once: no retry loop until the text changes

    page.reload()  # the unsaved text survives a reload, and the reason shows again
    expect(page.locator("#answer-text")).to_have_value(LONG)
    expect(status).to_contain_text("没有保存")

    page.fill("#answer-text", SHORT)
    expect(status).to_have_text("已保存", timeout=10_000)
    expect(status).not_to_have_class(re.compile(r"\brefused\b"))
    assert pending(page) == []
    page.reload()
    expect(page.locator("#answer-text")).to_have_value(SHORT)


def test_a_refusal_that_comes_before_a_slow_move_is_not_sent_again(limited_server, page):
    """Typing a too-long answer right after pressing a question's button: the refusal comes back before the
    move's part does. The new part keeps the text and the reason, and does not send the refused text again."""
    page.goto(limited_server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    saves: list[int] = []
    page.on("response", lambda r: saves.append(r.status) if "/answers/" in r.url else None)

    def hold_back(route):  # the move's answer, delivered after the refusal (a slow network)
        response = route.fetch()
        time.sleep(2.5)
        route.fulfill(response=response)

    page.route("**/position", hold_back)
    page.locator('ol.positions button[data-type="open"]').first.click()  # s-open, showing already
    page.fill("#answer-text", LONG)
    page.wait_for_timeout(4000)
    expect(page.locator("#answer-text")).to_have_value(LONG)
    expect(page.locator("#save-status")).to_contain_text("没有保存")
    page.wait_for_timeout(1500)
    assert saves == [422]


def test_a_refused_practice_check_says_why_and_keeps_the_text(limited_server, page):
    page.goto(limited_server + "/practice?type=open")
    page.fill("#answer-text", LONG)
    page.locator("#question-slot form.practice-form button[type=submit]").click()
    expect(page.locator("#question-slot .form-status")).to_have_text(f"答案超过 {LIMIT} 个字符，没有判分。请删短后再试。")
    expect(page.locator("#answer-text")).to_have_value(LONG)
    expect(page.locator("#question-slot form.practice-form button[type=submit]")).to_be_enabled()
    page.fill("#answer-text", SHORT)
    page.locator("#question-slot form.practice-form button[type=submit]").click()
    expect(page.locator("#question-slot .check-result")).to_be_visible()


@pytest.fixture
def quota_server(tmp_path) -> Iterator[tuple[str, Clock]]:
    """One answer-carrying write per account a minute, and a clock 3 s before the minute's end, so that a
    refused save is told to wait 3 s."""
    url = f"sqlite:///{tmp_path / 'quota.db'}"
    upgrade(url)
    app = create_app(make_settings(database_url=url, limit_writes_per_minute=1))
    clock = Clock()
    clock.advance(seconds=57)
    app.state.clock = clock
    with serve_in_thread(app) as base:
        yield base, clock


@pytest.mark.console_allows("status of 429")
def test_a_save_past_the_write_quota_waits_for_retry_after_and_keeps_the_text(quota_server, page):
    base, clock = quota_server
    saves = open_question_of_a_new_interview(page, base)
    status = page.locator("#save-status")

    page.fill("#answer-text", SHORT)
    expect(status).to_have_text("已保存", timeout=10_000)
    page.fill("#answer-text", SHORT + "再补一句")
    expect(status).to_have_text("保存得太频繁：3 秒后自动重试，文字还留在这里。")
    assert saves == [200, 429]
    # Typing on while it waits: kept, and not sent before the wait is over.
    page.fill("#answer-text", SHORT + "再补两句")
    page.wait_for_timeout(1500)
    assert saves == [200, 429] and pending(page) == [SHORT + "再补两句"]
    clock.advance(minutes=1)  # a new minute on the server: the retry is taken
    expect(status).to_have_text("已保存", timeout=10_000)
    assert saves == [200, 429, 200] and pending(page) == []
    page.reload()
    expect(page.locator("#answer-text")).to_have_value(SHORT + "再补两句")

    # A practice check in the same minute: refused, not scored, the text kept for another try.
    page.goto(base + "/practice?type=open")
    page.fill("#answer-text", SHORT)
    page.locator("#question-slot form.practice-form button[type=submit]").click()
    expect(page.locator("#question-slot .form-status")).to_contain_text("提交得太频繁，没有判分")
    expect(page.locator("#answer-text")).to_have_value(SHORT)
    expect(page.locator("#question-slot form.practice-form button[type=submit]")).to_be_enabled()
