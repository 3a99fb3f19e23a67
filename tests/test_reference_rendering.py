"""Reference answers and explanations are rendered like the question itself (markdown, math for KaTeX, raw
HTML escaped) wherever they are shown: the API's check and report, the practice and review check fragment
and the interview report, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import VALID, make_settings
from tests.test_web_pages import csrf_of, start_guest

RICH_REFERENCE = ("对每个通道做 **标准化**：$\\hat{x} = \\frac{x - \\mu}{\\sigma}$，再用 `gamma` 和 `beta` "
                  "缩放平移。<script>alert(1)</script>")
RICH_EXPLANATION = "推理时用 **滑动平均**，`running_mean` 满足 $\\mu_t = m\\,\\mu_{t-1} + (1-m)\\,\\bar{x}$。"


def rich_content(folder: Path) -> Path:
    """A copy of the fixture content whose open item s-open has a reference answer and an explanation in
    markdown with math, code and a raw script tag."""
    shutil.copytree(VALID, folder)
    bank = folder / "banks" / "sample.md"
    text = bank.read_text(encoding="utf-8")
    reference = "对每个通道，在 N、H、W 上求均值和方差，标准化后再做可学习的缩放和平移。"
    explanation = "训练时用 batch 统计量，推理时用滑动平均。"
    assert text.count(reference) == 1 and text.count(explanation) == 1
    bank.write_text(text.replace(reference, RICH_REFERENCE).replace(explanation, RICH_EXPLANATION), encoding="utf-8")
    return folder


def assert_rendered(html: str) -> None:
    """RICH_REFERENCE and RICH_EXPLANATION as HTML: no markdown syntax left, math handed to KaTeX."""
    assert "<strong>标准化</strong>" in html and "<strong>滑动平均</strong>" in html
    assert "<code>gamma</code>" in html and "<code>running_mean</code>" in html
    assert '<span class="math inline">\\hat{x} = \\frac{x - \\mu}{\\sigma}</span>' in html
    assert "**" not in html and "`" not in html and "$" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html


@pytest.fixture
def client(db_url, tmp_path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(database_url=db_url, content_dir=rich_content(tmp_path / "c")))) as c:
        yield c


def token(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', client.get("/practice").text).group(1)}


def test_the_api_check_sends_the_reference_rendered(client):
    body = client.post("/api/v1/questions/s-open/check", json={"answer": "按通道求均值"}).json()
    assert body["expected"] == RICH_REFERENCE  # the markdown, as before
    assert_rendered(body["reference_html"] + body["explanation_html"])
    numeric = client.post("/api/v1/questions/s-numeric/check", json={"answer": "128"}).json()
    assert numeric["reference_html"] is None and numeric["expected"] == 128  # a value, shown as it is


def test_the_practice_check_fragment_renders_reference_and_explanation(client):
    r = client.post("/practice/s-open/check", data={"text": "按通道求均值"}, headers=token(client))
    assert r.status_code == 200
    fragment = r.text
    reference = re.search(r'<div class="reference">(.*?)</div>\s*</dd>', fragment, re.S).group(1)
    explanation = re.search(r'<div class="explanation">(.*?)</div>', fragment, re.S).group(1)
    assert_rendered(reference + explanation)
    # The objective items' explanations too (the fixture's numeric one has math).
    numeric = client.post("/practice/s-numeric/check", data={"text": "128"}, headers=token(client)).text
    assert '<span class="math inline">\\gamma</span>' in numeric and "$" not in numeric


def test_the_interview_report_renders_reference_and_explanation(client):
    loc = start_guest(client)
    page = client.get(loc)
    csrf = csrf_of(page.text)
    assert client.put(f"/api/v1{loc}/answers/0", json={"answer": "按通道求均值"},
                      headers={"X-CSRF-Token": csrf}).is_success
    assert client.post(f"{loc}/finish", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    report = client.get(f"{loc}/report").text
    article = re.search(r'<article class="card rq rq-open" data-position="0".*?</article>', report, re.S).group(0)
    assert_rendered(article.split("参考答案", 1)[1])
    api = client.get(f"/api/v1{loc}/report").json()["questions"][0]
    assert_rendered(api["reference_html"] + api["explanation_html"])
