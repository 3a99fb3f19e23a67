"""/docs and /redoc render in a real browser (Playwright + Debian's Chromium) with every request off this
server refused, as on a machine without a network: nothing they need is elsewhere, and their CSP (a
violation is a console error, which fails the test) lets nothing else in."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

# The one thing ReDoc's bundle reaches for elsewhere: the logo of its "API docs by Redocly" link, written into
# the bundle. The CSP refuses it before any request leaves (the browser logs that; the image hides itself).
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def offline(page: Page, base: str) -> list[str]:
    """Refuse every request that is not to `base`; the refused URLs."""
    refused: list[str] = []

    def route(r: Route) -> None:
        if r.request.url.startswith(base) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return refused


def test_swagger_ui_renders_offline(clocked_server, page):
    base, _ = clocked_server
    refused = offline(page, base)
    page.goto(base + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Mianjing API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator(".swagger-ui").get_by_text("/api/v1/questions/{question_id}", exact=True).first).to_be_attached()
    assert refused == []


@pytest.mark.console_allows(f"Loading the image '{REDOCLY_LOGO}' violates the following Content Security Policy")
def test_redoc_renders_offline(clocked_server, page):
    base, _ = clocked_server
    refused = offline(page, base)
    page.goto(base + "/redoc")
    expect(page.locator("h1").first).to_contain_text("Mianjing API")
    expect(page.locator("input[placeholder='Search...']")).to_be_visible()
    expect(page.get_by_text("API docs by Redocly")).to_be_visible()
    expect(page.locator("img[alt='redocly logo']")).to_have_count(0)  # refused by the CSP, so it hid itself
    assert refused == []
