"""Shared by the browser tests: Debian's Chromium through Playwright, a page that fails the test on any
console or page error (CSP violations among them), and a free port for the server under test."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        # Console errors (CSP violations among them) fail the test; requests the test itself aborts do not.
        pg.on("console", lambda m: errors.append(m.text)
              if m.type == "error" and "net::ERR_FAILED" not in m.text else None)
        yield pg
        browser.close()
        assert not errors, errors


@pytest.fixture
def browser_context_no_js():
    """A browser with JavaScript off: the pages' forms must work on their own."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN", java_script_enabled=False)
        yield context
        browser.close()
