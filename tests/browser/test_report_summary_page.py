"""A finished report in a real browser (Playwright + Debian's Chromium): the summary at the top (sections with
their time against the plan, topics, the drill link), the jump list, every question collapsed, and the
"wrong only" filter, which is a link and works without JavaScript too.

The server runs in a thread with a test clock (tests/browser/conftest.py): the time spent on each question is
what the test moves the clock by.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS
from tests.conftest import Clock


def go_to(page: Page, qid: str) -> None:
    """Press the position list's button of the question `qid` (a POST) and wait for it to show."""
    positions = page.evaluate("""async () => {
        const id = document.getElementById("interview").dataset.interview;
        const state = await (await fetch("/api/v1/interviews/" + id)).json();
        return Object.fromEntries(state.questions.map(q => [q.question.id, q.position]));
    }""")
    page.locator(f'ol.positions button[data-position="{positions[qid]}"]').click()
    expect(page.locator(f'section.question[data-qid="{qid}"]')).to_have_count(1)


def saved(page: Page) -> None:
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)


def sit_the_mini_round(page: Page, base: str, clock: Clock) -> str:
    """2 min on s-open (answered), 30 s on s-single (right), 5 min on s-shape (right; its section plans 4):
    s-numeric and s-generated are the mistakes. The report's URL."""
    page.goto(base + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview = page.url
    page.fill("#answer-text", "按通道求均值和方差，减均值除标准差，再用 gamma beta 缩放平移")
    saved(page)
    clock.advance(minutes=2)
    go_to(page, "s-single")
    page.locator("label[for=opt-B]").click()
    saved(page)
    clock.advance(seconds=30)
    go_to(page, "s-shape")
    page.fill("#answer-text", "(1, 64, 56, 56)")
    saved(page)
    clock.advance(minutes=5)
    page.once("dialog", lambda d: d.accept())
    page.locator("#finish-form button").click()
    page.wait_for_url(interview + "/report")
    return page.url


def test_the_report_opens_on_its_summary_and_filters_the_mistakes(clocked_server, page):
    base, clock = clocked_server
    page.set_viewport_size({"width": 1280, "height": 800})
    report = sit_the_mini_round(page, base, clock)

    # The summary is what the page opens on.
    summary = page.locator("#summary")
    expect(summary).to_be_in_viewport()
    expect(page.locator("#mistake-total")).to_have_text("错题 2 / 5 道")
    expect(page.locator("#time-total")).to_have_text("用时 7:30（计划 10:00）")
    first, second = summary.locator('tr[data-section="0"]'), summary.locator('tr[data-section="1"]')
    expect(first.locator("td.time")).to_have_text("2:30 / 6:00")
    expect(second.locator("td.time")).to_have_text("5:00 / 4:00 超出 1:00")
    expect(second.locator("td.time")).to_have_class(re.compile(r"\bover\b"))
    expect(first.locator("td.score")).to_have_text("67")
    expect(summary.locator("ul.weak li")).to_have_text(["参数量", "卷积计算"])
    drill = summary.locator("#drill")
    href = drill.get_attribute("href")
    assert parse_qs(urlsplit(href).query) == {"topic": ["参数量", "卷积计算"]}
    # The topic table is there for exact numbers, collapsed.
    expect(summary.locator("details.topic-table table")).to_be_hidden()
    summary.locator("details.topic-table summary").click()
    expect(summary.locator("details.topic-table tbody tr").first).to_contain_text("参数量")
    page.screenshot(path=str(SCREENSHOTS / "report-summary.png"), full_page=False)

    # Every question collapsed under its line; opening one shows its reference.
    articles = page.locator("article.rq")
    expect(articles).to_have_count(5)
    expect(page.locator("article.rq details[open]")).to_have_count(0)
    numeric = page.locator('article[data-type="numeric"]')
    expect(numeric.locator(".verdict")).to_contain_text("未作答")
    expect(numeric.locator("dt", has_text="参考答案")).to_be_hidden()
    numeric.locator("summary").click()
    expect(numeric.locator("dt", has_text="参考答案")).to_be_visible()

    # Printing opens them all, and closes again what it opened.
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    expect(page.locator("article.rq details[open]")).to_have_count(5)
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    expect(page.locator("article.rq details[open]")).to_have_count(1)

    # The jump list lands on each section.
    page.locator("nav.jump a", has_text="环节 2：计算").click()
    expect(page.locator("#section-2")).to_be_in_viewport()
    assert page.url.endswith("#section-2")

    # Wrong only: a link; only the two mistakes are left, and the way back is a link too.
    page.locator("#report-filter a", has_text="只看错题（2）").click()
    page.wait_for_url(report + "?only=wrong#questions")
    expect(page.locator("article.rq")).to_have_count(2)
    for details in page.locator("article.rq details").all():
        expect(details).to_have_attribute("data-mistake", "true")
    expect(page.locator("#report-filter strong")).to_have_text("只看错题（2）")
    expect(page.locator("#mistake-total")).to_have_text("错题 2 / 5 道")  # the summary is the whole interview's
    page.screenshot(path=str(SCREENSHOTS / "report-wrong-only.png"), full_page=False)
    page.locator("#report-filter a", has_text="全部题目（5）").click()
    page.wait_for_url(report + "#questions")
    expect(page.locator("article.rq")).to_have_count(5)

    # The drill link opens practice on those topics.
    page.goto(base + href)
    expect(page.locator("details.filters summary")).to_contain_text("参数量")

    # At phone width the summary still fits the screen.
    page.goto(report)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "report-summary-phone.png"), full_page=False)


def test_the_filter_works_without_javascript(clocked_server, page):
    base, clock = clocked_server
    report = sit_the_mini_round(page, base, clock)
    no_js = page.context.browser.new_context(java_script_enabled=False, locale="zh-CN")
    no_js.add_cookies(page.context.cookies())  # the same guest
    plain = no_js.new_page()
    plain.goto(report)
    plain.locator("#report-filter a", has_text="只看错题").click()
    plain.wait_for_url(report + "?only=wrong#questions")
    expect(plain.locator("article.rq")).to_have_count(2)
    plain.locator('article[data-type="numeric"] summary').click()  # <details> opens without a script
    expect(plain.locator('article[data-type="numeric"] dt', has_text="参考答案")).to_be_visible()
