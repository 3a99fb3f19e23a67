"""The pages of issue 20's item statistics: /admin/items for admins (the table, sort links, a chart per item,
the 纠错 queue with resolve), and the 纠错 form under answered questions (report, practice check), with CSRF."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import select

from app.db import db_session
from app.models import ProblemReport, User
from tests.test_web_pages import csrf_of

FORM = 'action="/questions/{qid}/report"'


def register(client: TestClient, name: str) -> str:
    """A new account signed in (its cookie on the client); the page's CSRF token."""
    page = client.get("/register")
    client.post("/register", data={"username": name, "password": "long password", "csrf_token": csrf_of(page.text)})
    return csrf_of(client.get("/").text)


def make_admin(client: TestClient, name: str) -> None:
    with db_session(client.app.state.engine) as db:
        user = db.exec(select(User).where(User.username == name)).one()
        user.is_admin = True
        db.add(user)


def finish_one(client: TestClient, csrf: str) -> str:
    r = client.post("/start", data={"round": "mini", "csrf_token": csrf}, follow_redirects=False)
    loc = r.headers["location"]
    client.put(f"/api{loc.replace('/interviews', '/v1/interviews')}/answers/1", json={"answer": "A"},
               headers={"X-CSRF-Token": csrf})
    assert client.post(f"{loc}/finish", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    return loc


def test_a_report_from_the_interview_report_reaches_the_admin_queue(db_client):
    client = db_client
    csrf = register(client, "candidate")
    loc = finish_one(client, csrf)
    page = client.get(f"{loc}/report")
    assert page.status_code == 200 and FORM.format(qid="s-open") in page.text and "纠错" in page.text
    assert client.post("/questions/s-single/report", data={"kind": "wrong_answer"}).status_code == 403  # CSRF
    sent = client.post("/questions/s-single/report", data={"kind": "wrong_answer", "comment": "B 不对",
                                                            "csrf_token": csrf, "next": f"{loc}/report#q-2"},
                       headers={"HX-Request": "true"})
    assert sent.status_code == 200 and "已提交" in sent.text and "<html" not in sent.text
    back = client.post("/questions/s-open/report", data={"kind": "typo", "csrf_token": csrf,
                                                          "next": "//evil.example/"}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/"
    assert client.get("/admin/items").status_code == 404  # not an admin

    make_admin(client, "candidate")
    admin = client.get("/admin")
    assert 'href="/admin/items"' in admin.text
    items = client.get("/admin/items?round=mini&sort=-facility")
    assert items.status_code == 200
    assert set(re.findall(r'data-question="([^"]+)"', items.text)) >= {"s-open", "s-single", "s-numeric"}
    assert "<svg" in items.text and 'href="/admin/items?round=mini&amp;sort=facility"' in items.text
    assert 'aria-sort="descending"' in items.text
    ids = [int(i) for i in re.findall(r'data-report="(\d+)"', items.text)]
    assert len(ids) == 2 and "B 不对" in items.text and "<code>\"A\"</code>" in items.text  # the latest answer
    done = client.post(f"/admin/reports/{ids[0]}/resolve", data={"note": "已核对", "round": "mini",
                                                                  "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    after = client.get("/admin/items?round=mini")
    assert re.findall(r'data-report="(\d+)"', after.text) == [str(ids[1])]
    with db_session(client.app.state.engine) as db:
        resolved = db.get(ProblemReport, ids[0])
        assert resolved is not None and resolved.state == "resolved" and resolved.resolution_note == "已核对"
    assert client.get("/admin/items?round=mini&sort=bogus").status_code == 200  # an unknown sort: by question
    assert client.get("/admin/items?round=en&lang=en").status_code == 404  # no such round


def test_the_practice_check_offers_the_form_to_a_signed_in_candidate_only(db_client):
    client = db_client
    anon_page = client.get("/practice")
    anon = client.post("/practice/s-single/check", data={"choice": "B", "csrf_token": csrf_of(anon_page.text)})
    assert anon.status_code == 200 and FORM.format(qid="s-single") not in anon.text
    csrf = register(client, "learner")
    checked = client.post("/practice/s-single/check", data={"choice": "B", "csrf_token": csrf})
    assert checked.status_code == 200 and FORM.format(qid="s-single") in checked.text
    assert 'maxlength="2000"' in checked.text  # MIANJING_PROBLEM_REPORT_MAX_CHARS
