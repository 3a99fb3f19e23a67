"""/docs and /redoc are served offline: every script, stylesheet and icon they reference is ours (under
/static/vendor/, pinned, with its licence) and answers 200; their CSP allows this server alone, and of inline
script only the page's own, by its hash."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

REFERENCE = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]*)"', re.I)
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def references(html: str) -> list[str]:
    return REFERENCE.findall(html)


@pytest.mark.parametrize(("page", "expected"), [
    ("/docs", {"/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/vendor/swagger-ui/swagger-ui.css",
               "/static/vendor/swagger-ui/favicon-32x32.png"}),
    ("/redoc", {"/static/vendor/redoc/redoc.standalone.js", "/static/vendor/swagger-ui/favicon-32x32.png"}),
])
def test_every_asset_of_the_docs_is_served_by_us(client, page, expected):
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    urls = references(r.text)
    assert set(urls) == expected, urls
    assert "http" not in r.text and "//" not in r.text  # no absolute or protocol-relative URL anywhere
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 500, url
    assert client.get("/openapi.json").status_code == 200  # what both pages read


def test_the_docs_point_at_the_apps_openapi_and_send_nothing_to_a_validator(client):
    docs = client.get("/docs").text
    assert "url: '/openapi.json'" in docs and '"validatorUrl": null' in docs
    assert 'oauth2RedirectUrl: window.location.origin + \'/docs/oauth2-redirect\'' in docs
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert '<redoc spec-url="/openapi.json">' in client.get("/redoc").text
    assert "fonts.googleapis.com" not in client.get("/redoc").text


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_docs_csp_allows_this_server_and_the_pages_own_inline_script(client, page):
    r = client.get(page)
    csp = r.headers["content-security-policy"]
    assert "http" not in csp and "*" not in csp and "default-src 'self'" in csp
    script_src = csp.split("script-src", 1)[1].split(";", 1)[0].split()
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
              for s in INLINE_SCRIPT.findall(r.text)}
    assert set(script_src) == {"'self'", *hashes}  # neither 'unsafe-inline' nor 'unsafe-eval'
    assert (page == "/redoc") == (not hashes)  # ReDoc's page has no inline script; the others one each


def test_the_vendored_files_keep_their_licences_and_versions():
    vendor = REPO / "static" / "vendor"
    versions = (vendor / "VERSIONS").read_text(encoding="utf-8")
    assert "swagger-ui-dist 5.35.0" in versions and "redoc 2.5.4" in versions
    for folder in ("swagger-ui", "redoc"):
        licence = (vendor / folder / "LICENSE").read_text(encoding="utf-8")
        assert "Apache License" in licence if folder == "swagger-ui" else "MIT License" in licence
    assert (vendor / "swagger-ui" / "NOTICE").is_file()  # Apache-2.0 asks for it to travel with the files
    for bundle in ("swagger-ui/swagger-ui-bundle.js", "redoc/redoc.standalone.js"):
        assert Path(vendor / (bundle + ".LICENSE.txt")).is_file()
