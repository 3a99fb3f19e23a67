"""The star and note widget on the pages (practice, reviews, a question's page, the report), its htmx posts,
and the bookmarks page with its filters; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.test_web_pages import csrf_of, start_guest

HTMX = {"HX-Request": "true"}


@pytest.fixture
def web(clocked_env) -> tuple[TestClient, dict[str, str]]:
    """A guest signed in in the browser, and the page's CSRF header."""
    client, _, _ = clocked_env
    r = client.post("/guest", data={"csrf_token": csrf_of(client.get("/practice").text), "next": "/practice"},
                    follow_redirects=False)
    assert r.status_code == 303
    return client, {"X-CSRF-Token": csrf_of(client.get("/practice").text)}


def widget(html: str, qid: str) -> str:
    found = re.search(rf'<div class="qmark no-print" id="mark-{re.escape(qid)}".*?</form>\s*</(?:details|div)>\s*</div>',
                      html, re.S)
    assert found, html[:2000]
    return found.group(0)


def post_star(client, token, qid, starred="1", back="/practice", **headers):
    return client.post(f"/marks/{qid}/star", data={"starred": starred, "back": back},
                       headers={**token, **HTMX, **headers})


def post_note(client, token, qid, note, back="/practice"):
    return client.post(f"/marks/{qid}/note", data={"note": note, "back": back}, headers={**token, **HTMX})


def test_practice_shows_the_widget_and_htmx_stars_and_writes_a_note(web):
    client, token = web
    page = client.get("/practice").text
    qid = re.search(r'<section class="card practice-q" data-qid="([^"]+)"', page).group(1)
    assert "☆ 收藏" in widget(page, qid)
    r = post_star(client, token, qid)
    assert r.status_code == 200 and r.text.lstrip().startswith('<div class="qmark')  # the fragment alone
    assert 'aria-pressed="true"' in r.text and "★ 已收藏" in r.text
    r = post_note(client, token, qid, "记住 $\\gamma$\r\n\r\n<img src=x onerror=alert(1)>")
    assert r.status_code == 200
    assert '<span class="math inline">\\gamma</span>' in r.text
    assert "<img" not in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text
    # The question comes back (its own page, the bookmarks page): the star and the note with it.
    for html in (client.get(f"/questions/{qid}").text, client.get("/bookmarks").text):
        mine = widget(html, qid)
        assert "★ 已收藏" in mine and '<span class="math inline">\\gamma</span>' in mine
    r = post_star(client, token, qid, starred="0")
    assert "☆ 收藏" in r.text and "math inline" in r.text  # unstarred, the note stays
    assert "还没有收藏的题目" in client.get("/bookmarks").text


def test_a_form_post_without_htmx_goes_back_and_needs_the_csrf_token(web):
    client, token = web
    r = client.post("/marks/s-open/star", data={"starred": "1", "back": "/questions/s-open",
                                                "csrf_token": token["X-CSRF-Token"]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/questions/s-open"
    r = client.post("/marks/s-open/star", data={"starred": "1", "back": "https://evil.example/"},
                    headers=token, follow_redirects=False)
    assert r.headers["location"] == "/bookmarks"  # never another site
    assert client.post("/marks/s-open/note", data={"note": "x"}).status_code == 403  # no token
    assert client.post("/marks/s-open/star", data={"starred": "0"}, headers=HTMX).status_code == 403
    assert "★ 已收藏" in widget(client.get("/questions/s-open").text, "s-open")
    assert post_star(client, token, "no-such").status_code == 404


def test_a_note_over_the_cap_comes_back_in_its_widget_with_the_text_kept(web):
    client, token = web
    limit = client.app.state.settings.max_note_chars
    r = post_note(client, token, "s-open", "字" * (limit + 1))
    assert r.status_code == 422
    assert r.headers["HX-Retarget"] == "#mark-s-open" and r.headers["HX-Reswap"] == "outerHTML"
    assert f"笔记最多 {limit} 字，现在是 {limit + 1} 字" in r.text and "字" * (limit + 1) in r.text
    assert "my-note" not in widget(client.get("/questions/s-open").text, "s-open")  # nothing stored


def test_anonymous_visitors_see_no_widget_and_are_asked_to_start(clocked_env):
    client, _, _ = clocked_env
    assert "qmark" not in client.get("/practice").text
    page = client.get("/bookmarks").text
    assert "收藏和笔记属于你自己的账号" in page and 'name="next" value="/bookmarks"' in page
    token = {"X-CSRF-Token": csrf_of(client.get("/practice").text)}
    assert post_star(client, token, "s-open").status_code == 404  # nobody's: nothing to mark


def test_the_bookmarks_page_filters_and_pages(web):
    client, token = web
    for qid in ("s-single", "s-open", "s-numeric"):
        assert post_star(client, token, qid).status_code == 200
    page = client.get("/bookmarks").text
    assert '<a href="/bookmarks"' in page and 'aria-current="page">收藏</a>' in page  # the nav link
    titles = re.findall(r'<li class="card bookmark" data-qid="([^"]+)"', page)
    assert sorted(titles) == ["s-numeric", "s-open", "s-single"]
    assert re.findall(r'data-qid="([^"]+)"', client.get("/bookmarks?type=open").text)[:1] == ["s-open"]
    assert "没有符合筛选条件的收藏" in client.get("/bookmarks?type=code").text
    assert "<li class=\"card bookmark\"" not in client.get("/bookmarks?bank=nope").text
    assert client.get("/bookmarks?cursor=garbage").status_code == 200  # a hand-edited URL: the first page
    assert "My bookmarks" in client.get("/bookmarks?lang=en").text


def test_the_report_shows_my_star_and_note_on_each_question_and_a_shared_one_does_not(clocked_env):
    client, _, _ = clocked_env
    loc = start_guest(client)
    csrf = csrf_of(client.get(loc).text)
    assert client.put(f"/api/v1{loc}/answers/0", json={"answer": "均值方差"},
                      headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post(f"{loc}/finish", data={"csrf_token": csrf}).status_code == 200
    token = {"X-CSRF-Token": csrf}
    assert post_note(client, token, "s-open", "面试里答漏了 **推理**", back=f"{loc}/report").status_code == 200
    report = client.get(f"{loc}/report").text
    mine = widget(report, "s-open")
    assert "<strong>推理</strong>" in mine and f'name="back" value="{loc}/report"' in mine
    assert "☆ 收藏" in widget(report, "s-single")
    # The question is folded in a <details> already: the editor shows at once, and stays so after a post.
    assert "<details" not in mine and 'name="editor" value="unfolded"' in mine
    r = client.post("/marks/s-open/note", data={"note": "改", "back": f"{loc}/report", "editor": "unfolded"},
                    headers={**token, **HTMX})
    assert r.status_code == 200 and "<details" not in r.text and 'name="editor" value="unfolded"' in r.text
    r = client.post(f"{loc}/share", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    share = re.search(r'value="(https?://[^"]+/shared/[^"]+)"', client.get(f"{loc}/report").text).group(1)
    r = TestClient(client.app).get(urlsplit(share).path)  # anyone with the link
    assert r.status_code == 200
    shared = r.text
    assert 'data-position="0"' in shared and "qmark" not in shared and "推理</strong>" not in shared
