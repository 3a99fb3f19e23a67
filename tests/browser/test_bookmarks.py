"""Bookmarks and notes in a real browser (Playwright + Debian's Chromium): a guest stars a question in
practice and writes a note with math, sees both on the bookmarks page, and again when the question comes
back in practice; the star and the note are htmx swaps of the server's fragment, typeset by KaTeX."""

from __future__ import annotations

import shutil

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, clocked_app
from tests.conftest import VALID

NOTE = "BN 推理用滑动平均：$\\hat{x} = \\frac{x - \\mu}{\\sigma}$，**别用当前 batch**"


def as_guest(page: Page, base: str, url: str) -> None:
    page.goto(base + url)
    page.locator(".login-prompt button[type=submit]").click()
    page.wait_for_url(base + url)


def assert_note_typeset(mark) -> None:
    note = mark.locator(".my-note .note-body")
    expect(note.locator(".katex").first).to_be_visible()
    expect(note.locator("strong")).to_have_text("别用当前 batch")
    # Outside the typeset formula no TeX is left (KaTeX keeps the source in its hidden MathML annotation).
    bare = note.evaluate("el => { const c = el.cloneNode(true); c.querySelectorAll('.katex').forEach(k => k.remove());"
                         " return c.textContent; }")
    assert "$" not in bare and "\\frac" not in bare, bare


def test_star_and_note_in_practice_show_on_the_bookmarks_page_and_when_the_question_comes_back(clocked_server,
                                                                                               page: Page):
    base, _ = clocked_server
    as_guest(page, base, "/practice?type=open")  # the fixture bank's one open item: it comes back
    mark = page.locator("#question-slot .qmark")
    expect(mark).to_have_attribute("data-qid", "s-open")
    star = mark.locator("button.star")
    expect(star).to_have_text("☆ 收藏")
    star.click()
    expect(page.locator("#question-slot .qmark button.star")).to_have_text("★ 已收藏")
    expect(page.locator("#question-slot .qmark button.star")).to_have_attribute("aria-pressed", "true")

    page.locator("#question-slot .qmark .note-editor summary").click()
    page.fill("#question-slot .qmark textarea[name=note]", NOTE)
    page.locator("#question-slot .qmark .note-form button[type=submit]").click()
    mark = page.locator("#question-slot .qmark")
    expect(mark.locator(".my-note")).to_be_visible()
    assert_note_typeset(mark)
    # The answer form is still the page's: the widget's swap left the question alone.
    expect(page.locator("#question-slot form.practice-form")).to_be_visible()

    page.locator("header.site a[href='/bookmarks']").click()
    page.wait_for_url(base + "/bookmarks")
    item = page.locator("li.bookmark[data-qid='s-open']")
    expect(item).to_have_count(1)
    expect(item.locator("button.star")).to_have_text("★ 已收藏")
    assert_note_typeset(item.locator(".qmark"))
    page.screenshot(path=str(SCREENSHOTS / "bookmarks.png"), full_page=True)

    # The question comes back in practice (the next one: the only open item again), note and star with it.
    page.goto(base + "/practice?type=open")
    page.locator("#question-slot .next-question").click()
    mark = page.locator("#question-slot .qmark[data-qid='s-open']")
    expect(mark.locator("button.star")).to_have_text("★ 已收藏")
    assert_note_typeset(mark)

    # From the bookmarks page to the question's own page; unstarred there, it leaves the list, the note stays.
    page.goto(base + "/bookmarks")
    page.locator("li.bookmark[data-qid='s-open'] h2 a").click()
    page.wait_for_url(base + "/questions/s-open")
    page.locator(".qmark button.star").click()
    expect(page.locator(".qmark button.star")).to_have_text("☆ 收藏")
    assert_note_typeset(page.locator(".qmark"))
    page.goto(base + "/bookmarks")
    expect(page.locator("li.bookmark")).to_have_count(0)


def test_a_star_and_a_note_survive_a_content_reload_that_renames_the_question(tmp_path, page: Page):
    """The admin publishes a version in which s-shape became s-shape-v2 (`replaces: [s-shape]`): the star and
    the note follow it, on the bookmarks page and on the question itself."""
    content = tmp_path / "content"
    shutil.copytree(VALID, content)
    with clocked_app(tmp_path, content_dir=content, admin_token="admin-token-for-the-reload-test") as (base, _):
        as_guest(page, base, "/practice?type=shape")
        mark = page.locator("#question-slot .qmark[data-qid='s-shape']")
        mark.locator("button.star").click()
        expect(page.locator("#question-slot .qmark button.star")).to_have_text("★ 已收藏")
        page.locator("#question-slot .qmark .note-editor summary").click()
        page.fill("#question-slot .qmark textarea[name=note]", NOTE)
        page.locator("#question-slot .qmark .note-form button[type=submit]").click()
        expect(page.locator("#question-slot .qmark .my-note")).to_be_visible()

        bank = content / "banks" / "sample.md"
        text = bank.read_text(encoding="utf-8")
        assert text.count("## s-shape 形状\n```yaml\n") == 1
        bank.write_text(text.replace("## s-shape 形状\n```yaml\n", "## s-shape-v2 形状\n```yaml\nreplaces: [s-shape]\n"),
                        encoding="utf-8")
        r = httpx.post(base + "/api/v1/admin/reload", headers={"Authorization": "Bearer admin-token-for-the-reload-test"})
        assert r.status_code == 200, r.text

        page.goto(base + "/bookmarks")
        item = page.locator("li.bookmark")
        expect(item).to_have_count(1)
        expect(item).to_have_attribute("data-qid", "s-shape-v2")
        assert_note_typeset(item.locator(".qmark"))
        page.goto(base + "/questions/s-shape-v2")
        expect(page.locator(".qmark button.star")).to_have_text("★ 已收藏")
        assert_note_typeset(page.locator(".qmark"))
