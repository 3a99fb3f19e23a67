"""A practice session, today's reviews and the dashboard in a real browser (Playwright + Debian's Chromium).

The server is a real uvicorn running the app in a thread, so the test can move the app's clock
(app.state.clock) and make a card fall due without waiting for it.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS
from tests.conftest import T0

PARTIAL_OPEN = "按通道求均值和方差，再做归一化。"  # two of the three key points of s-open: weights 3 of 4, 83 %


def result(page: Page):
    return page.locator("#question-slot .check-result")


def check(page: Page) -> None:
    page.locator("#question-slot form.practice-form button[type=submit]").click()
    expect(result(page)).to_be_visible()


def conv_answer(prompt: str) -> str:
    """The output shape of the generated conv question, computed from its prompt like a candidate would."""
    n, _, h, w = (int(x) for x in re.search(r"\((\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)", prompt).groups())
    conv = re.search(r"Conv2d\((\d+),\s*(\d+),\s*kernel_size=(\d+),\s*stride=(\d+),\s*padding=(\d+)\)", prompt)
    _, c_out, k, s, p = (int(x) for x in conv.groups())
    return f"({n}, {c_out}, {(h + 2 * p - k) // s + 1}, {(w + 2 * p - k) // s + 1})"


def test_practice_session_reviews_and_dashboard(clocked_server, page):
    base, clock = clocked_server
    SCREENSHOTS.mkdir(exist_ok=True)

    # Anonymous: the practice page offers to start as a guest and keeps the filters across it.
    page.goto(base + "/practice?type=single")
    expect(page.locator(".login-prompt")).to_contain_text("作答不会被记录")
    page.locator(".login-prompt button[type=submit]").click()
    page.wait_for_url(base + "/practice?type=single")
    expect(page.locator("header.site .who")).to_have_text("游客")

    # A choice question answered right, with the number key for option B.
    slot = page.locator("#question-slot")
    expect(slot.locator(".practice-q")).to_have_attribute("data-qid", "s-single")
    expect(slot.locator(".badge.reason")).to_have_text("新题")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("2")
    expect(page.locator("#opt-B")).to_be_checked()
    check(page)
    expect(result(page).locator(".verdict")).to_contain_text("✓ 正确")
    expect(result(page).locator(".verdict")).to_contain_text("100%")
    expect(result(page).locator("pre.answer-text")).to_have_text("B")
    expect(result(page).locator(".explanation")).to_contain_text("running mean")
    expect(result(page)).to_contain_text("已记录。下次复习")
    expect(page.locator("#question-slot form.practice-form button[type=submit]")).to_be_hidden()  # checked once; "next" moves on
    page.screenshot(path=str(SCREENSHOTS / "practice-choice.png"), full_page=True)

    # The filter form (a GET form: the URL is the shareable filter) switches to multiple choice; answered wrong.
    page.locator("details.filters summary").click()
    page.locator('input[name="type"][value="single"]').uncheck()
    page.locator('input[name="type"][value="multiple"]').check()
    page.locator(".filter-form button[type=submit]").click()
    page.wait_for_url(base + "/practice?type=multiple")
    expect(slot.locator(".practice-q")).to_have_attribute("data-qid", "s-multiple")
    page.locator("label[for=opt-C]").click()
    check(page)
    expect(result(page).locator(".verdict")).to_contain_text("✗ 不正确")
    expect(result(page).locator(".verdict")).to_contain_text("0%")
    expect(result(page).locator("pre.answer-text")).to_have_text("A, B, D")
    expect(result(page).locator("[data-part=rating]")).to_have_count(0)  # objective items: the score rates them

    # An open question: key points covered and missing (no right or wrong), the note, and a self-rating that
    # updates the card.
    page.goto(base + "/practice?type=open")
    page.fill("#answer-text", PARTIAL_OPEN)
    check(page)
    expect(result(page).locator(".verdict")).to_have_text("覆盖 2/3 要点 · 得分 83%")
    expect(result(page).locator(".keypoints li.covered")).to_have_count(2)
    expect(result(page).locator(".keypoints li.missing")).to_contain_text("可学习的缩放平移")
    expect(result(page)).to_contain_text("要点由程序逐句自动判断")
    # Coverage proposes good; the card is scheduled only from the candidate's own rating (DESIGN).
    expect(result(page).locator('button[data-rate="good"]')).to_have_class(re.compile(r"\bproposed\b"))
    expect(result(page).locator('button[data-rate="good"]')).to_have_attribute("aria-pressed", "false")
    expect(result(page).locator("[data-part=review]")).to_have_text("作答已记录。自评之后安排下次复习。")
    result(page).locator('button[data-rate="easy"]').click()
    expect(result(page).locator(".rate-status")).to_have_text("已记录")
    expect(result(page).locator('button[data-rate="easy"]')).to_have_attribute("aria-pressed", "true")
    expect(result(page).locator('button[data-rate="good"]')).to_have_attribute("aria-pressed", "false")
    expect(result(page).locator("[data-part=review] time")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "practice-open.png"), full_page=True)

    # A generated question answered right; "next" (htmx, same filters) brings a fresh instance of it.
    page.goto(base + "/practice?type=generated")
    form = slot.locator("form.practice-form")
    first_seed = form.get_attribute("data-seed")
    page.fill("#answer-text", conv_answer(slot.locator(".prompt").inner_text()))
    check(page)
    expect(result(page).locator(".verdict")).to_contain_text("✓ 正确")
    slot.locator(".next-question").click()
    expect(slot.locator("form.practice-form")).not_to_have_attribute("data-seed", first_seed)
    expect(slot.locator(".check-result")).to_have_count(0)
    expect(slot.locator(".badge.reason")).to_have_text("到期复习")  # answered right at 12:00: its next step is today
    assert page.url == base + "/practice?type=generated"
    expect(page.locator("#pq-title")).to_be_focused()

    # Twelve minutes later, today's reviews hold every card answered today but the open one (rated easy: days
    # away), most overdue first; an answered card is never counted as skipped, and comes back when it is due
    # again today.
    clock.advance(minutes=12)
    page.goto(base + "/reviews")
    expect(page.locator("#due-badge")).to_contain_text("3")
    expect(page.locator(".left-count")).to_have_text("今天还剩 3 道到期")
    expect(slot.locator(".practice-q")).to_have_attribute("data-qid", "s-multiple")
    expect(slot.locator(".badge.reason")).to_have_text("到期复习")

    def right_answer(qid: str) -> None:
        expect(slot.locator(".practice-q")).to_have_attribute("data-qid", qid)
        if qid == "s-generated":
            page.fill("#answer-text", conv_answer(slot.locator(".prompt").inner_text()))
        for key in {"s-multiple": ("A", "B", "D"), "s-single": ("B",)}.get(qid, ()):
            page.locator(f"label[for=opt-{key}]").click()
        check(page)
        expect(result(page).locator(".verdict")).to_contain_text("✓ 正确")

    right_answer("s-multiple")  # out of its first step: the next one is in ten minutes, still today
    page.screenshot(path=str(SCREENSHOTS / "reviews.png"), full_page=True)
    slot.locator(".next-question").click()
    expect(page.locator(".left-count")).to_have_text("今天还剩 3 道到期")  # and nothing skipped
    right_answer("s-single")  # past its last step: days away
    slot.locator(".next-question").click()
    expect(page.locator(".left-count")).to_have_text("今天还剩 2 道到期")
    expect(page.locator("#due-badge")).to_contain_text("2")
    right_answer("s-generated")
    clock.advance(minutes=10)
    slot.locator(".next-question").click()
    expect(page.locator(".left-count")).to_have_text("今天还剩 1 道到期")
    right_answer("s-multiple")
    slot.locator(".next-question").click()
    expect(slot).to_contain_text("今天没有需要复习的题目了")
    expect(page.locator("#due-badge")).to_be_hidden()  # the nav's count followed (htmx out-of-band)
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")  # what app.js told the server
    forecast = page.request.get(base + "/api/v1/me/stats").json()["forecast"]  # in the zone app.js reported
    today = T0.astimezone(ZoneInfo(zone)).date().isoformat()
    assert forecast[today] == 0
    next_day = next(d for d, n in forecast.items() if n)
    expect(slot).to_contain_text(f"下一道题 {next_day} 到期")

    # The dashboard shows the same figures as GET /api/v1/me/stats (the browser's own session).
    page.goto(base + "/dashboard")
    stats = page.request.get(base + "/api/v1/me/stats").json()
    assert stats["attempts"] == 8
    mastery = {m["topic"]: m["mastery"] for m in stats["mastery"]}
    assert mastery == {"BN": 0.9167, "过拟合": 1.0, "卷积计算": 1.0}  # s-single 1.0 and s-open 0.83
    chart = page.locator("#mastery svg.bar-chart")
    for topic, value in mastery.items():
        expect(chart).to_contain_text(topic)
        expect(chart).to_contain_text(f"{round(value * 100)}%")
    expect(page.locator(".dash-summary")).to_contain_text("共作答 8 次，涉及 4 道题")
    cell = page.locator("#activity svg.heatmap rect.day").filter(has=page.locator(f'title:text-is("{today}：8 次作答")'))
    expect(cell).to_have_class("day l4")
    expect(page.locator("#activity svg.heatmap rect.day.l0").first).to_be_attached()
    expect(page.locator("#activity")).to_contain_text("最近 52 周共作答 8 次，1 天有练习")
    forecast_total = sum(stats["forecast"].values())
    assert forecast_total >= 3
    expect(page.locator("#forecast")).to_contain_text(f"未来 14 天共有 {forecast_total} 道题到期")
    expect(page.locator("#forecast svg.bar-chart")).to_contain_text("今天")
    expect(page.locator("#weakest li")).to_have_count(1)
    expect(page.locator("#weakest li")).to_contain_text("BN")
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # Phone width: the dashboard and the practice page still lay out.
    page.set_viewport_size({"width": 390, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"), full_page=True)

    # The weakest topic's drill button: the practice page, that topic, weak-topic mode, and it says why.
    page.locator("#weakest a.drill").click()
    page.wait_for_url(base + "/practice?topic=BN&weak=1")
    expect(slot.locator(".badge.reason-weak")).to_have_text("薄弱主题：BN")
    page.screenshot(path=str(SCREENSHOTS / "practice-phone.png"), full_page=True)

    # The retention setting: the browser refuses an out-of-range value before posting, a valid one is saved.
    page.goto(base + "/dashboard#settings")
    page.fill("#desired-retention", "0.95")
    page.locator(".retention-form button[type=submit]").click()
    page.wait_for_url(base + "/dashboard?saved=1#settings")
    expect(page.locator(".retention-form")).to_contain_text("已保存")
    expect(page.locator("#desired-retention")).to_have_value("0.95")
