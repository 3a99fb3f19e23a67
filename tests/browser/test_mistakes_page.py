"""错题本 in a real browser (issue 20): a wrong practice answer appears with the answer beside the reference,
再练一次 brings the question back, and two correct answers on different days (the app's clock moves a
day) take it off the list into 已移出."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS


def answer_numeric(page: Page, text: str) -> None:
    slot = page.locator("#question-slot")
    expect(slot.locator(".practice-q")).to_have_attribute("data-qid", "s-numeric")
    page.fill("#answer-text", text)
    slot.locator("form.practice-form button[type=submit]").click()
    expect(slot.locator(".check-result")).to_be_visible()


def test_a_mistake_collects_comes_back_and_leaves_after_two_days(clocked_server, page):
    base, clock = clocked_server
    page.goto(base + "/mistakes")
    expect(page.locator(".login-prompt")).to_contain_text("答错的题会自动收进来")
    page.locator(".login-prompt button[type=submit]").click()
    page.wait_for_url(base + "/mistakes")
    expect(page.locator(".empty")).to_have_text("错题本是空的：没有待巩固的题。")

    page.goto(base + "/practice?type=numeric")
    answer_numeric(page, "64")
    expect(page.locator("#question-slot .check-result .verdict")).to_contain_text("不正确")

    page.locator('header nav a[href="/mistakes"]').click()
    card = page.locator("article.mistake")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-question", "s-numeric")
    expect(card.locator(".your-answer pre")).to_have_text("64")
    expect(card.locator(".reference code")).to_have_text("128")
    expect(card.locator(".meta").first).to_contain_text("答错 1 次 / 共作答 1 次")
    expect(page.locator('nav.tabs a[aria-current="page"]')).to_contain_text("待巩固 1")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "mistakes.png"), full_page=True)

    card.locator("a.button", has_text="再练一次").click()
    answer_numeric(page, "128")
    page.goto(base + "/mistakes")
    expect(card.locator(".meta").first).to_contain_text("已在 1/2 个不同的日子答对")
    expect(card.locator(".latest-answer pre")).to_have_text("128")

    clock.advance(days=1)  # the next day: right again, and it leaves the list
    page.goto(base + "/practice?mistakes=1")
    answer_numeric(page, "128.0")
    page.goto(base + "/mistakes")
    expect(page.locator(".empty")).to_be_visible()
    page.locator("nav.tabs a", has_text="已移出").click()
    expect(card).to_have_attribute("data-question", "s-numeric")
    expect(card.locator(".meta").first).to_contain_text("移出")
    expect(card.locator(".meta").first).to_contain_text("答错 1 次 / 共作答 3 次")
    page.goto(base + "/practice?mistakes=1")
    expect(page.locator("#question-slot .empty-state")).to_contain_text("错题本或收藏里没有符合条件的题了")


def test_a_leech_is_suspended_with_a_word_and_resumed_from_its_tab(clocked_server, page):
    base, clock = clocked_server
    page.goto(base + "/dashboard")
    page.locator(".login-prompt button[type=submit]").click()
    page.wait_for_url(base + "/dashboard")
    page.fill("#leech-lapses", "1")
    page.locator(".retention-form button[type=submit]").click()
    expect(page.locator("#leech-lapses:invalid")).to_have_count(1)  # the browser holds it back (min 2)
    page.fill("#leech-lapses", "2")
    page.locator(".retention-form button[type=submit]").click()
    expect(page.locator("#leech-lapses")).to_have_value("2")

    def practise(text: str) -> None:
        page.goto(base + "/practice?type=numeric")
        answer_numeric(page, text)
        clock.advance(days=1)

    for text in ("128", "128", "1", "128"):  # learned, forgotten once, learned again
        practise(text)
    expect(page.locator(".notice.leech")).to_have_count(0)
    practise("1")  # the second lapse
    notice = page.locator("#question-slot .notice.leech")
    expect(notice).to_contain_text("已暂停复习")
    notice.locator("a").click()
    leech = page.locator("article.leech")
    expect(leech).to_have_attribute("data-question", "s-numeric")
    expect(leech.locator(".meta")).to_contain_text("忘了 2 次")
    page.goto(base + "/practice?type=numeric")
    expect(page.locator("#question-slot .empty-state")).to_be_visible()  # never drawn while suspended
    page.goto(base + "/mistakes?state=leeches")
    leech.locator("button[type=submit]").click()
    expect(page.locator(".empty")).to_have_text("没有暂停的难题。")
    page.goto(base + "/reviews")
    expect(page.locator("#question-slot .practice-q")).to_have_attribute("data-qid", "s-numeric")  # due at once
