"""The admin import and export, end to end: a GIFT file uploaded → preview → publish through the publishing
module → served and scored through the normal check API; refusals change nothing; downloads in every format."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.test_web_item_stats import make_admin, register

TOKEN = "admin-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GIFT = """// a teacher's file
$CATEGORY: $course$/top/CV/归一化

::bn-infer:: BN 推理时用什么统计量？{
  =训练中累计的滑动平均 # 对：推理不依赖当前 batch
  ~当前 batch 的均值和方差 # 推理时 batch 可能只有一张图
}

::bn-tf:: BN 的 γ 和 β 是可学习参数。{T # 对 # 它们随梯度更新}

::relu-name:: ReLU 的英文全称是？{=Rectified Linear Unit =%50%rectifier}

::norm-match:: 把归一化与统计的维度配对。{
  =BN -> 跨 batch 的同一通道
  =LN -> 同一样本的全部通道
  =IN -> 同一样本的同一通道
}

::rf:: 两层 3×3 卷积（stride 1）的感受野是多少？{#5:0}

::overfit:: 谈谈过拟合的对策。{}
####数据增强、正则化、早停。
"""
RIGHT = {"single": "A", "truefalse": True, "short": "Rectified Linear Unit", "numeric": "5",
         "matching": {"BN": "跨 batch 的同一通道", "LN": "同一样本的全部通道", "IN": "同一样本的同一通道"}}


@pytest.fixture
def admin_client(db_url, content_dir):
    app = create_app(make_settings(database_url=db_url, content_dir=content_dir, admin_token=TOKEN,
                                   max_import_bytes=64 * 1024))
    with TestClient(app) as client:
        yield client


def _preview(client: TestClient, data: bytes, bank: str = "imported", fmt: str = "gift", **params):
    return client.post("/api/v1/admin/imports", params={"format": fmt, "bank": bank, "file": "t.gift", **params},
                       content=data, headers={**AUTH, "Content-Type": "application/octet-stream"})


def _publish(client: TestClient, data: bytes, bank: str = "imported", **params):
    return client.post("/api/v1/admin/imports/publish", params={"format": "gift", "bank": bank, "file": "t.gift",
                                                                 **params},
                       content=data, headers={**AUTH, "Content-Type": "application/octet-stream"})


def test_a_gift_file_previews_publishes_and_scores(admin_client, content_dir):
    before = admin_client.get("/readyz").json()["content_version"]
    seen = _preview(admin_client, GIFT.encode())
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["ok"] and body["questions"] == 6
    assert body["imported"] == {"matching": 1, "numeric": 1, "open": 1, "short": 1, "single": 1, "truefalse": 1}
    assert len(body["changes"]["added"]) == 6 and body["changes"]["removed"] == []
    assert body["markdown"].startswith("---\nid: \"imported\"\n") and "## imported-bn-infer" in body["markdown"]
    assert not (content_dir / "banks" / "imported.md").exists()  # a preview changes nothing
    assert admin_client.get("/readyz").json()["content_version"] == before

    stale = _publish(admin_client, GIFT.replace("5:0", "5:1").encode(), digest=body["digest"])
    assert stale.status_code == 409 and not (content_dir / "banks" / "imported.md").exists()

    done = _publish(admin_client, GIFT.encode(), digest=body["digest"])
    assert done.status_code == 200, done.text
    assert sorted(done.json()["added"]) == sorted(body["changes"]["added"])
    assert (content_dir / "banks" / "imported.md").read_text(encoding="utf-8") == body["markdown"]
    assert admin_client.get("/readyz").json()["content_version"] == done.json()["version"] != before

    for qid in body["changes"]["added"]:
        q = admin_client.get(f"/api/v1/questions/{qid}").json()
        if q["type"] == "open":
            assert q["self_rated"] is True  # an essay without key points: graded by its self-rating
            continue
        right = admin_client.post(f"/api/v1/questions/{qid}/check", json={"answer": RIGHT[q["type"]]})
        assert right.status_code == 200 and right.json()["score"] == 1.0, (qid, right.text)
        wrong = {"single": "B", "truefalse": False, "short": "sigmoid", "numeric": "3",
                 "matching": {"BN": "同一样本的全部通道", "LN": "跨 batch 的同一通道", "IN": "同一样本的同一通道"}}
        graded = admin_client.post(f"/api/v1/questions/{qid}/check", json={"answer": wrong[q["type"]]})
        assert graded.status_code == 200 and graded.json()["score"] < 1.0, (qid, graded.text)


def test_errors_carry_line_and_column_and_change_nothing(admin_client, content_dir):
    bad = "::a:: 第一题 {=对 ~错}\n\n::b:: 没有结束的括号 {=x ~y\n"
    r = _preview(admin_client, bad.encode())
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors and all(e["where"].startswith("t.gift:") and e["line"] >= 3 for e in errors), errors
    assert _publish(admin_client, bad.encode()).status_code == 422
    assert not (content_dir / "banks" / "imported.md").exists()


def test_an_id_taken_by_another_bank_is_found_before_anything_changes(admin_client, content_dir):
    clash = "// [id:s-single]\n::x:: 与已有题目同 id {T}\n"
    r = _preview(admin_client, clash.encode())
    assert r.status_code == 422 and any("s-single" in e["message"] for e in r.json()["errors"]), r.text
    assert _publish(admin_client, clash.encode()).status_code == 422
    assert not (content_dir / "banks" / "imported.md").exists()
    assert admin_client.get("/api/v1/questions/s-single").json()["type"] == "single"


def test_refusals(admin_client):
    assert admin_client.post("/api/v1/admin/imports", params={"format": "gift", "bank": "x"},
                             content=GIFT.encode()).status_code == 401
    assert _preview(admin_client, GIFT.encode(), fmt="aiken").status_code == 422
    assert _preview(admin_client, GIFT.encode(), bank="Bad Name").status_code == 422
    assert _preview(admin_client, b"\xff\xfe not utf-8 {T}").status_code == 422
    assert _preview(admin_client, b"x" * (65 * 1024)).status_code == 413
    assert _preview(admin_client, b"// only a comment\n").status_code == 422


@pytest.mark.parametrize("fmt", ["gift", "moodle-xml", "csv", "apkg"])
def test_every_bank_downloads_in_every_format(admin_client, fmt):
    r = admin_client.get("/api/v1/admin/banks/sample/export", params={"format": fmt}, headers=AUTH)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    if fmt == "apkg":
        assert zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    else:
        assert "s-single" in r.text or "s-single" in r.content.decode("utf-8-sig")
    assert admin_client.get("/api/v1/admin/banks/all/export", params={"format": fmt}, headers=AUTH).status_code == 200


def test_export_refusals(admin_client):
    assert admin_client.get("/api/v1/admin/banks/nope/export", params={"format": "gift"}, headers=AUTH).status_code == 404
    assert admin_client.get("/api/v1/admin/banks/sample/export", params={"format": "docx"}, headers=AUTH).status_code == 422
    assert admin_client.get("/api/v1/admin/banks/sample/export", params={"format": "gift"}).status_code == 401


def test_the_admin_page_previews_and_publishes(admin_client, content_dir):
    client = admin_client
    csrf = register(client, "teacher")
    assert client.get("/admin/imports").status_code == 404  # not an admin
    make_admin(client, "teacher")
    page = client.get("/admin/imports")
    assert page.status_code == 200 and 'action="/admin/imports/preview"' in page.text
    form = {"format": "gift", "bank": "web-import", "csrf_token": csrf}
    files = {"file": ("t.gift", GIFT.encode(), "text/plain")}
    assert client.post("/admin/imports/preview", data={k: v for k, v in form.items() if k != "csrf_token"},
                       files=files).status_code == 403  # CSRF
    seen = client.post("/admin/imports/preview", data=form, files=files, headers={"HX-Request": "true"})
    assert seen.status_code == 200 and 'id="import-preview"' in seen.text and "<html" not in seen.text
    digest = seen.text.split('name="digest" value="')[1].split('"')[0]
    done = client.post("/admin/imports/publish", data={**form, "digest": digest}, files=files)
    assert done.status_code == 200 and "web-import" in done.text
    assert (content_dir / "banks" / "web-import.md").is_file()
    download = client.get("/admin/banks/web-import/export", params={"format": "gift"})
    assert download.status_code == 200 and "BN" in download.text
