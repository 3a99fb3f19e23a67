"""The admin import page in a real browser (issue 19): a GIFT file chosen → the preview swapped in by htmx
(counts per type, what is skipped, the diff) → publish with the file still selected → the bank is served."""

from __future__ import annotations

import shutil

import httpx
from playwright.sync_api import Page, expect
from sqlmodel import select

from app.db import request_session, upgrade, write_transaction
from app.main import create_app
from app.models import User
from tests.browser.conftest import serve_in_thread
from tests.conftest import VALID, make_settings

GIFT = """$CATEGORY: $course$/top/CV/归一化

::bn-tf:: BN 的 $\\gamma$ 和 $\\beta$ 是可学习参数。{T # 对 # 它们随梯度更新}

::relu-name:: ReLU 的英文全称是？{=Rectified Linear Unit =%50%rectifier}

::one-pair:: 只有一对的配对题 {=a -> 1}
"""


def test_an_admin_previews_and_publishes_a_gift_file(tmp_path, page: Page):
    content = tmp_path / "content"
    shutil.copytree(VALID, content)
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    upgrade(url)
    app = create_app(make_settings(database_url=url, content_dir=content))
    upload = tmp_path / "class.gift"
    upload.write_text(GIFT, encoding="utf-8")
    with serve_in_thread(app) as base:
        page.goto(base + "/register")
        page.fill("#username", "teacher")
        page.fill("#password", "long password")
        page.locator("form button[type=submit]").click()
        page.wait_for_url(base + "/**")
        with request_session(app.state.engine) as db, write_transaction(db):
            user = db.exec(select(User).where(User.username == "teacher")).one()
            user.is_admin = True
            db.add(user)

        page.goto(base + "/admin")
        page.locator('a[href="/admin/imports"]').click()
        form = page.locator("#import-form")
        form.locator('input[name="file"]').set_input_files(str(upload))
        form.locator('select[name="format"]').select_option("gift")
        form.locator('input[name="bank"]').fill("class-import")
        form.locator("button[type=submit]").click()
        preview = page.locator("#import-preview")
        expect(preview).to_have_attribute("role", "status")
        expect(preview).to_contain_text("可以发布")
        expect(preview).to_contain_text("truefalse 1")
        expect(preview.locator(".import-skipped")).to_contain_text("class.gift:7")  # the one-pair matching
        expect(preview.locator(".import-changes")).to_contain_text("+2")
        expect(page).to_have_url(base + "/admin/imports")  # in place
        assert not (content / "banks" / "class-import.md").exists()

        preview.locator("button.import-publish").click()
        expect(page.locator("#import-preview .import-published")).to_contain_text("class-import")
        assert (content / "banks" / "class-import.md").is_file()
        served = httpx.get(f"{base}/api/v1/questions/class-import-bn-tf")
        assert served.status_code == 200 and served.json()["type"] == "truefalse"
