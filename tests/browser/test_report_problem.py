"""纠错 in a real browser (issue 20): under a practice check's result (put in place by static/app.js) the form
opens, sends with htmx and says so in place; the report reaches the admins' queue."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from app.db import request_session, upgrade
from app.main import create_app
from app.models import ProblemReport
from tests.browser.conftest import serve_in_thread
from tests.conftest import make_settings


def test_a_report_from_a_practice_check_is_sent_in_place(tmp_path, page: Page):
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    upgrade(url)
    app = create_app(make_settings(database_url=url))
    with serve_in_thread(app) as base:
        send_a_report(base, page)
    with request_session(app.state.engine) as db:
        stored = db.exec(select(ProblemReport)).all()
    assert [(r.question_id, r.kind, r.comment, r.answer) for r in stored] == [
        ("s-numeric", "unclear", "题目没说是否含 bias", "64")]


def send_a_report(base: str, page: Page) -> None:
    page.goto(base + "/mistakes")  # its prompt makes a guest (an account: 纠错 needs one)
    page.locator(".login-prompt button[type=submit]").click()
    page.wait_for_url(base + "/mistakes")
    page.goto(base + "/practice?type=numeric")
    slot = page.locator("#question-slot")
    page.fill("#answer-text", "64")
    slot.locator("form.practice-form button[type=submit]").click()
    box = slot.locator(".check-result .report-problem")
    expect(box).to_be_visible()
    box.locator("summary").click()
    box.locator('input[value="unclear"]').check()
    box.locator("textarea").fill("题目没说是否含 bias")
    box.locator("button.report-send").click()
    expect(slot.locator(".report-problem [role=status]")).to_contain_text("已提交")
    expect(page).to_have_url(base + "/practice?type=numeric")  # in place: the page did not move
