"""Shared by the browser tests: Debian's Chromium through Playwright, a page that fails the test on any
console or page error (CSP violations among them), a free port for the server under test, and a server in
a thread whose clock the test moves."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Page, sync_playwright

from app.db import upgrade
from app.main import create_app
from tests.conftest import Clock, make_settings

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "console_allows(*texts): console errors containing one of these texts do "
                            "not fail the test (the browser logs every 4xx a test provokes on purpose)")


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """A real uvicorn serving `app` in a thread (so a test can reach into app.state); its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    else:
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def clocked_app(folder: Path, **settings) -> Iterator[tuple[str, Clock]]:
    """The app over a fresh SQLite file in `folder` (and these settings), served in a thread with a test
    clock (app.state.clock): its base URL and the clock, which moves only when the test moves it."""
    url = f"sqlite:///{folder / 'browser.db'}"
    upgrade(url)
    app = create_app(make_settings(database_url=url, **settings))
    clock = Clock()
    app.state.clock = clock
    with serve_in_thread(app) as base:
        yield base, clock


@pytest.fixture
def clocked_server(tmp_path) -> Iterator[tuple[str, Clock]]:
    """The app over the fixture content with a test clock, in a thread: its base URL and the clock."""
    with clocked_app(tmp_path) as served:
        yield served


@pytest.fixture
def page(request) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        # Console errors (CSP violations among them) fail the test; requests the test itself aborts do not,
        # nor what the test's console_allows marker names.
        marker = request.node.get_closest_marker("console_allows")
        allowed = ("net::ERR_FAILED", *(marker.args if marker else ()))
        pg.on("console", lambda m: errors.append(m.text)
              if m.type == "error" and not any(a in m.text for a in allowed) else None)
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
