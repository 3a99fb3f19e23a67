"""How the pages show an open item's grade: per-key-point verdicts with the clause that decided each, the
misconceptions, the feedback codes in the reader's language, never "right" or "wrong"; for a practice check
(POST /practice/{id}/check, the fragment app.js puts in place) and for the interview report, on SQLite and
PostgreSQL, with the candidate's text escaped and results stored before verdicts still readable."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import create_app
from app.models import InterviewAnswer
from app.web.i18n import translator
from app.web.verdicts import code_lines, open_verdicts
from tests.conftest import content_with_misconception, make_settings
from tests.test_web_pages import csrf_of, start_guest

# Says "not per channel" (contradicted), the learnable scale and shift (covered) and the misconception, with
# markup and a closing script tag in the clause that decides the contradicted point.
NEGATED = "<img src=x onerror=alert(1)> </script> BN 不是按通道统计的；用 gamma 和 beta 缩放平移。推理时也用当前 batch 的均值。"
OLD_RESULT = {  # an interview answer's result as the grader stored it before per-point verdicts and codes
    "score": 0.5, "correct": False, "feedback": "覆盖了 1/2 个要点。", "expected": "参考答案", "answered": True,
    "details": {"keypoints": [{"label": "按通道统计", "hit": True, "matched": "通道", "how": "substring"},
                              {"label": "可学习的缩放平移", "hit": False, "matched": None, "how": None}]},
}


@pytest.fixture
def client(db_url, tmp_path) -> Iterator[TestClient]:
    """An app on each database kind over the fixture content with a misconception for s-open."""
    content = content_with_misconception(tmp_path / "content")
    with TestClient(create_app(make_settings(database_url=db_url, content_dir=content))) as c:
        yield c


def page_token(client: TestClient, url: str = "/practice?type=open") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(url).text).group(1)


def check(client: TestClient, qid: str, **form) -> str:
    r = client.post(f"/practice/{qid}/check", data=form, headers={"X-CSRF-Token": page_token(client)})
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith('<div class="check-result') and "<html" not in r.text  # a fragment
    return r.text


def point(html: str, verdict: str, label: str) -> str:
    """The list item of the key point `label`, which must carry `verdict`."""
    items = re.findall(r'<li class="kp (\w+)" data-verdict="\1">(.*?)</li>', html, re.S)
    found = [(v, body) for v, body in items if f'<strong class="kp-label">{label}</strong>' in body]
    assert len(found) == 1, items
    assert found[0][0] == verdict, found
    return found[0][1]


def as_guest(client: TestClient) -> None:
    r = client.post("/guest", data={"csrf_token": csrf_of(client.get("/practice").text), "next": "/practice"},
                    follow_redirects=False)
    assert r.status_code == 303


def assert_escaped(html: str) -> None:
    """NEGATED's markup shows as text wherever it appears (a page's own scripts are in its head)."""
    body = html.split("<main", 1)[-1]
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "&lt;/script&gt;" in body
    assert "<img" not in body and "</script>" not in body and "<script" not in body


# --- the practice check ----------------------------------------------------------------------------------


def test_a_practice_check_of_an_open_item_shows_verdicts_clauses_and_the_misconception(client):
    as_guest(client)
    html = check(client, "s-open", text=NEGATED)
    contradicted = point(html, "contradicted", "按通道统计")
    assert "说反了" in contradicted and "统计量按通道分别计算" in contradicted  # the verdict's word, what was checked
    assert "依据你的这句话" in contradicted and "bn不是按通道统计的</q>" in contradicted  # the deciding clause
    covered = point(html, "covered", "可学习的缩放平移")
    assert "讲到了" in covered and "<q>用gamma和beta缩放平移</q>" in covered
    point(html, "covered", "减均值除标准差")
    warning = html.split('<div class="misconceptions" role="note">')[1].split("</div>")[0]
    assert "推理也用batch统计" in warning and "推理用的是训练时累计的滑动平均" in warning
    assert "<q>推理时也用当前batch的均值</q>" in warning and "这道题最多得 30%" in warning
    # Coverage and the capped score, never "right" or "wrong"; the codes as sentences.
    assert "覆盖 2/3 要点" in html and "得分 <strong>30%</strong>" in html
    assert "正确" not in html and "✓ " not in html.split('<ul class="keypoints">')[0]
    assert "<li>说反了：按通道统计</li>" in html and "<li>误区「推理也用batch统计」：" in html
    assert "要点由程序逐句自动判断" in html and "这是要点覆盖率" not in html
    # The self-rating beside the verdicts: the grader's proposal marked, none pressed, nothing scheduled until
    # the candidate picks their own (DESIGN).
    assert html.index('data-part="keypoints"') < html.index('data-part="rating"') < html.index("参考答案")
    assert html.count('aria-pressed="true"') == 0 and 'data-rate="again"' in html
    assert html.count(" proposed") == 1 and re.search(r'class="rate proposed"\s+data-rate="hard"', html)
    assert "作答已记录。自评之后安排下次复习。" in html
    assert_escaped(html)
    attempts = client.get("/api/v1/me/attempts").json()["items"]
    assert [(a["question_id"], a["score"]) for a in attempts] == [("s-open", 0.3)]


def test_the_check_result_in_english(client):
    client.get("/practice?lang=en")
    html = check(client, "s-open", text=NEGATED)
    assert "2/3 key points covered" in html and "stated the opposite" in html and "Possible misconceptions" in html
    assert "<li>Stated the opposite: 按通道统计</li>" in html and "Checked automatically, clause by clause" in html
    assert "Correct" not in html and "This answer was not recorded" in html  # anonymous: no rating either
    assert 'data-part="rating"' not in html


def test_objective_items_still_say_right_or_wrong(client):
    assert "<strong>✓ 正确</strong>" in check(client, "s-single", choice="B")
    multiple = check(client, "s-multiple", choice=["A", "B"])
    assert "<strong>✗ 不正确</strong>" in multiple and '<pre class="answer-text">A, B, D</pre>' in multiple
    assert 'data-part="keypoints"' not in multiple


def test_the_check_refuses_what_the_api_refuses(client):
    token = {"X-CSRF-Token": page_token(client)}
    too_long = "长" * (client.app.state.settings.max_answer_chars + 1)
    assert client.post("/practice/s-open/check", data={"text": too_long}, headers=token).status_code == 422
    assert client.post("/practice/s-generated/check", data={"text": "(1, 2)"}, headers=token).status_code == 422
    assert client.post("/practice/nope/check", data={"text": "x"}, headers=token).status_code == 404
    assert client.post("/practice/s-open/check", data={"text": "a\x00b"}, headers=token).status_code == 422
    assert client.post("/practice/s-open/check", data={"text": "x"}).status_code == 403  # no CSRF token


# --- the interview report --------------------------------------------------------------------------------


def finished_with_open_answer(client: TestClient, answer: str) -> str:
    """A guest's finished mini-round interview whose open item s-open (position 0) got `answer`; its URL."""
    loc = start_guest(client)
    page = client.get(loc)
    assert 'data-type="open"' in page.text
    csrf = csrf_of(page.text)
    assert client.put(f"/api/v1{loc}/answers/0", json={"answer": answer}, headers={"X-CSRF-Token": csrf}).is_success
    assert client.post(f"{loc}/finish", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    return loc


def open_article(report: str) -> str:
    return re.search(r'<article class="card rq rq-open" data-position="0" data-type="open">(.*?)</article>', report,
                     re.S).group(1)


def test_the_report_shows_a_negated_answer_as_contradicted(client):
    loc = finished_with_open_answer(client, NEGATED)
    report = client.get(f"{loc}/report").text
    article = open_article(report)
    assert "bn不是按通道统计的</q>" in point(article, "contradicted", "按通道统计")
    assert "<q>用gamma和beta缩放平移</q>" in point(article, "covered", "可学习的缩放平移")
    assert "推理也用batch统计" in article.split('class="misconceptions"')[1]
    meta = article.split('<span class="meta verdict">')[1].split("</summary>")[0]  # the collapsed question's line
    assert "覆盖 2/3 要点" in meta and "得分 30" in meta
    assert "正确" not in article  # neither 正确 nor 不正确 for the open item
    assert "要点由程序逐句自动判断" in article and 'data-rate="good"' in article
    assert_escaped(report)
    # The read-only shared report shows the same verdicts, without the rating buttons.
    client.post(f"{loc}/share", data={"csrf_token": csrf_of(report)})
    link = re.search(r'value="http://testserver(/shared/[^"]+)"', client.get(f"{loc}/report").text).group(1)
    read_only = TestClient(client.app).get(link).text
    assert "bn不是按通道统计的</q>" in open_article(read_only) and 'data-rate="good"' not in open_article(read_only)
    assert_escaped(read_only)


def test_the_report_renders_a_result_stored_before_verdicts(client):
    loc = finished_with_open_answer(client, "按通道求均值")
    with Session(client.app.state.engine) as db:
        row = db.exec(select(InterviewAnswer).where(InterviewAnswer.interview_id == loc.rsplit("/", 1)[1],
                                                    InterviewAnswer.position == 0)).one()
        row.result = OLD_RESULT
        db.add(row)
        db.commit()
    r = client.get(f"{loc}/report")
    assert r.status_code == 200
    article = open_article(r.text)
    point(article, "covered", "按通道统计")
    point(article, "missing", "可学习的缩放平移")
    assert "覆盖 1/2 要点" in article and "覆盖了 1/2 个要点。" in article  # the stored prose: it has no codes
    assert "<q>" not in article and "正确" not in article
    api = client.get(f"/api/v1{loc}/report")
    assert api.status_code == 200 and api.json()["questions"][0]["keypoints"][0]["verdict"] is None


# --- the shaping, on its own -----------------------------------------------------------------------------


def test_old_keypoints_read_as_covered_or_missing_and_keep_their_prose():
    v = open_verdicts(OLD_RESULT["details"], None, translator("zh"))
    assert [(p.verdict, p.mark, p.evidence) for p in v.points] == [("covered", "✓", None), ("missing", "○", None)]
    assert v.lines is None and v.misconceptions == () and v.cap is None
    assert open_verdicts({}, None, translator("zh")) is None and open_verdicts(None, [], translator("en")) is None


def test_a_missing_point_never_quotes_a_clause_and_named_is_half():
    details = {"keypoints": [
        {"label": "a", "statement": "s", "verdict": "missing", "evidence": "stray", "hit": False},
        {"label": "b", "statement": "s", "verdict": "named", "evidence": "a、b、c", "hit": True}]}
    v = open_verdicts(details, [{"code": "open_coverage", "covered": 0, "named": 1, "total": 2}], translator("en"))
    assert [(p.verdict, p.mark, p.evidence) for p in v.points] == [("missing", "○", None), ("named", "½", "a、b、c")]
    assert v.lines == () and v.count("named") == 1


def test_codes_read_in_each_language_and_unknown_ones_are_left_out():
    codes = [{"code": "open_coverage", "covered": 1, "named": 1, "total": 3},
             {"code": "open_missing", "points": ["x", "y"]},
             {"code": "misconception", "label": "m", "statement": "s", "cap": 0.3},
             {"code": "from_a_newer_grader", "n": 1}]
    assert code_lines(codes, translator("zh")) == [
        "覆盖了 1/3 个要点，另有 1 个只点到名字", "还可以谈谈：x、y", "误区「m」：s（最多得 30%）"]
    assert code_lines(codes, translator("en"), skip=("open_coverage",)) == [
        "Could also cover: x, y", "Misconception “m”: s (at most 30%)"]
