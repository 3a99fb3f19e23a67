"""The account page in Chromium (issue 15): a registered candidate changes the password through the page,
downloads the archive, signs out and logs in with the new password (the old one no longer works)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

OLD, NEW = "old-pass-1234", "new-pass-5678"


def log_in(page: Page, base: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", "alice")
    page.fill("#password", password)
    page.locator("main button[type=submit]").click()


@pytest.mark.console_allows("401", "403")  # the refused login and the wrong current password, on purpose
def test_the_password_is_changed_on_the_account_page_and_the_new_one_logs_in(page: Page, clocked_server):
    base, _ = clocked_server
    page.goto(base + "/register")
    page.fill("#username", "alice")
    page.fill("#password", OLD)
    page.locator("main button[type=submit]").click()
    page.get_by_role("link", name="账号").click()
    expect(page).to_have_url(base + "/account")
    expect(page.get_by_role("heading", name="我的账号")).to_be_visible()

    page.fill("#current-password", "not-the-password")
    page.fill("#new-password", NEW)
    page.get_by_role("button", name="修改密码").click()
    expect(page.locator("#password-error")).to_have_text("当前密码不对。")
    expect(page.locator("#current-password")).to_have_value("")  # nothing sensitive kept

    page.fill("#current-password", OLD)
    page.fill("#new-password", NEW)
    page.get_by_role("button", name="修改密码").click()
    expect(page.locator("#password-changed")).to_be_visible()

    with page.expect_download() as download:
        page.locator("#archive-download").click()
    archive = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert archive["account"]["username"] == "alice" and archive["format"] == "mianjing-archive/1"

    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("link", name="登录")).to_be_visible()
    log_in(page, base, OLD)
    expect(page.locator("main .error")).to_contain_text("用户名或密码不对")
    log_in(page, base, NEW)
    expect(page.locator("header .who")).to_have_text("alice")
