"""The browser tells the server its time zone (static/app.js: Intl.DateTimeFormat().resolvedOptions().timeZone
to PATCH /api/v1/me/settings, with the page's CSRF token), once, and the candidate's days follow it. Chromium
runs in Asia/Shanghai (UTC+8) here.
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import CHROMIUM_ARGS
from tests.conftest import T0


def test_the_browser_reports_its_zone_once_and_the_days_follow_it(clocked_server):
    base, clock = clocked_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN",
                                          timezone_id="Asia/Shanghai")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            sent: list[str] = []
            page.on("request", lambda r: sent.append(r.post_data or "") if r.method == "PATCH" else None)

            page.goto(base + "/practice?type=single")  # nobody signed in: nothing to tell
            expect(page.locator(".login-prompt")).to_be_visible()
            assert page.evaluate("document.body.dataset.timezone") is None and sent == []

            with page.expect_response(lambda r: r.url.endswith("/api/v1/me/settings") and r.request.method == "PATCH"
                                      ) as reported:
                page.locator(".login-prompt button[type=submit]").click()  # a guest, back on the practice page
            assert reported.value.status == 200 and reported.value.json()["timezone"] == "Asia/Shanghai"
            assert sent == ['{"timezone":"Asia/Shanghai"}']
            page.reload()
            expect(page.locator("body")).to_have_attribute("data-timezone", "Asia/Shanghai")
            page.goto(base + "/dashboard")
            expect(page.locator("#timezone-note")).to_contain_text("Asia/Shanghai")
            assert len(sent) == 1  # stored: not sent again

            # 17:00 UTC is 01:00 on the 24th in Shanghai: an answer then is the 24th's.
            clock.now = T0 + timedelta(hours=5)
            page.goto(base + "/practice?type=single")
            page.locator("label[for=opt-B]").click()
            page.locator("#question-slot form.practice-form button[type=submit]").click()
            expect(page.locator("#question-slot .check-result")).to_be_visible()
            page.goto(base + "/dashboard")
            day = page.locator("#activity svg.heatmap rect.day").filter(
                has=page.locator('title:text-is("2026-11-24：1 次作答")'))
            expect(day).to_have_count(1)
            stats = page.request.get(base + "/api/v1/me/stats").json()
            assert list(stats["forecast"])[0] == "2026-11-24" and stats["due_now"] == 1
            assert errors == []
        finally:
            browser.close()
