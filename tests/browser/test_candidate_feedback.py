"""What a candidate sees after answering, in a real browser (Playwright + Debian's Chromium): reference answers
and explanations typeset like the question, what a round will ask, the options marked ✓/✗ in place, an
unreadable answer refused with its hint, and a countdown that runs ahead of the server resynced to it.

The server runs in a thread with a test clock (tests/browser/conftest.py), so a card falls due and an
interview's deadline arrives when the test says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, clocked_app
from tests.conftest import Clock
from tests.test_reference_rendering import rich_content
from tests.test_unscored_items import INTRO_ANSWER, write_content

NUMBER_HINT = "无法识别这个数字，请只填写一个数字，例如 32、0.5 或 1e-3。"
# The browser logs each refusal the tests provoke on purpose (a 422 check, a 409 time-up finish).
REFUSALS = pytest.mark.console_allows("status of 422", "status of 409")


@pytest.fixture
def rich_server(tmp_path) -> Iterator[tuple[str, Clock]]:
    """The fixture content with s-open's reference answer and explanation in markdown, math and code."""
    with clocked_app(tmp_path, content_dir=rich_content(tmp_path / "content")) as served:
        yield served


def result(page: Page):
    return page.locator("#question-slot .check-result")


def check(page: Page) -> None:
    page.locator("#question-slot form.practice-form button[type=submit]").click()


def as_guest(page: Page, base: str, url: str) -> None:
    page.goto(base + url)
    page.locator(".login-prompt button[type=submit]").click()
    page.wait_for_url(base + url)


def start_mini(page: Page, base: str) -> str:
    page.goto(base + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    return page.url


def go_to_type(page: Page, qtype: str) -> None:
    if not page.locator(f'section.question[data-type="{qtype}"]').count():
        page.locator(f'ol.positions button[data-type="{qtype}"]').first.click()
        expect(page.locator(f'section.question[data-type="{qtype}"]')).to_have_count(1)


def finish(page: Page, interview_url: str) -> None:
    page.once("dialog", lambda d: d.accept())
    page.locator("#finish-form button").click()
    page.wait_for_url(interview_url + "/report")


def assert_typeset(box) -> None:
    """RICH_REFERENCE / RICH_EXPLANATION as the candidate reads them: bold, code and KaTeX, no markdown."""
    expect(box.locator(".katex").first).to_be_visible()
    text = box.inner_text()
    assert "**" not in text and "`" not in text and "$" not in text and "\\frac" not in text, text


def test_references_and_explanations_are_typeset_in_practice_reviews_and_the_report(rich_server, page):
    base, clock = rich_server
    as_guest(page, base, "/practice?type=open")
    page.fill("#answer-text", "按通道求均值和方差")
    check(page)
    reference = result(page).locator(".reference")
    expect(reference.locator("strong")).to_have_text("标准化")
    expect(reference.locator("code").first).to_have_text("gamma")
    expect(reference).to_contain_text("<script>alert(1)</script>")  # raw HTML shows as text, never runs
    assert_typeset(reference)
    explanation = result(page).locator(".explanation")
    expect(explanation.locator("code")).to_have_text("running_mean")
    assert_typeset(explanation)
    page.screenshot(path=str(SCREENSHOTS / "practice-reference.png"), full_page=True)
    result(page).locator('button[data-rate="again"]').click()  # an open item is scheduled from this rating
    expect(result(page).locator(".rate-status")).to_have_text("已记录")

    # The same card in today's reviews, once it is due.
    clock.advance(days=20)  # due by then; the session (30 days) still holds
    page.goto(base + "/reviews")
    expect(page.locator("#question-slot .practice-q")).to_have_attribute("data-qid", "s-open")
    page.fill("#answer-text", "按通道求均值和方差")
    check(page)
    assert_typeset(result(page).locator(".reference"))
    assert_typeset(result(page).locator(".explanation"))

    # And in an interview's report.
    interview = start_mini(page, base)
    go_to_type(page, "open")
    page.fill("#answer-text", "按通道求均值和方差")
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)
    finish(page, interview)
    article = page.locator('article[data-type="open"]')
    article.locator("summary").click()  # collapsed until opened
    expect(article.locator("dd strong", has_text="标准化")).to_be_visible()
    assert_typeset(article.locator("dl").last)


def test_the_round_card_counts_follow_ups_as_the_interview_asks_them(clocked_server, page):
    base, _ = clocked_server
    page.goto(base + "/")
    card = page.locator('li[data-round="mini"]')
    expect(card.locator(".round-asks")).to_have_text("10 分钟 · 2 环节 · 主问题 4 道 · 追问 1 道 · 共 5 道")
    expect(card.locator("ol.sections li").first).to_contain_text("主问题 2 道 · 追问 1 道 · 共 3 道")
    page.goto(base + "/?lang=en")
    expect(card.locator(".round-asks")).to_contain_text("main questions: 4 · follow-ups: 1 · in all: 5")
    page.goto(base + "/?lang=zh")
    start_mini(page, base)
    expect(page.locator("ol.positions button.pos")).to_have_count(5)  # what the card said


def marked(page: Page, key: str):
    return page.locator(f'#question-slot form.practice-form .option:has(#opt-{key})')


@REFUSALS
def test_choices_are_marked_in_place_and_unreadable_answers_refused(clocked_server, page):
    base, _ = clocked_server
    as_guest(page, base, "/practice?type=single")

    # A wrong single choice: the options in the form itself say which was chosen and which is right.
    page.locator("label[for=opt-A]").click()
    check(page)
    expect(result(page).locator(".verdict")).to_contain_text("✗ 不正确")
    expect(page.locator("#question-slot fieldset")).to_have_count(1)  # the marked options took its place
    expect(page.locator("#question-slot form.practice-form fieldset.marked")).to_be_visible()
    expect(marked(page, "A").locator(".opt-mark")).to_have_text(re.compile(r"✗\s+你的选择 · 错误"))
    expect(marked(page, "B").locator(".opt-mark")).to_have_text(re.compile(r"✓\s+正确答案 · 你没有选"))
    expect(marked(page, "C").locator(".opt-mark")).to_have_count(0)
    # Words, not colour alone: the mark is part of each option's accessible name (the ✓/✗ glyph is hidden).
    expect(page.get_by_role("radio", name=re.compile("你的选择 · 错误"))).to_have_attribute("value", "A")
    expect(page.get_by_role("radio", name=re.compile("正确答案 · 你没有选"))).to_have_attribute("value", "B")
    expect(page.locator("#opt-A")).to_be_checked()
    expect(page.locator("#opt-A")).to_be_disabled()
    page.screenshot(path=str(SCREENSHOTS / "practice-choice-marks.png"), full_page=True)

    # A partly right multiple choice.
    page.goto(base + "/practice?type=multiple")
    for key in ("A", "C"):
        page.locator(f"label[for=opt-{key}]").click()
    check(page)
    expect(marked(page, "A").locator(".opt-mark")).to_have_text(re.compile(r"✓\s+你的选择 · 正确"))
    expect(marked(page, "C").locator(".opt-mark")).to_have_text(re.compile(r"✗\s+你的选择 · 错误"))
    expect(marked(page, "B").locator(".opt-mark")).to_have_text(re.compile(r"正确答案 · 你没有选"))
    expect(marked(page, "D").locator(".opt-mark")).to_have_text(re.compile(r"正确答案 · 你没有选"))

    # An answer the scorer cannot read: refused with the hint, the input kept, nothing revealed or recorded.
    page.goto(base + "/practice?type=numeric")
    page.fill("#answer-text", "abc")
    check(page)
    status = page.locator("#question-slot .form-status")
    expect(status).to_have_text(f"没有判分： {NUMBER_HINT}")
    expect(page.locator("#answer-text")).to_have_value("abc")
    expect(page.locator("#answer-text")).to_be_editable()
    expect(page.locator("#answer-text")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#question-slot .check-result")).to_have_count(0)
    expect(page.locator("#question-slot form.practice-form button[type=submit]")).to_be_enabled()
    stats = page.request.get(base + "/api/v1/me/stats").json()
    assert stats["attempts"] == 2  # the two choice checks; the refused answer counts nothing
    page.screenshot(path=str(SCREENSHOTS / "practice-unreadable.png"), full_page=True)
    # Corrected, it is checked.
    page.fill("#answer-text", "128")
    check(page)
    expect(result(page).locator(".verdict")).to_contain_text("✓ 正确")
    expect(page.locator("#answer-text")).not_to_have_attribute("aria-invalid", "true")

    # In an interview the same text is only a draft: saved, and at the finish it counts as wrong.
    interview = start_mini(page, base)
    go_to_type(page, "single")
    page.locator("label[for=opt-A]").click()
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)
    go_to_type(page, "numeric")
    page.fill("#answer-text", "abc")
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)
    finish(page, interview)
    numeric = page.locator('article[data-type="numeric"]')
    expect(numeric.locator(".your-answer")).to_have_text("abc")
    expect(numeric).to_contain_text(NUMBER_HINT)
    expect(numeric.locator(".verdict")).to_contain_text("不正确")
    # The report marks the choice in place too.
    single = page.locator('article[data-type="single"]')
    single.locator("summary").click()
    expect(single.locator("li.option-row", has_text="A.")).to_contain_text("你的选择 · 错误")
    expect(single.locator("li.option-row", has_text="B.")).to_contain_text("正确答案 · 你没有选")
    page.screenshot(path=str(SCREENSHOTS / "report-choice-marks.png"), full_page=True)


@REFUSALS
def test_a_countdown_running_ahead_is_resynced_to_the_servers_clock(clocked_server, page):
    base, clock = clocked_server
    page.clock.install(time=datetime(2030, 5, 1, 9, 0, 0))
    finishes: list[dict] = []
    page.on("request", lambda r: finishes.append(json.loads(r.post_data or "null"))
            if r.method == "POST" and r.url.endswith("/finish") else None)
    interview = start_mini(page, base)
    countdown = page.locator("#countdown")
    expect(countdown).to_have_text("10:00")
    go_to_type(page, "numeric")
    page.fill("#answer-text", "128")
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)

    # The browser's clock reaches zero while the server's has not moved: the server refuses the time-up
    # finish and the countdown takes the server's remaining time.
    page.clock.run_for(10 * 60 * 1000 + 1000)
    expect(page.locator("#warning")).to_have_text("按服务器的时钟还没有到时间：倒计时已按服务器校准。", timeout=10_000)
    assert finishes == [{"reason": "time_up"}]
    expect(countdown).to_have_text(re.compile(r"^(10:00|09:5\d)$"))
    assert page.url == interview
    state = page.request.get(base + "/api/v1" + interview.split(base)[1]).json()
    assert state["state"] == "active"
    page.screenshot(path=str(SCREENSHOTS / "interview-resynced.png"))

    # When the server's deadline comes, the next time-up finish is taken.
    clock.advance(minutes=10)
    page.clock.run_for(10 * 60 * 1000 + 1000)
    page.wait_for_url(interview + "/report", timeout=15_000)
    assert finishes == [{"reason": "time_up"}, {"reason": "time_up"}]
    expect(page.locator('article[data-type="numeric"]')).to_contain_text("128")


@pytest.fixture
def intro_server(tmp_path) -> Iterator[tuple[str, Clock]]:
    """The fixture content with an unscored self-introduction asked first by the round `intro`."""
    with clocked_app(tmp_path, content_dir=write_content(tmp_path / "content", scored=False)) as served:
        yield served


def test_an_unscored_self_introduction_is_asked_then_reported_without_a_verdict(intro_server, page):
    base, _ = intro_server
    page.goto(base + "/")
    page.locator('li[data-round="intro"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview = page.url
    expect(page.locator("#qhead .badge.unscored")).to_have_text("不计分")
    page.fill("#answer-text", INTRO_ANSWER)
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)
    finish(page, interview)
    intro = page.locator('article[data-position="0"]')
    expect(intro).to_have_class(re.compile(r"\brq-unscored\b"))
    expect(intro.locator(".your-answer")).to_have_text(INTRO_ANSWER)
    expect(intro).not_to_contain_text("参考答案")
    expect(intro.locator("[data-rate]")).to_have_count(0)
    expect(page.locator("table tbody tr").first).to_contain_text("不计分")


def test_a_follow_up_in_practice_carries_its_parent_question_collapsed(clocked_server, page):
    base, _ = clocked_server
    page.goto(base + "/practice?type=numeric")
    expect(page.locator("#question-slot .practice-q")).to_have_attribute("data-qid", "s-numeric")
    parent = page.locator("details.parent-q")
    expect(parent).to_have_count(1)
    expect(parent.locator("summary")).to_have_text("这是一道追问，原题：单选")
    expect(parent.locator(".prompt")).to_be_hidden()  # collapsed until asked for
    parent.locator("summary").click()
    expect(parent.locator(".prompt")).to_have_text("推理阶段 BN 使用什么统计量？")
    expect(parent.locator(".option-row")).to_have_count(4)
