"""The imported types (issue #19) in a real browser (Playwright + Debian's Chromium): each answered in
practice, its feedback shown in place and typeset; a matching answer autosaved in an interview (an object),
kept across a move and a reload, and scored in the report; a description shown with nothing to answer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, clocked_app
from tests.browser.test_candidate_feedback import as_guest, check, finish, result
from tests.conftest import Clock, content_with_types

REFUSALS = pytest.mark.console_allows("status of 422")


@pytest.fixture
def types_server(tmp_path) -> Iterator[tuple[str, Clock]]:
    with clocked_app(tmp_path, content_dir=content_with_types(tmp_path / "content")) as served:
        yield served


def fresh(page: Page, base: str, qtype: str) -> None:
    page.goto(f"{base}/practice?type={qtype}")
    expect(page.locator("#question-slot .practice-q")).to_have_attribute("data-type", qtype)


@REFUSALS
def test_each_new_type_is_answered_in_practice_with_its_feedback(types_server, page):
    base, _ = types_server
    as_guest(page, base, "/practice?type=truefalse")

    # True/false: radios; the chosen side's feedback under it, markdown rendered.
    page.locator("label[for=opt-T]").click()
    check(page)
    expect(result(page).locator(".verdict")).to_contain_text("✗ 不正确")
    feedback = page.locator('#question-slot .opt-feedback[data-key="T"]')
    expect(feedback.locator("strong")).to_have_text("滑动平均")
    expect(page.locator("#question-slot fieldset")).to_have_count(1)  # the marked options took the form's place

    # Single choice with fractions: half credit, the option's feedback typeset by KaTeX.
    page.goto(base + "/questions/t-single")
    page.keyboard.press("2")  # the number keys pick options
    check(page)
    expect(result(page).locator(".verdict")).to_contain_text("50%")
    expect(page.locator('#question-slot .opt-feedback[data-key="B"] .katex').first).to_be_visible()

    # Short answer: an unreadable one is refused with its hint, a partial one gets its answer's feedback.
    fresh(page, base, "short")
    page.fill("#answer-text", "   ")
    check(page)
    expect(page.locator("#question-slot .form-status")).not_to_be_empty()
    page.fill("#answer-text", "ｒｅｌｕ6")
    check(page)
    expect(result(page).locator(".verdict")).to_contain_text("50%")
    expect(result(page).locator(".answer-feedback")).to_contain_text("方向对，但它本身就叫 ReLU。")
    expect(result(page).locator("pre.answer-text")).to_have_text("ReLU")

    # Numeric with several answers: the range's credit and feedback.
    page.goto(base + "/questions/t-num")
    page.fill("#answer-text", "5")
    check(page)
    expect(result(page).locator(".verdict")).to_contain_text("50%")
    expect(result(page).locator(".answer-feedback")).to_contain_text("少算了一层。")

    # Matching: one select per left item; a verdict per row.
    fresh(page, base, "matching")
    selects = page.locator("#question-slot select[name=right]")
    expect(selects).to_have_count(3)
    selects.nth(0).select_option("N、H、W")
    selects.nth(1).select_option("N、C")
    check(page)
    rows = result(page).locator("table.pairs tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_class("is-right")
    expect(rows.nth(1)).to_have_class("is-wrong")
    expect(result(page).locator(".verdict")).to_contain_text("33%")
    expect(selects.nth(0)).to_be_disabled()
    page.screenshot(path=str(SCREENSHOTS / "practice-matching.png"), full_page=True)

    # A self-rated essay: the reference and the rating, no coverage table.
    page.goto(base + "/questions/t-essay")
    page.fill("#answer-text", "我们发现标注噪声很多，先抽样复核再清洗。")
    check(page)
    expect(result(page).locator(".verdict")).to_have_text("自评题")
    expect(result(page).locator(".reference")).to_contain_text("说清数据的问题是什么")
    expect(result(page).locator('[data-part="keypoints"]')).to_have_count(0)
    result(page).locator('button[data-rate="good"]').click()
    expect(result(page).locator(".rate-status")).to_have_text("已记录")

    # A description: its text, nothing to answer.
    page.goto(base + "/questions/t-desc")
    expect(page.locator(".description-note")).to_be_visible()
    expect(page.locator("form.practice-form")).to_have_count(0)


def test_an_interview_autosaves_a_matching_answer_and_reports_it(types_server, page):
    base, _ = types_server
    page.goto(base + "/")
    page.locator('li[data-round="types-round"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview = page.url
    expect(page.locator("section.question")).to_have_attribute("data-type", "description")
    expect(page.locator("#answer-form")).to_have_count(0)

    page.locator('ol.positions button[data-type="matching"]').click()
    expect(page.locator("section.question")).to_have_attribute("data-type", "matching")
    saves: list[object] = []
    page.on("request", lambda r: saves.append(json.loads(r.post_data)["answer"])
            if r.method == "PUT" and "/answers/" in r.url else None)
    selects = page.locator("#answer-form select[name=right]")
    selects.nth(0).select_option("N、H、W")
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)
    selects.nth(1).select_option("C、H、W")
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)
    assert saves[-1] == {"BatchNorm": "N、H、W", "LayerNorm": "C、H、W"}, saves

    # Kept across a move and a reload: the selects show what the server holds.
    page.locator('ol.positions button[data-type="truefalse"]').click()
    expect(page.locator("section.question")).to_have_attribute("data-type", "truefalse")
    page.locator("label[for=opt-F]").click()
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)
    assert saves[-1] == "F"
    page.reload()
    page.locator('ol.positions button[data-type="matching"]').click()
    expect(page.locator("#answer-form select[name=right]").nth(1)).to_have_value("C、H、W")
    expect(page.locator("#answer-form select[name=right]").nth(2)).to_have_value("")

    finish(page, interview)
    article = page.locator('article[data-type="matching"]')
    article.locator("summary").click()
    rows = article.locator("table.pairs tbody tr")
    expect(rows).to_have_count(3)
    expect(article.locator("summary")).to_contain_text("67")
    tf = page.locator('article[data-type="truefalse"]')
    tf.locator("summary").click()
    expect(tf.locator(".opt-feedback .katex").first).to_be_visible()  # 对，推理时用滑动平均 $\mu_{run}$
