"""The questions API over the fixture bank: listing, filters, search, public views, errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SECRET_KEYS = {"answer", "correct", "keypoints", "reference", "explanation", "weights", "tolerance"}


def walk_keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from walk_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_keys(v)


def test_banks_and_topics(client):
    banks = client.get("/api/v1/banks").json()
    assert banks == [{"id": "sample", "title": "示例题库", "description": "每种题型一道，供测试使用。", "question_count": 6}]
    topics = {t["topic"]: t["count"] for t in client.get("/api/v1/topics").json()}
    assert topics["BN"] == 3 and topics["卷积计算"] == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["s-single", "s-multiple", "s-numeric", "s-shape", "s-open", "s-generated"]),
        ("topic=BN", ["s-single", "s-numeric", "s-open"]),
        ("type=open", ["s-open"]),
        ("difficulty=3", ["s-open", "s-generated"]),
        ("bank=sample&type=shape", ["s-shape"]),
        ("q=滑动平均", ["s-single"]),
        ("q=batchnorm2d", ["s-numeric"]),
        ("q=BN 怎么计算", ["s-open"]),
        ("q=不存在的词", []),
        ("tag=基础", ["s-single"]),
        ("bank=nope", []),
    ],
)
def test_filters_and_search(client, query, expected):
    body = client.get(f"/api/v1/questions?{query}").json()
    assert [i["id"] for i in body["items"]] == expected
    assert body["total"] == len(expected)


def test_pagination(client):
    body = client.get("/api/v1/questions?limit=2&offset=1").json()
    assert [i["id"] for i in body["items"]] == ["s-multiple", "s-numeric"]
    assert (body["total"], body["limit"], body["offset"]) == (6, 2, 1)


@pytest.mark.parametrize("query", ["limit=101", "limit=0", "offset=-1", "difficulty=6", "difficulty=x", "type=essay",
                                   "q=" + "x" * 201])
def test_invalid_parameters_are_422_with_message(client, query):
    r = client.get(f"/api/v1/questions?{query}")
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_public_view_never_leaks_answers(client):
    for qid in ["s-single", "s-multiple", "s-numeric", "s-shape", "s-open", "s-generated"]:
        view = client.get(f"/api/v1/questions/{qid}").json()
        assert not SECRET_KEYS & set(walk_keys(view)), qid
    listing = client.get("/api/v1/questions").json()
    assert not SECRET_KEYS & set(walk_keys(listing["items"]))
    single = client.get("/api/v1/questions/s-single").json()
    assert [o["key"] for o in single["options"]] == ["A", "B", "C", "D"]
    assert "滑动平均" in json.dumps(single, ensure_ascii=False)  # the option text itself is public


def test_unknown_question_is_404_json(client):
    r = client.get("/api/v1/questions/does-not-exist")
    assert r.status_code == 404
    assert "does-not-exist" in r.json()["detail"]


def test_generated_instance_is_deterministic_with_pytorch_names(client):
    a = client.get("/api/v1/questions/s-generated?seed=42").json()
    b = client.get("/api/v1/questions/s-generated?seed=42").json()
    assert a == b
    assert a["seed"] == 42 and a["generator"] == "conv2d_output_shape"
    params = a["params"]
    for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "input_shape"):
        assert name in params
    assert str(params["in_channels"]) in a["prompt"] and "{{" not in a["prompt"]
    others = {json.dumps(client.get(f"/api/v1/questions/s-generated?seed={s}").json()["params"]) for s in range(10)}
    assert len(others) > 1


def test_generated_without_seed_returns_the_chosen_seed(client):
    body = client.get("/api/v1/questions/s-generated").json()
    assert isinstance(body["seed"], int)
    again = client.get(f"/api/v1/questions/s-generated?seed={body['seed']}").json()
    assert again["params"] == body["params"]


def test_markdown_math_and_no_raw_html(client):
    view = client.get("/api/v1/questions/s-shape").json()
    assert "<code>" in view["prompt_html"]
    numeric = client.get("/api/v1/questions/s-numeric").json()
    assert "<code>nn.BatchNorm2d(64)</code>" in numeric["prompt_html"]


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/questions/{question_id}" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_health_and_readiness(db_client):
    assert db_client.get("/healthz").json() == {"status": "ok"}
    ready = db_client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["database"] is True and ready["questions"] == 6
    assert len(ready["content_version"]) == 16


def test_rounds_listing(client):
    rounds = client.get("/api/v1/rounds").json()
    assert rounds[0]["id"] == "mini"
    assert [s["question_count"] for s in rounds[0]["sections"]] == [2, 2]
    assert rounds[0]["duration"] == 10


def test_oversized_body_is_413(client):
    r = client.post("/api/v1/questions/s-single/check", content=b"x" * (3 * 1024 * 1024),
                    headers={"content-type": "application/json"})
    assert r.status_code == 413


# --- HTTP caching of question views (../shared/DESIGN.md, "HTTP caching") ------------------------------


def test_fixed_view_carries_a_strong_etag_and_answers_304(client):
    r = client.get("/api/v1/questions/s-single")
    tag = r.headers["etag"]
    assert r.status_code == 200 and tag.startswith('"') and tag.endswith('"')
    assert r.headers["cache-control"] == "public, no-cache"  # a publish can change it: always revalidate
    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        again = client.get("/api/v1/questions/s-single", headers={"If-None-Match": sent})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag, sent
    stale = client.get("/api/v1/questions/s-single", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.json() == r.json()
    assert client.get("/api/v1/questions/s-single?seed=5").headers["etag"] == tag  # a seed means nothing here
    assert client.get("/api/v1/questions/s-open").headers["etag"] != tag


def test_seeded_instance_has_its_own_etag(client):
    one = client.get("/api/v1/questions/s-generated?seed=1")
    two = client.get("/api/v1/questions/s-generated?seed=2")
    assert one.headers["etag"] != two.headers["etag"]
    assert client.get("/api/v1/questions/s-generated?seed=1").headers["etag"] == one.headers["etag"]
    assert client.get("/api/v1/questions/s-generated?seed=1",
                      headers={"If-None-Match": one.headers["etag"]}).status_code == 304


def test_unseeded_generated_view_is_never_stored(client):
    r = client.get("/api/v1/questions/s-generated")
    assert r.headers["cache-control"] == "no-store" and "etag" not in r.headers
    again = client.get(f"/api/v1/questions/s-generated?seed={r.json()['seed']}").json()
    assert r.json() == again  # the fresh instance is the seeded one
    assert len({client.get("/api/v1/questions/s-generated").json()["seed"] for _ in range(5)}) > 1


def test_a_reload_changes_the_etag(tmp_path):
    import shutil

    from fastapi.testclient import TestClient

    from app.db import upgrade
    from app.main import create_app
    from tests.conftest import VALID, make_settings

    content = tmp_path / "content"
    shutil.copytree(VALID, content)
    url = f"sqlite:///{tmp_path / 'e.db'}"
    upgrade(url)
    with TestClient(create_app(make_settings(database_url=url, content_dir=content, admin_token="t"))) as c:
        old = c.get("/api/v1/questions/s-single").headers["etag"]
        bank = next((content / "banks").glob("*.md"))
        bank.write_text(bank.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # any edit is a new version
        assert c.post("/api/v1/admin/reload", headers={"Authorization": "Bearer t"}).status_code == 200
        r = c.get("/api/v1/questions/s-single", headers={"If-None-Match": old})
        assert r.status_code == 200 and r.headers["etag"] != old


def _response(r):
    return r.status_code, r.content, {k: v for k, v in r.headers.items() if k != "date"}


CHECK_IDS = ["s-single", "s-multiple", "s-numeric", "s-shape", "s-open", "s-generated", "nope"]
CHECK_BODIES = [
    b'{"answer":"B"}', b'{"answer":"b"}', b'{"answer":["A","C"]}', b'{"answer":"A,C"}', b'{"answer":1792}',
    b'{"answer":"1,792"}', b'{"answer":"(1, 64, 56, 56)"}', b'{"answer":[64,56,56]}',
    '{"answer":"训练时用小批量的均值和方差做标准化，推理时用滑动平均"}'.encode(),
    b'{"answer":"x","seed":0}', b'{"answer":"1","seed":2147483647}', b'{"answer":"1","seed":2147483648}',
    b'{"answer":"1","seed":"5"}', b'{"answer":"1","seed":true}', b'{"answer":"1","seed":1.0}',
    b'{"answer":null}', b'{"answer":{}}', b'{"answer":[[[]]]}', b'{"answer":1e400}', b'{"answer":-0.0}',
    b'{"answer":NaN}', b'{"answer":Infinity}', b'{"answer":"\\ud800"}', b'{"answer":123456789012345678901234567890}',
    b'{"answer":"B","rating":"good"}', b'{"answer":"B","rating":"bad"}', b'{"answer":"B","extra":1}',
    b'{"answer":"B","answer":"C"}', b"{}", b"[]", b'"B"', b"null", b"", b"{", b"\xff\xfe", "{\"answer\":\"Ｂ\"}".encode(),
    "\ufeff{\"answer\":\"B\"}".encode(), '{"answer":"B"}'.encode("utf-16"),
    b'{"answer":"' + b"x" * 3000 + b'"}',
]
CONTENT_TYPES = [b"application/json", b"application/json; charset=utf-8", b"text/plain", None]


def _post(c, qid: str, body: bytes, content_type: bytes | None, extra: dict | None = None):
    headers = {"content-type": content_type.decode()} if content_type is not None else {}
    return _response(c.post(f"/api/v1/questions/{qid}/check", content=body, headers={**headers, **(extra or {})}))


def test_check_answers_every_body_without_a_500(client):
    answered = 0
    for qid in CHECK_IDS:
        for body in CHECK_BODIES:
            for content_type in CONTENT_TYPES:
                status, content, _ = _post(client, qid, body, content_type)
                assert status in (200, 404, 422), (qid, body[:60], content_type, status)
                assert b"detail" in content or status == 200
                # Reached the scorer: scored, or refused as an answer it cannot read for this question.
                answered += status == 200 or (status == 422 and b"cannot be read for this question" in content)
    assert answered > 150
    for extra in [{"authorization": "Bearer nope"}, {"cookie": "mj_session=nope"}]:
        # An unknown token is anonymous, as before the caller could be known: scored, not recorded.
        status, content, _ = _post(client, "s-single", b'{"answer":"B"}', b"application/json", extra)
        assert status == 200 and b'"review"' not in content


JSON_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
               | st.text(max_size=40) | st.sampled_from(["B", "A,C", "1792", "64x56x56", "均值 方差 滑动平均"]))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
CHECK_REQUESTS = st.one_of(
    st.fixed_dictionaries({"answer": JSON_VALUES}, optional={
        "seed": st.integers(-3, 2**31 + 3) | JSON_VALUES,
        "rating": st.sampled_from(["again", "hard", "good", "easy"]) | JSON_VALUES}),
    JSON_VALUES,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(qid=st.sampled_from(CHECK_IDS), request=CHECK_REQUESTS)
def test_check_refuses_any_json_cleanly(client, qid, request):
    status, content, _ = _post(client, qid, json.dumps(request).encode(), b"application/json")
    assert status in (200, 404, 422)
    if status == 200:
        assert 0.0 <= json.loads(content)["score"] <= 1.0
