"""Items marked `scored: false` (a self-introduction, 反问): asked in a round, never scored, revealed or
scheduled, and no part of any score or total — over the API and the pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import guest
from fastapi.testclient import TestClient

from app.content.loader import load_content
from app.main import create_app
from tests.conftest import VALID, Clock, make_settings

# An open item whose answer below would cover every key point, were it scored.
INTRO = """
## s-intro 自我介绍

```yaml
type: open
difficulty: 1
topics: [面试]
source: 测试
{scored}
```

请做一个一分钟的自我介绍。

### 参考答案

背景、项目、成果、岗位动机。

### 要点

- 背景: 学校|专业
  > 先交代学校和专业
- 项目: 项目
  > 讲一个代表项目
- 动机: 岗位
  > 说明为什么投这个岗位

### 解析

结构清楚比内容多更重要。
"""

ROUND = """---
id: intro
title: 带自我介绍的轮次
duration: 10
description: 测试用。
---

## 自我介绍

```yaml
minutes: 2
questions: [s-intro]
```

先介绍自己。

## 基础

```yaml
minutes: 8
questions: [s-single]
```

再答题。
"""

INTRO_ANSWER = "我是某大学计算机专业的硕士，做过细粒度分类项目，很想做这个岗位。"


def write_content(folder: Path, *, scored: bool) -> Path:
    """The fixture content plus s-intro (unscored unless `scored`) and the round `intro` that asks it first."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(VALID, folder)
    bank = folder / "banks" / "sample.md"
    bank.write_text(bank.read_text(encoding="utf-8") + INTRO.format(scored="" if scored else "scored: false"),
                    encoding="utf-8")
    (folder / "rounds" / "intro.md").write_text(ROUND, encoding="utf-8")
    return folder


@pytest.fixture
def env(db_url, tmp_path) -> Iterator[tuple[TestClient, Clock, Path]]:
    content_dir = write_content(tmp_path / "content", scored=False)
    app = create_app(make_settings(database_url=db_url, content_dir=content_dir))
    clock = Clock()
    app.state.clock = clock
    with TestClient(app) as client:
        yield client, clock, content_dir


def test_the_loader_reads_the_key_and_refuses_anything_but_a_boolean(tmp_path):
    content = load_content(write_content(tmp_path / "c", scored=False))
    assert content.by_id["s-intro"].scored is False and content.by_id["s-single"].scored is True
    assert content.unscored == {"s-intro"}
    assert load_content(write_content(tmp_path / "d", scored=True)).unscored == frozenset()


def test_the_public_view_says_whether_an_item_is_scored(env):
    client, _, _ = env
    assert client.get("/api/v1/questions/s-intro").json()["scored"] is False
    assert client.get("/api/v1/questions/s-single").json()["scored"] is True
    listed = {q["id"]: q["scored"] for q in client.get("/api/v1/questions?limit=100").json()["items"]}
    assert listed["s-intro"] is False and listed["s-open"] is True


def test_a_check_of_an_unscored_item_is_refused_and_records_nothing(env):
    client, _, _ = env
    anonymous = client.post("/api/v1/questions/s-intro/check", json={"answer": INTRO_ANSWER})
    assert anonymous.status_code == 409 and "not scored" in anonymous.json()["detail"]
    h = guest(client)
    r = client.post("/api/v1/questions/s-intro/check", json={"answer": INTRO_ANSWER}, headers=h)
    assert r.status_code == 409 and "reference_html" not in r.json()
    assert client.get("/api/v1/me/attempts", headers=h).json()["items"] == []
    assert client.get("/api/v1/me/stats", headers=h).json()["attempts"] == 0


def test_practice_never_offers_an_unscored_item(env):
    client, _, _ = env
    h = guest(client)
    # Its topic holds nothing else: nothing to practise, for a visitor as for a guest.
    assert client.get("/api/v1/practice/next?topic=面试").status_code == 404
    assert client.get("/api/v1/practice/next?topic=面试", headers=h).status_code == 404
    offered = {client.get("/api/v1/practice/next?bank=sample", headers=h).json()["id"] for _ in range(30)}
    assert "s-intro" not in offered and offered
    page = client.get("/practice?topic=面试")
    assert page.status_code == 200 and "s-intro" not in page.text and 'class="practice-form' not in page.text


def test_an_interview_asks_it_but_leaves_it_out_of_every_score(env):
    client, clock, _ = env
    h = guest(client)
    state = client.post("/api/v1/interviews", json={"round": "intro"}, headers=h).json()
    iid = state["id"]
    assert [(q["question"]["id"], q["question"]["scored"]) for q in state["questions"]] == [
        ("s-intro", False), ("s-single", True), ("s-numeric", True)]
    for position, answer in ((0, INTRO_ANSWER), (1, "B"), (2, "64")):
        assert client.put(f"/api/v1/interviews/{iid}/answers/{position}", json={"answer": answer},
                          headers=h).status_code == 200
    rated = client.put(f"/api/v1/interviews/{iid}/ratings/0", json={"rating": "good"}, headers=h)
    assert rated.status_code == 409 and "不计分" in rated.json()["detail"]
    finished = client.post(f"/api/v1/interviews/{iid}/finish", headers=h).json()
    assert finished["score"] == 0.5  # s-single right, s-numeric wrong; the self-introduction counts for nothing

    report = client.get(f"/api/v1/interviews/{iid}/report", headers=h).json()
    intro = report["questions"][0]
    assert intro["scored"] is False and intro["answer"] == INTRO_ANSWER
    assert intro["score"] is None and intro["correct"] is None and intro["feedback"] == ""
    assert intro["expected"] is None and intro["reference_html"] is None and intro["explanation_html"] == ""
    assert intro["keypoints"] is None and intro["codes"] == [] and intro["self_rating"] is None
    assert [q["scored"] for q in report["questions"][1:]] == [True, True]
    assert report["score"] == 0.5
    assert [s["score"] for s in report["sections"]] == [None, 0.5]
    assert "面试" not in {t["topic"] for t in report["topics"]}
    assert client.get("/api/v1/interviews", headers=h).json()["items"][0]["score"] == 0.5

    # Neither an attempt nor a review card: the statistics and the due reviews know only the scored two.
    attempts = client.get("/api/v1/me/attempts", headers=h).json()["items"]
    assert sorted(a["question_id"] for a in attempts) == ["s-numeric", "s-single"]
    clock.advance(days=20)
    due = client.get("/api/v1/me/reviews/due", headers=h).json()["items"]
    assert sorted(d["question_id"] for d in due) == ["s-numeric", "s-single"]
    stats = client.get("/api/v1/me/stats", headers=h).json()
    assert stats["attempts"] == 2 and stats["due_now"] == 2


def test_the_report_page_shows_the_answer_as_not_scored(env):
    client, _, _ = env
    home = client.get("/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    loc = client.post("/start", data={"round": "intro", "csrf_token": csrf}, follow_redirects=False).headers["location"]
    page = client.get(loc)
    assert "不计分" in page.text and 'class="badge unscored"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    iid = loc.rsplit("/", 1)[1]
    client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": INTRO_ANSWER}, headers={"X-CSRF-Token": csrf})
    report = client.post(f"{loc}/finish", data={"csrf_token": csrf})
    assert report.status_code == 200
    article = re.search(r'<article class="card rq rq-unscored"[^>]*data-position="0".*?</article>', report.text, re.S)
    assert article, "the self-introduction is not shown as not scored"
    body = article.group(0)
    assert INTRO_ANSWER in body and "不计分" in body
    for revealed in ("背景、项目、成果", "结构清楚比内容多更重要", "参考答案", 'data-rate="', "得分"):
        assert revealed not in body, revealed
    assert report.text.count('data-rate="good"') == 2  # the two scored items take a self-rating
    english = client.get(f"{loc}/report?lang=en")
    assert "Not scored" in english.text


def test_cards_it_got_before_it_was_marked_are_never_due_again(env):
    """A question answered while it was scored, then marked `scored: false`: its card and attempt stay in the
    database but are not due, not counted and not rated any more."""
    client, clock, content_dir = env
    write_content(content_dir, scored=True)
    client.app.state.store.reload_from(content_dir)
    h = guest(client)
    assert client.post("/api/v1/questions/s-intro/check", json={"answer": INTRO_ANSWER, "rating": "again"},
                       headers=h).status_code == 200
    assert client.post("/api/v1/questions/s-single/check", json={"answer": "A"}, headers=h).status_code == 200
    clock.advance(days=20)
    assert client.get("/api/v1/me/stats", headers=h).json()["due_now"] == 2

    write_content(content_dir, scored=False)
    client.app.state.store.reload_from(content_dir)
    due = client.get("/api/v1/me/reviews/due", headers=h).json()["items"]
    assert [d["question_id"] for d in due] == ["s-single"]
    stats = client.get("/api/v1/me/stats", headers=h).json()
    assert stats["due_now"] == 1 and stats["attempts"] == 1 and sum(stats["forecast"].values()) == 1
    assert sum(stats["activity"].values()) == 1 and {m["topic"] for m in stats["mastery"]} == {"BN"}
    r = client.post("/api/v1/me/reviews/s-intro/rating", json={"rating": "easy"}, headers=h)
    assert r.status_code == 404
