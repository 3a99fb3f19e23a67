"""An open item's grade in a real browser (Playwright + Debian's Chromium): the practice check and the interview
report show each key point's verdict with the clause that decided it and the misconception, never "right" or
"wrong", keep the self-rating beside them, show the candidate's markup as text, and lay out on a phone and on
a laptop. The content is the fixture bank with a misconception added to s-open."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from app.db import upgrade
from app.main import create_app
from tests.browser.conftest import SCREENSHOTS, serve_in_thread
from tests.browser.test_interview_flow import go_to_type, wait_saved
from tests.conftest import content_with_misconception, make_settings

NEGATED = "<img src=x onerror=alert(1)> </script> BN 不是按通道统计的；用 gamma 和 beta 缩放平移。推理时也用当前 batch 的均值。"
CONTRADICTING_CLAUSE = "<img src=x onerror=alert(1)> </script> bn不是按通道统计的"  # as the grader read it
SIZES = {"phone": (390, 844), "laptop": (1280, 800)}


@pytest.fixture
def server(tmp_path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'verdicts.db'}"
    upgrade(url)
    content = content_with_misconception(tmp_path / "content")
    with serve_in_thread(create_app(make_settings(database_url=url, content_dir=content))) as base:
        yield base


@pytest.fixture
def alerts(page: Page) -> list[str]:
    """Every alert the page opens (the answer's onerror=alert(1) must never run); confirms are accepted."""
    seen: list[str] = []

    def on_dialog(dialog) -> None:
        if dialog.type == "alert":
            seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", on_dialog)
    return seen


def expect_verdicts(root: Locator) -> None:
    """The grade of NEGATED: contradicted and covered points with their clauses, the misconception."""
    contradicted = root.locator('li.kp[data-verdict="contradicted"]')
    expect(contradicted).to_have_count(1)
    expect(contradicted.locator(".kp-head")).to_have_text(re.compile(r"✗\s*说反了\s*按通道统计"))
    expect(contradicted.locator(".kp-statement")).to_have_text("判断的是：统计量按通道分别计算")
    expect(contradicted.locator(".evidence q")).to_have_text(CONTRADICTING_CLAUSE)  # markup shown as text
    covered = root.locator('li.kp[data-verdict="covered"]').filter(has_text="可学习的缩放平移")
    expect(covered.locator(".kp-head")).to_contain_text("✓")
    expect(covered.locator(".evidence q")).to_have_text("用gamma和beta缩放平移")
    expect(root.locator("li.kp")).to_have_count(3)
    warning = root.locator(".misconceptions")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("推理也用batch统计")
    expect(warning).to_contain_text("推理用的是训练时累计的滑动平均")
    expect(warning.locator(".evidence q")).to_have_text("推理时也用当前batch的均值")
    expect(warning).to_contain_text("这道题最多得 30%")
    expect(root.locator(".verdicts .note")).to_contain_text("换一种说法它可能认不出来")
    expect(root.locator("img")).to_have_count(0)


def expect_laid_out(page: Page, name: str) -> None:
    """At each size: nothing wider than the window, and a screenshot to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, size
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)


def test_a_practice_check_shows_verdicts_clauses_and_the_misconception(server, page, alerts):
    page.goto(server + "/practice?type=open")
    page.locator(".login-prompt button[type=submit]").click()  # a guest: the answer is recorded and rated
    page.wait_for_url(server + "/practice?type=open")
    page.fill("#answer-text", NEGATED)
    page.locator("#question-slot form.practice-form button[type=submit]").click()
    result = page.locator("#question-slot .check-result")
    expect(result).to_be_visible()
    expect(result.locator("p.verdict")).to_have_text("覆盖 2/3 要点 · 得分 30%")
    expect(result).not_to_contain_text("正确")  # neither 正确 nor 不正确: an open item is not right or wrong
    expect_verdicts(result)
    expect(result.locator("ul.feedback")).to_contain_text("说反了：按通道统计")
    # The self-rating beside the verdicts: the grader's proposal marked, nothing pressed and nothing scheduled
    # until the candidate picks their own; then the next review shows.
    rating = result.locator("[data-part=rating]")
    expect(rating.locator('button[aria-pressed="true"]')).to_have_count(0)
    expect(rating.locator("button.proposed")).to_have_attribute("data-rate", "hard")
    expect(rating.locator("button.proposed")).to_contain_text("建议")
    expect(result.locator("[data-part=review]")).to_have_text("作答已记录。自评之后安排下次复习。")
    expect(result.locator("[data-part=review] time")).to_be_hidden()
    rating.locator('button[data-rate="again"]').click()
    expect(rating.locator(".rate-status")).to_have_text("已记录")
    expect(rating.locator('button[data-rate="again"]')).to_have_attribute("aria-pressed", "true")
    expect(result.locator("[data-part=review]")).to_contain_text("已记录。下次复习：")
    expect(result.locator("[data-part=review] time")).to_be_visible()
    expect(result.locator("[data-part=review] time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    expect(page.locator("#answer-text")).to_have_value(NEGATED)  # the answer itself is left as typed
    expect_laid_out(page, "practice-open-verdicts")

    # In English: the same verdicts in the reader's language.
    page.goto(server + "/practice?type=open&lang=en")
    page.fill("#answer-text", NEGATED)
    page.locator("#question-slot form.practice-form button[type=submit]").click()
    expect(result.locator("p.verdict")).to_have_text("2/3 key points covered · Score 30%")
    expect(result.locator('li.kp[data-verdict="contradicted"] .kp-verdict')).to_have_text("stated the opposite")
    expect(result.locator(".misconceptions")).to_contain_text("Possible misconceptions")
    expect(result).not_to_contain_text("Correct")
    assert alerts == []


def test_the_report_shows_a_negated_answer_as_contradicted(server, page, alerts):
    page.goto(server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview_url = page.url
    go_to_type(page, "open")
    page.fill("#answer-text", NEGATED)
    wait_saved(page)
    page.locator("#finish-form button").click()  # the confirm dialog is accepted
    page.wait_for_url(interview_url + "/report")
    article = page.locator('article[data-type="open"]')
    expect(article.locator(".verdict")).to_contain_text("覆盖 2/3 要点")
    expect(article.locator(".verdict")).not_to_contain_text("正确")
    article.locator("summary").click()  # collapsed under its line until opened
    expect(article.locator(".your-answer pre")).to_have_text(NEGATED)
    expect_verdicts(article)
    rating = article.locator(".rating")
    rating.locator('button[data-rate="hard"]').click()
    expect(rating.locator('button[data-rate="hard"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#report img")).to_have_count(0)
    expect_laid_out(page, "report-open-verdicts")
    assert alerts == []
