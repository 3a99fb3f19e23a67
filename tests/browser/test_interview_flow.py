"""A real browser (Playwright + Debian's Chromium) against a real uvicorn server over the fixture content."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.db import upgrade
from tests.browser.conftest import SCREENSHOTS, free_port
from tests.conftest import REPO, VALID


@pytest.fixture
def server(tmp_path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    upgrade(url)
    port = free_port()
    env = {**os.environ, "MIANJING_DATABASE_URL": url, "MIANJING_CONTENT_DIR": str(VALID), "MIANJING_ENV": "test",
           "MIANJING_SECRET_KEY": "browser-test-secret"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            if proc.poll() is not None:
                raise RuntimeError("uvicorn exited: " + proc.stdout.read().decode(errors="replace"))
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("uvicorn did not start")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def go_to_type(page: Page, qtype: str) -> None:
    """Press the position list's button for the question of this type (a POST) and wait for it to show."""
    if page.locator(f'section.question[data-type="{qtype}"]').count():
        return
    page.locator(f'ol.positions button[data-type="{qtype}"]').first.click()
    expect(page.locator(f'section.question[data-type="{qtype}"]')).to_have_count(1)


def wait_saved(page: Page) -> None:
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=10_000)


def test_guest_interview_flow(server, page):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.goto(server + "/")
    expect(page.locator("h2").first).to_contain_text("模拟面试")
    page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)

    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview_url = page.url
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^(10:00|09:5\d)$"))

    # A choice question, answered with the keyboard (number key 2 = option B).
    go_to_type(page, "single")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("2")
    expect(page.locator("#opt-B")).to_be_checked()
    wait_saved(page)

    # The numeric follow-up.
    go_to_type(page, "numeric")
    expect(page.locator(".badge.followup")).to_have_text("追问")
    page.fill("#answer-text", "128")
    wait_saved(page)

    # The generated question: read its numbers from the prompt and compute the output shape.
    go_to_type(page, "generated")
    prompt = page.locator(".prompt").inner_text()
    shape = re.search(r"\((\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)", prompt)
    conv = re.search(r"Conv2d\((\d+),\s*(\d+),\s*kernel_size=(\d+),\s*stride=(\d+),\s*padding=(\d+)\)", prompt)
    n, _, h, w = (int(x) for x in shape.groups())
    _, c_out, k, s, p = (int(x) for x in conv.groups())
    expected = (n, c_out, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
    page.fill("#answer-text", "(" + ", ".join(map(str, expected)) + ")")
    wait_saved(page)

    # The open question, then a reload in the middle: answers and clock survive.
    go_to_type(page, "open")
    page.fill("#answer-text", "对每个通道求均值和方差，标准化后用 gamma 和 beta 做缩放平移。")
    wait_saved(page)
    page.screenshot(path=str(SCREENSHOTS / "interview.png"), full_page=True)
    before = page.locator("#countdown").inner_text()
    page.reload()
    expect(page.locator("#answer-text")).to_have_value(re.compile("gamma 和 beta"))
    after = page.locator("#countdown").inner_text()
    assert after <= before and after.startswith("0")
    go_to_type(page, "numeric")
    expect(page.locator("#answer-text")).to_have_value("128")
    go_to_type(page, "single")
    expect(page.locator("#opt-B")).to_be_checked()
    expect(page.locator("ol.positions .pos.answered")).to_have_count(4)

    # The shortcuts dialog toggles with ? and not while typing.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()

    # Finish (confirm dialog accepted) and read the report.
    page.once("dialog", lambda d: d.accept())
    page.locator("#finish-form button").click()
    page.wait_for_url(interview_url + "/report")
    expect(page.locator("h1")).to_contain_text("面试报告")
    assert page.locator("svg.bar-chart").count() == 1
    expect(page.locator('article[data-type="open"] .verdicts .note')).to_contain_text("要点由程序逐句自动判断")
    expect(page.locator('article[data-type="open"] .verdict')).to_contain_text("覆盖 3/3 要点")
    expect(page.locator('article[data-type="open"] .verdict')).not_to_contain_text("正确")
    page.locator('article[data-type="open"] summary').click()  # each question is collapsed under its line
    expect(page.locator('article[data-type="numeric"]')).to_contain_text("正确")
    expect(page.locator('article[data-type="generated"]')).to_contain_text("正确")
    page.locator('article[data-type="open"] button[data-rate="good"]').click()
    expect(page.locator('article[data-type="open"] button[data-rate="good"]')).to_have_attribute("aria-pressed", "true")
    page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)

    # Phone width still lays out.
    page.set_viewport_size({"width": 390, "height": 800})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "report-phone.png"), full_page=False)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(SCREENSHOTS / "report-phone-dark.png"), full_page=False)


def test_countdown_uses_server_clock_warns_and_finishes_at_zero(clocked_server, page):
    """The client clock is years off; the countdown still follows the server's deadline, and at zero the
    server (whose clock has reached the deadline too) takes the time-up finish."""
    from datetime import datetime

    server, clock = clocked_server
    page.clock.install(time=datetime(2001, 1, 1, 8, 0, 0))
    page.goto(server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview_url = page.url
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^(10:00|09:5\d)$"))
    warning = page.locator("#warning")
    expect(warning).to_have_attribute("aria-live", "assertive")
    expect(page.locator("#countdown")).to_have_attribute("aria-live", "off")
    expect(warning).to_have_text("")
    go_to_type(page, "numeric")
    page.fill("#answer-text", "128")  # pending in localStorage, saved by the debounce
    page.clock.run_for(5 * 60 * 1000 + 2000)
    expect(warning).to_have_text("还剩 5 分钟。")
    page.clock.run_for(4 * 60 * 1000)
    expect(warning).to_have_text("还剩 1 分钟。")
    page.screenshot(path=str(SCREENSHOTS / "interview-warning.png"))
    clock.advance(minutes=10)  # the server's deadline
    page.clock.run_for(61 * 1000)
    page.wait_for_url(interview_url + "/report", timeout=15_000)
    expect(page.locator('article[data-type="numeric"]')).to_contain_text("128")


def test_offline_save_retries_and_keeps_answer(server, page):
    page.goto(server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    go_to_type(page, "open")
    page.route("**/api/v1/interviews/*/answers/*", lambda route: route.abort())
    page.fill("#answer-text", "离线时写的答案")
    expect(page.locator("#save-status")).to_have_text("离线，重试中…", timeout=10_000)
    pending = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('mj:pending:'))")
    assert len(pending) == 1
    # A reload while offline still shows the unacknowledged answer from localStorage.
    page.reload()
    expect(page.locator("#answer-text")).to_have_value("离线时写的答案")
    page.unroute("**/api/v1/interviews/*/answers/*")
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=20_000)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('mj:pending:')).length") == 0
    page.reload()
    expect(page.locator("#answer-text")).to_have_value("离线时写的答案")


def test_keyboard_moves_on_after_the_answer_is_saved_and_never_on_a_get(server, page):
    """Ctrl+Enter posts the move to the next question; the answer typed just before is sent first."""
    page.goto(server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview_url = page.url
    moves: list[str] = []  # requests and responses of saves and moves, in the order the page saw them
    page.on("request", lambda r: moves.append(r.method + " " + r.url.split(server)[1])
            if "/position" in r.url or "/answers/" in r.url else None)
    page.on("response", lambda r: moves.append("done " + r.request.method + " " + r.url.split(server)[1])
            if "/answers/" in r.url else None)
    first = page.locator("section.question").get_attribute("data-type")
    assert page.locator("#interview").get_attribute("data-position") == "0"
    if first in ("single", "multiple"):
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("1")
    else:
        page.locator("#answer-text").press_sequentially("first answer")
    page.keyboard.press("Control+Enter")  # at once, before the autosave's debounce
    expect(page.locator("#interview")).to_have_attribute("data-position", "1")
    assert page.url == interview_url  # htmx swapped the question; the address stays the interview's
    saved = moves.index(f"done PUT /api/v1{interview_url.split(server)[1]}/answers/0")
    posted = moves.index(f"POST {interview_url.split(server)[1]}/position")
    assert saved < posted, moves  # the answer was stored before the move was even asked for
    expect(page.locator('ol.positions .pos[data-position="0"]')).to_have_class(re.compile(r"\banswered\b"))
    # Focus went to the new question, the countdown still runs and Ctrl+Enter keeps working.
    expect(page.locator("#qhead")).to_be_focused()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#interview")).to_have_attribute("data-position", "2")
    # A GET with ?q= shows the current question and moves nothing.
    page.goto(interview_url + "?q=0")
    expect(page.locator("#interview")).to_have_attribute("data-position", "2")
    # The previous button goes back; the first answer came from the server, not from localStorage.
    page.evaluate("localStorage.clear()")
    page.locator('button[data-move="prev"]').click()
    expect(page.locator("#interview")).to_have_attribute("data-position", "1")
    page.locator('ol.positions .pos[data-position="0"]').click()
    expect(page.locator("#interview")).to_have_attribute("data-position", "0")
    if first in ("single", "multiple"):
        expect(page.locator('input[name="choice"][data-index="1"]')).to_be_checked()
    else:
        expect(page.locator("#answer-text")).to_have_value("first answer")


def test_moving_works_without_javascript(server, browser_context_no_js):
    page = browser_context_no_js.new_page()
    page.goto(server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    page.locator('button[data-move="next"]').click()
    expect(page.locator("#interview")).to_have_attribute("data-position", "1")
    page.locator('ol.positions .pos[data-position="3"]').click()
    expect(page.locator("#interview")).to_have_attribute("data-position", "3")


def test_abandoning_asks_first_then_ends_the_interview_unscored(server, page):
    page.goto(server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview_url = page.url
    # Said no to: nothing happens.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="放弃面试").click()
    page.goto(interview_url)  # still running: an abandoned one would send this to its report page
    expect(page.locator("#abandon-form")).to_be_visible()
    assert page.url == interview_url
    # Said yes to: the page that says it was abandoned, and the history says so too.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="放弃面试").click()
    page.wait_for_url(interview_url + "/report")
    expect(page.locator("#abandoned")).to_contain_text("面试已放弃")
    page.goto(server + "/history")
    expect(page.locator("table")).to_contain_text("已放弃")
    # The round can be started again from there.
    page.goto(interview_url + "/report")
    page.get_by_role("button", name="重新开始这一轮").click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    assert page.url != interview_url


@pytest.mark.console_allows("status of 409")  # the start that finds the round running answers its page with 409
def test_starting_a_running_round_offers_to_continue_or_to_abandon_and_start_again(server, page):
    def start_mini() -> None:
        page.goto(server + "/")
        page.locator('li[data-round="mini"] button[type=submit]').click()

    start_mini()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    running = page.url
    start_mini()
    expect(page.locator("#running h1")).to_have_text("这一轮的面试还在进行")
    # 继续: back to the running interview.
    page.locator("#resume").click()
    page.wait_for_url(running)
    # 放弃并重新开始, said no to: nothing happens, the running interview stays.
    start_mini()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="放弃并重新开始").click()
    expect(page.locator("#running")).to_be_visible()
    page.goto(server + "/history")
    expect(page.locator("table tbody tr")).to_have_count(1)
    # Said yes to: the running one is abandoned and a new one starts.
    start_mini()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="放弃并重新开始").click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    assert page.url != running
    page.goto(server + "/history")
    expect(page.locator("table tbody tr")).to_have_count(2)
    expect(page.locator("table tbody tr").nth(1)).to_contain_text("已放弃")


def test_one_edit_then_leaving_the_field_saves_once(server, page):
    """An edit is saved once, whether the field is left before its autosave or after it; leaving a field
    unchanged, or changing it back before it was sent, saves nothing."""
    page.goto(server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    puts: list[str] = []
    page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" and "/answers/" in r.url else None)

    def settle() -> None:
        page.wait_for_timeout(1500)  # past the autosave's 800 ms debounce, and a save's round trip

    go_to_type(page, "open")
    field = page.locator("#answer-text")
    field.focus()
    page.keyboard.press("Tab")  # left unchanged: nothing to save
    settle()
    assert puts == []
    field.press_sequentially("按通道求均值")
    wait_saved(page)  # the autosave after typing
    page.keyboard.press("Tab")  # then the field is left (its change event)
    settle()
    assert len(puts) == 1, puts
    field.press_sequentially("和方差")
    page.keyboard.press("Tab")  # left before the autosave: the change sends it, the debounce sends nothing more
    settle()
    wait_saved(page)
    assert len(puts) == 2, puts
    field.press_sequentially("x")
    page.keyboard.press("Backspace")  # taken back before it was sent
    page.keyboard.press("Tab")
    settle()
    assert len(puts) == 2, puts
    # A radio: its input and change events are one edit, one save.
    go_to_type(page, "single")
    page.locator('input[name="choice"]').first.check()
    settle()
    wait_saved(page)
    assert len(puts) == 3, puts


@pytest.mark.console_allows("status of 404")  # the signed-out guest's interview is not found
def test_a_guest_logging_out_is_warned_first_and_may_keep_the_work(server, page):
    page.goto(server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    interview_url = page.url
    page.get_by_role("button", name="退出").click()
    expect(page.locator("#logout-guest h1")).to_contain_text("退出前请注意")
    expect(page.locator('#logout-guest li[data-count="interviews"]')).to_have_text("模拟面试：1 场")
    # Keeping it: the keep-account form.
    page.locator("#keep-work").click()
    page.wait_for_url(server + "/account/keep")
    expect(page.locator("h1")).to_have_text("保留这个游客账号")
    # Signing out anyway: signed out, the interview out of reach.
    page.get_by_role("button", name="退出").click()
    page.get_by_role("button", name="仍然退出（记录会丢失）").click()
    page.wait_for_url(server + "/")
    expect(page.get_by_role("link", name="登录")).to_be_visible()
    page.goto(interview_url)
    expect(page.locator("main")).to_contain_text("找不到")


def test_typing_while_a_move_is_on_its_way_is_not_hidden_by_its_older_page(server, page):
    """Pressing a question's button and typing at once into the field still showing: the save is
    acknowledged before the moved-to part arrives, which the server rendered before that save. The page
    shows what was saved, not the older render, and does not save it again."""
    page.goto(server + "/")
    page.locator('li[data-round="mini"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f]{32}$"))
    go_to_type(page, "open")
    puts: list[int] = []
    page.on("response", lambda r: puts.append(r.status) if r.request.method == "PUT" else None)
    held_back: list[str] = []

    def hold_back(route):  # the server's answer to the move, delivered after the save's (a slow network)
        response = route.fetch()
        held_back.append(route.request.url)
        time.sleep(2.5)  # the browser goes on meanwhile: the autosave's PUT leaves and is answered
        route.fulfill(response=response)

    page.route("**/position", hold_back)
    page.locator('ol.positions button[data-type="open"]').first.click()  # the question showing: a move to itself
    page.locator("#answer-text").fill("按通道求均值和方差")
    page.wait_for_timeout(4000)  # past the autosave, and past the held-back move
    assert held_back and puts == [200]
    expect(page.locator("#answer-text")).to_have_value("按通道求均值和方差")
    wait_saved(page)
    page.wait_for_timeout(1500)
    assert puts == [200]
    page.reload()
    expect(page.locator("#answer-text")).to_have_value("按通道求均值和方差")
