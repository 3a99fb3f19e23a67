"""The pages over the imported types (issue #19), server-side: each type's answer fields, the check fragment
with the author's feedback in place (markdown and math rendered), a matching item's verdict table, a
self-rated essay without a coverage table, a description with no answer box, and the interview page and
report carrying a matching answer."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import Clock, content_with_types, make_settings
from tests.test_web_pages import csrf_of


@pytest.fixture
def client(db_url, tmp_path) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url=db_url, content_dir=content_with_types(tmp_path / "content")))
    app.state.clock = Clock()
    with TestClient(app) as c:
        yield c


def token(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', client.get("/practice").text).group(1)}


def checked(client: TestClient, qid: str, data: dict) -> str:
    r = client.post(f"/practice/{qid}/check", data=data, headers=token(client))
    assert r.status_code == 200, r.text
    return r.text


def test_each_type_has_its_answer_fields(client):
    tf = client.get("/practice?type=truefalse").text
    assert re.search(r'type="radio" name="choice" id="opt-T"\s+value="T"', tf) and "正确" in tf and "错误" in tf
    assert 'name="text" type="text"' in client.get("/practice?type=short").text
    match = client.get("/practice?type=matching").text
    assert match.count('<select id="match-') == 3 and match.count('name="left" value=') == 3
    assert match.count('<option value="N、C">') == 3  # the distractor is a choice in every row
    assert "self_rated" not in client.get("/questions/t-essay").text
    desc = client.get("/questions/t-desc").text
    assert "这一段是说明，不需要作答。" in desc and "practice-form" not in desc
    assert "判断" in client.get("/practice").text  # the type filter names the new types


def test_feedback_shows_in_place_after_a_check(client):
    tf = checked(client, "t-tf", {"choice": "T"})
    feedback = re.search(r'<div class="opt-feedback" data-key="T">(.*?)</div>', tf, re.S).group(1)
    assert "<strong>滑动平均</strong>" in feedback
    assert re.search(r"✗</span>\s*你的选择 · 错误", tf) and "正确答案 · 你没有选" in tf
    single = checked(client, "t-single", {"choice": "B"})
    assert 'data-key="B"' in single and 'class="math inline"' in single and "得分 50%" in single
    short = checked(client, "t-short", {"text": "relu6"})
    assert re.search(r'<div class="answer-feedback">.*方向对，但它本身就叫 ReLU。', short, re.S)
    assert "<pre class=\"answer-text\">ReLU</pre>" in short
    num = checked(client, "t-num", {"text": "9"})
    assert "多算了一层。" in num and "偏大" in num
    client.get("/practice?lang=en")
    assert "About your answer" in checked(client, "t-short", {"text": "relu6"})
    assert "True" in checked(client, "t-tf", {"choice": "F"})


def test_a_matching_check_shows_a_verdict_per_row(client):
    # the rows' fields in order, as the form sends them (left and right repeated)
    data = {"left": ["BatchNorm", "LayerNorm", "InstanceNorm"], "right": ["N、H、W", "N、C", ""]}
    html = checked(client, "t-match", data)
    rows = re.findall(r'<tr class="(is-right|is-wrong)">', html)
    assert rows == ["is-right", "is-wrong", "is-wrong"]
    assert "得分" in html or "33%" in html
    assert "<li>LayerNorm → C、H、W</li>" in html  # the expected pairs as the reference
    r = client.post("/practice/t-match/check", data={"left": ["BatchNorm"], "right": ["N"]}, headers=token(client))
    assert r.status_code == 422 and "不是可选的配对" in r.text


def test_a_self_rated_essay_shows_the_reference_and_no_coverage(client):
    start = client.post("/guest", data={"csrf_token": csrf_of(client.get("/practice").text), "next": "/practice"},
                        follow_redirects=False)
    assert start.status_code == 303
    html = checked(client, "t-essay", {"text": "我们发现标注噪声，抽样复核后清洗。"})
    assert "说清数据的问题是什么" in html and "读一读参考答案，再给自己打分" in html and "自评题" in html
    assert 'data-part="keypoints"' not in html and "0/0" not in html and "覆盖" not in html and "0%" not in html
    assert 'class="rate' in html and "proposed-mark" not in html  # rate it yourself; nothing proposed


def test_an_interview_carries_a_matching_answer_and_reports_it(client):
    page = client.get("/")
    r = client.post("/start", data={"round": "types-round", "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    first = client.get(url).text
    assert "这一段是说明，不需要作答。" in first and 'id="answer-form"' not in first  # the description
    assert "不计分" not in first.split('<aside')[0]
    iid = url.rsplit("/", 1)[1]
    headers = token(client)
    answer = {"BatchNorm": "N、H、W", "LayerNorm": "C、H、W"}
    assert client.put(f"/api/v1/interviews/{iid}/answers/4", json={"answer": answer}, headers=headers).status_code == 200
    assert client.put(f"/api/v1/interviews/{iid}/answers/2", json={"answer": False}, headers=headers).status_code == 200
    csrf = csrf_of(first)
    tf = client.post(f"{url}/position", data={"position": 2, "csrf_token": csrf}, follow_redirects=True).text
    assert re.search(r'value="F" data-index="2" checked', tf)
    shown = client.post(f"{url}/position", data={"position": 4, "csrf_token": csrf}, follow_redirects=True).text
    assert re.search(r'<option value="N、H、W" selected>', shown) and re.search(r'<option value="C、H、W" selected>', shown)
    assert client.post(f"{url}/finish", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    report = client.get(f"{url}/report").text
    assert re.findall(r'<tr class="(is-right|is-wrong)">', report) == ["is-right", "is-right", "is-wrong"]
    assert "BatchNorm → N、H、W" in report  # the answer as text
    assert "推理时用滑动平均" in report or "mu_{run}" in report  # the chosen true/false option's feedback
    desc = re.search(r'<article class="card rq rq-unscored" data-position="0".*?</article>', report, re.S).group(0)
    assert "下面几题问你做过的项目" in desc and "未作答" not in desc  # a description: its text, no answer
