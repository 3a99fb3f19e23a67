"""The practice, today's-reviews and dashboard pages (issue 7), server-side, on SQLite and PostgreSQL.

Answers go through the real check endpoint with the browser's cookie session, as static/app.js sends them;
time moves only through the injected clock.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient

from app.web.charts import bar_chart, calendar_heatmap, heat_level
from tests.test_web_pages import csrf_of

HTMX = {"HX-Request": "true"}
RETENTION_ERROR = "期望记忆保持率必须是 0.70 到 0.99 之间的数字"


@pytest.fixture
def env(clocked_env):
    client, clock, _ = clocked_env
    return client, clock


def as_guest(client: TestClient, next_url: str = "/practice") -> None:
    """Start as a guest from the practice page's button, as a visitor would."""
    r = client.post("/guest", data={"csrf_token": csrf_of(client.get("/practice").text), "next": next_url},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == next_url


def answer(client: TestClient, qid: str, value, **extra) -> dict:
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/reviews").text).group(1)
    r = client.post(f"/api/v1/questions/{qid}/check", json={"answer": value, **extra},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    return r.json()


def shown(html: str) -> str:
    """The id of the question a page (or an htmx slot) shows."""
    return re.search(r'class="card practice-q" data-qid="([^"]+)"', html).group(1)


def seed_of(html: str) -> str:
    return re.search(r'data-seed="(\d+)"', html).group(1)


# --- practice ------------------------------------------------------------------------------------------


def test_practice_one_question_at_a_time_with_filters(env):
    client, _ = env
    page = client.get("/practice?type=single")
    assert page.status_code == 200 and shown(page.text) == "s-single"
    assert "随机抽题" in page.text and 'action="/guest"' in page.text  # anonymous: a random match, not recorded
    assert page.text.count('class="card practice-q"') == 1
    assert 'name="type" value="single" checked' in page.text
    assert 'data-answer-first="请先作答。"' in page.text and 'id="result-template"' not in page.text  # server-rendered
    assert shown(client.get("/practice?dmin=3&dmax=3&type=open").text) == "s-open"
    assert shown(client.get("/practice?topic=卷积计算&type=shape").text) == "s-shape"
    assert shown(client.get("/practice?bank=sample&dmin=1&dmax=1").text) == "s-single"
    # Several values of one filter: any of them.
    assert {shown(client.get("/practice?type=single&type=multiple").text) for _ in range(12)} == {
        "s-single", "s-multiple"}
    # The report page's weak-topic links (?topic=...) still work.
    assert "BN" in client.get("/practice?topic=BN").text.split('id="question-slot"')[1].split("</section>")[0]


def test_practice_url_is_canonical_and_lenient(env):
    client, _ = env
    r = client.get("/practice?type=multiple&dmin=1&dmax=5&bank=sample", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/practice?bank=sample&type=multiple"
    r = client.get("/practice?dmin=4&dmax=2", follow_redirects=False)  # swapped, not refused
    assert r.headers["location"] == "/practice?dmin=2&dmax=4"
    assert client.get("/practice?dmin=x&dmax=²&type=", follow_redirects=False).headers["location"] == "/practice"
    empty = client.get("/practice?topic=没有这个主题")
    assert empty.status_code == 200 and "没有符合条件的题目" in empty.text and "practice-form" not in empty.text


def test_next_question_over_htmx_keeps_filters_and_draws_fresh_instances(env):
    client, _ = env
    page = client.get("/practice?type=generated")
    nxt = re.search(r'hx-get="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert nxt.startswith("/practice?type=generated&prev=s-generated")
    slots = [client.get(nxt, headers=HTMX).text for _ in range(3)]
    assert all(s.strip().startswith('<div id="question-slot"') and "<html" not in s for s in slots)
    assert all(shown(s) == "s-generated" for s in slots)  # the only match, so shown again...
    assert len({seed_of(page.text), *map(seed_of, slots)}) == 4  # ...as a fresh instance each time
    # The question just shown is avoided while another one matches.
    assert shown(client.get("/practice?type=single&type=multiple&prev=s-single", headers=HTMX).text) == "s-multiple"


def test_weak_drill_needs_an_account_and_says_so(env):
    client, _ = env
    page = client.get("/practice?weak=1")
    assert page.status_code == 200 and "薄弱主题练习需要先登录" in page.text and shown(page.text)
    as_guest(client)
    page = client.get("/practice?weak=1")
    assert "作答还不够，暂时判断不出薄弱主题" in page.text and shown(page.text)


def test_signed_in_practice_prefers_due_cards_then_new_and_says_why(env):
    client, clock = env
    as_guest(client, "/practice?type=numeric")
    page = client.get("/practice?type=numeric")
    assert shown(page.text) == "s-numeric" and "新题" in page.text and "游客" in page.text
    assert answer(client, "s-numeric", "3")["review"]["rating"] == "again"  # due in a minute: today
    page = client.get("/practice")
    assert shown(page.text) == "s-numeric" and "到期复习" in page.text and "到期时间 2026-11-23 12:01" in page.text
    clock.advance(minutes=2)
    answer(client, "s-numeric", "128")  # the next learning step: ten minutes, still today
    assert "到期复习" in client.get("/practice?type=numeric").text
    clock.advance(minutes=10)
    answer(client, "s-numeric", "128")  # graduated: due days from now
    assert "提前复习" in client.get("/practice?type=numeric").text


def test_weak_topic_drill_from_the_dashboard(env):
    client, _ = env
    as_guest(client)
    answer(client, "s-single", "A")
    answer(client, "s-numeric", "1")  # BN 0 % over two answers, 参数量 0 % over one
    dash = client.get("/dashboard").text
    drill = re.search(r'<a class="button drill" href="([^"]+)"', dash).group(1).replace("&amp;", "&")
    assert drill == "/practice?topic=BN&weak=1"
    page = client.get(drill)
    assert "薄弱主题：BN" in page.text and shown(page.text) in ("s-single", "s-numeric", "s-open")


def test_guest_start_returns_to_our_pages_only_and_needs_csrf(env):
    client, _ = env
    token = csrf_of(client.get("/practice").text)
    assert client.post("/guest", data={"next": "/reviews"}).status_code == 403
    assert client.post("/guest", data={"next": "/reviews", "csrf_token": "forged"}).status_code == 403
    for target in ("https://evil.example/practice", "//evil.example/practice", "/admin", "/\\evil.example"):
        other = TestClient(client.app)
        t = csrf_of(other.get("/practice").text)
        r = other.post("/guest", data={"csrf_token": t, "next": target}, follow_redirects=False)
        assert r.headers["location"] == "/practice", target
    r = client.post("/guest", data={"csrf_token": token, "next": "/practice?type=open"}, follow_redirects=False)
    assert r.headers["location"] == "/practice?type=open"
    assert any(c.startswith("mj_session=") for c in r.headers.get_list("set-cookie"))


# --- today's reviews -------------------------------------------------------------------------------------


def test_reviews_prompts_anonymous_visitors(env):
    client, _ = env
    page = client.get("/reviews")
    assert page.status_code == 200 and "今日复习需要知道你答过哪些题" in page.text
    assert 'action="/guest"' in page.text and 'name="next" value="/reviews"' in page.text
    assert 'href="/login"' in page.text and 'href="/register"' in page.text and "practice-form" not in page.text


def test_reviews_work_through_the_due_list(env):
    client, clock = env
    as_guest(client, "/reviews")
    page = client.get("/reviews")
    assert "今天没有需要复习的题目了" in page.text and "你还没有复习卡片" in page.text
    answer(client, "s-numeric", "3")  # again: due at 12:01, today
    answer(client, "s-single", "A")  # again: due at 12:01 too, answered later
    easy = answer(client, "s-open", "x", rating="easy")["review"]["due"]  # days away
    page = client.get("/reviews")
    assert "今天还剩 2 道到期" in page.text and shown(page.text) == "s-numeric" and "到期复习" in page.text
    assert re.search(r'id="due-badge">2<', page.text)
    # Skipping the first shows the second; skipping both says so.
    nxt = re.search(r'hx-get="([^"]+)"', page.text).group(1)
    assert nxt == "/reviews?skip=s-numeric.1"  # the card, and its latest answer (attempt 1) when it was shown
    slot = client.get(nxt, headers=HTMX).text
    assert shown(slot) == "s-single" and "本轮跳过 1 道" in slot and 'hx-swap-oob="true"' in slot
    nxt = re.search(r'hx-get="([^"]+)"', slot).group(1).replace("&amp;", "&")
    assert nxt == "/reviews?skip=s-numeric.1&skip=s-single.2"
    slot = client.get(nxt, headers=HTMX).text
    assert "剩下的到期题目都被跳过了" in slot
    # An answered card is not a skipped one, even when it is due again today (its next step is in 10 minutes).
    page = client.get("/reviews")
    nxt = re.search(r'hx-get="([^"]+)"', page.text).group(1)
    answer(client, "s-numeric", "128")
    slot = client.get(nxt, headers=HTMX).text
    assert "今天还剩 2 道到期" in slot and "跳过" not in slot.split('class="card practice-q"')[0]
    assert shown(slot) == "s-single" and re.search(r'id="due-badge"[^>]*>2<', slot)
    nxt = re.search(r'hx-get="([^"]+)"', slot).group(1).replace("&amp;", "&")
    answer(client, "s-single", "B")
    slot = client.get(nxt, headers=HTMX).text
    assert "今天还剩 2 道到期" in slot and "本轮跳过" not in slot and shown(slot) == "s-numeric"
    # Answered right past the last step, the cards leave today's list; the count and the nav badge follow.
    clock.advance(minutes=10)
    later = [answer(client, "s-numeric", "128")["review"]["due"]]
    slot = client.get("/reviews", headers=HTMX).text
    assert "今天还剩 1 道到期" in slot and shown(slot) == "s-single" and re.search(r'id="due-badge"[^>]*>1<', slot)
    later.append(answer(client, "s-single", "B")["review"]["due"])
    page = client.get("/reviews")
    assert "今天没有需要复习的题目了" in page.text and re.search(r'id="due-badge" hidden>0<', page.text)
    first_day = min(datetime.fromisoformat(d).date() for d in [easy, *later])
    assert first_day > date(2026, 11, 23) and f"下一道题 {first_day.isoformat()} 到期" in page.text


def parent_boxes(html: str) -> list[str]:
    """The collapsed parent questions a practice slot shows above its question."""
    return re.findall(r'<details class="parent-q"[^>]*>.*?</details>', html, re.S)


def test_a_follow_up_practised_alone_carries_its_parent_question(env):
    client, clock = env
    page = client.get("/practice?type=numeric")
    assert shown(page.text) == "s-numeric"  # the 追问 of s-single
    boxes = parent_boxes(page.text)
    assert len(boxes) == 1
    box = boxes[0]
    assert 'data-qid="s-single"' in box and " open" not in box.split(">", 1)[0]  # collapsed
    assert "这是一道追问，原题：单选" in box and "<p>推理阶段 BN 使用什么统计量？</p>" in box
    assert 'class="option-row">B. <p>训练时累计的滑动平均</p>' in box  # options and prompt, rendered as the question's
    assert 'class="badge followup"' in page.text
    assert "A follow-up to: 单选" in client.get("/practice?type=numeric&lang=en").text
    client.get("/practice?lang=zh")
    # A main question carries none, nor does the next one over htmx unless it is a follow-up.
    assert parent_boxes(client.get("/practice?type=shape").text) == []
    slot = client.get("/practice?type=numeric&prev=s-single", headers=HTMX).text
    assert shown(slot) == "s-numeric" and len(parent_boxes(slot)) == 1
    # Today's reviews show it the same way.
    as_guest(client)
    answer(client, "s-numeric", "3")  # again: due in a minute
    clock.advance(minutes=2)
    review = client.get("/reviews").text
    assert shown(review) == "s-numeric" and "推理阶段 BN 使用什么统计量？" in parent_boxes(review)[0]


def test_a_follow_up_of_a_follow_up_carries_the_whole_chain_outermost_first(tmp_path):
    import shutil

    from app.content.loader import load_content
    from app.views import followed_up
    from tests.conftest import VALID

    shutil.copytree(VALID, tmp_path / "c")
    bank = tmp_path / "c" / "banks" / "sample.md"
    text = bank.read_text(encoding="utf-8")
    bank.write_text(text.replace("answer: 128\ntolerance: 0\n", "answer: 128\ntolerance: 0\nfollowups: [s-shape]\n"),
                    encoding="utf-8")
    content = load_content(tmp_path / "c")
    assert [v["id"] for v in followed_up(content, "s-shape")] == ["s-single", "s-numeric"]
    assert [v["id"] for v in followed_up(content, "s-numeric")] == ["s-single"]
    assert followed_up(content, "s-single") == []


# --- the dashboard -------------------------------------------------------------------------------------


def test_dashboard_prompts_anonymous_and_has_an_empty_state(env):
    client, _ = env
    assert "仪表盘显示你自己的练习记录" in client.get("/dashboard").text
    as_guest(client, "/dashboard")
    page = client.get("/dashboard")
    assert page.status_code == 200 and "还没有练习记录" in page.text and "还没有作答" in page.text
    assert "svg" in page.text and 'class="chart heatmap"' in page.text  # an empty calendar still draws
    assert "未来 14 天共有 0 道题到期" in page.text and "还没有面试记录" in page.text


def test_dashboard_shows_the_same_figures_as_the_stats_api(env):
    client, clock = env
    as_guest(client, "/dashboard")
    answer(client, "s-single", "B")
    answer(client, "s-numeric", "1")
    answer(client, "s-open", "按通道求均值和方差")  # 3 of 4 weighted key points; not rated: never due
    clock.advance(days=1)
    answer(client, "s-numeric", "128")
    page = client.get("/dashboard").text
    stats = client.get("/api/v1/me/stats").json()
    assert "共作答 4 次，涉及 3 道题" in page
    mastery = page.split('id="mastery"')[1].split("</section>")[0]
    assert 'class="chart bar-chart"' in mastery
    for m in stats["mastery"]:
        assert f">{m['topic']}</text>" in mastery and f">{round(m['mastery'] * 100)}%</text>" in mastery
    assert [m["topic"] for m in stats["mastery"]] == ["BN", "参数量"]
    heat = page.split('id="activity"')[1].split("</section>")[0]
    assert '<rect class="day l4" x="' in heat and "<title>2026-11-23：3 次作答</title>" in heat
    assert re.search(r'class="day l2"[^>]+><title>2026-11-24：1 次作答</title>', heat)
    assert "最近 52 周共作答 4 次，2 天有练习" in heat and "少" in heat and "多" in heat
    total = sum(stats["forecast"].values())
    assert total == 2 and f"未来 14 天共有 {total} 道题到期" in page
    assert ">今天</text>" in page.split('id="forecast"')[1]
    # Everything scheduled so far is due today (learning steps are minutes): the count is the forecast's today.
    assert stats["due_now"] == 2 == stats["forecast"]["2026-11-24"] and "2 道到期，开始复习" in page
    assert 'href="/api/v1/me/export?format=csv"' in page and 'href="/api/v1/me/export?format=json"' in page


def test_dashboard_lists_recent_interviews_with_links_to_reports(env):
    client, _ = env
    as_guest(client, "/dashboard")
    r = client.post("/start", data={"round": "mini", "csrf_token": csrf_of(client.get("/").text)},
                    follow_redirects=False)
    loc = r.headers["location"]
    page = client.get("/dashboard").text
    assert f'<a href="{loc}">迷你轮</a>' in page and "进行中" in page
    client.post(f"{loc}/finish", data={"csrf_token": csrf_of(client.get(loc).text)})
    page = client.get("/dashboard").text
    assert f'<a href="{loc}/report">迷你轮</a>' in page


def test_dashboard_and_reviews_show_only_my_data(env):
    client, clock = env
    as_guest(client, "/dashboard")
    answer(client, "s-numeric", "1")
    answer(client, "s-shape", "1,2,3,4")
    clock.advance(minutes=5)
    assert "今天还剩 2 道到期" in client.get("/reviews").text
    other = TestClient(client.app)
    as_guest(other, "/dashboard")
    page = other.get("/dashboard").text
    assert "还没有练习记录" in page and "参数量" not in page and "卷积计算" not in page
    assert "今天没有需要复习的题目了" in other.get("/reviews").text
    assert other.get("/api/v1/me/export").json() == []
    assert shown(other.get("/practice?type=numeric").text) == "s-numeric"
    assert "新题" in other.get("/practice?type=numeric").text  # my card is not theirs


def test_retention_form_validates_and_needs_csrf(env):
    client, _ = env
    as_guest(client, "/dashboard")
    token = csrf_of(client.get("/dashboard").text)
    assert client.post("/dashboard/retention", data={"desired_retention": "0.8"}).status_code == 403
    assert client.post("/dashboard/retention", data={"desired_retention": "0.8", "csrf_token": "x" * 64},
                       ).status_code == 403
    for bad in ("0.5", "0.995", "1", "high", "", "nan", "inf"):
        r = client.post("/dashboard/retention", data={"desired_retention": bad, "csrf_token": token})
        assert r.status_code == 422 and RETENTION_ERROR in r.text and 'aria-invalid="true"' in r.text, bad
    for bad in ("1", "100", "-3", "many", "2.5"):
        r = client.post("/dashboard/retention", data={"desired_retention": "0.8", "leech_lapses": bad,
                                                      "csrf_token": token})
        assert r.status_code == 422 and "请填 2 到 99 之间的整数。" in r.text, bad
    assert client.get("/api/v1/me/settings").json() == {"desired_retention": 0.9, "timezone": None,
                                                        "leech_lapses": 8}
    r = client.post("/dashboard/retention", data={"desired_retention": " 0.85 ", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?saved=1#settings"
    assert client.get("/api/v1/me/settings").json() == {"desired_retention": 0.85, "timezone": None,
                                                        "leech_lapses": 8}
    r = client.post("/dashboard/retention", data={"desired_retention": "0.85", "leech_lapses": "5",
                                                  "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and client.get("/api/v1/me/settings").json()["leech_lapses"] == 5
    page = client.get("/dashboard?saved=1").text
    assert "已保存" in page and 'value="0.85"' in page
    anon = TestClient(client.app)
    t = csrf_of(anon.get("/").text)
    r = anon.post("/dashboard/retention", data={"desired_retention": "0.8", "csrf_token": t}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"


def test_export_links_work_with_the_cookie_session(env):
    client, _ = env
    as_guest(client, "/dashboard")
    answer(client, "s-single", "B")
    csv_body = client.get("/api/v1/me/export?format=csv")
    assert csv_body.status_code == 200 and csv_body.headers["content-type"].startswith("text/csv")
    assert "s-single" in csv_body.content.decode("utf-8-sig")
    assert client.get("/api/v1/me/export?format=json").json()[0]["question_id"] == "s-single"


def test_days_follow_the_browsers_time_zone(env):
    client, clock = env
    as_guest(client, "/dashboard")
    clock.advance(hours=13)  # 01:00 UTC on the 24th: still the 23rd in New York, the 24th in Shanghai
    answer(client, "s-single", "B")
    page = client.get("/dashboard").text
    assert "<title>2026-11-24：1 次作答</title>" in page  # not reported yet: UTC
    assert 'data-timezone=""' in page and "还不知道你的时区" in page
    # What static/app.js sends once the page sees the browser's zone differs from the stored one.
    token = {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)}
    assert client.patch("/api/v1/me/settings", json={"timezone": "America/New_York"}).status_code == 403  # CSRF
    r = client.patch("/api/v1/me/settings", json={"timezone": "America/New_York"}, headers=token)
    assert r.status_code == 200 and r.json() == {"desired_retention": 0.9, "timezone": "America/New_York", "leech_lapses": 8}
    page = client.get("/dashboard").text
    assert "<title>2026-11-23：1 次作答</title>" in page and 'data-timezone="America/New_York"' in page
    assert "按你的时区 America/New_York 计算" in page
    r = client.patch("/api/v1/me/settings", json={"timezone": "Mars/Olympus"}, headers=token)
    assert r.status_code == 422 and "unknown time zone 'Mars/Olympus'" in r.json()["detail"]
    assert "<title>2026-11-23：1 次作答</title>" in client.get("/dashboard").text  # kept
    assert "follow your time zone, America/New_York" in client.get("/dashboard?lang=en").text
    assert "data-timezone" not in TestClient(client.app).get("/dashboard").text  # nobody signed in


def test_pages_in_english_and_nav_links(env):
    client, _ = env
    as_guest(client, "/dashboard")
    page = client.get("/dashboard?lang=en").text
    assert "Mastery per topic" in page and "Reviews in the next 14 days" in page and "Desired retention" in page
    assert 'href="/reviews"' in page and "Today&#39;s reviews" in page and 'href="/dashboard" aria-current="page"' in page
    assert "Filters" in client.get("/practice").text


# --- the charts (pure) -----------------------------------------------------------------------------------


def test_calendar_heatmap_weeks_levels_titles_and_legend():
    today = date(2026, 11, 25)  # a Wednesday
    svg = calendar_heatmap({"2026-11-23": 8, "2026-11-24": 2, "2026-11-26": 5}, today=today, weeks=4,
                           title="活动 <b>", day_title=lambda d, n: f"{d}={n}", month_names=[f"m{i}" for i in range(1, 13)],
                           weekday_names=list("一二三四五六日"), less="少", more="多")
    assert svg.startswith('<svg class="chart heatmap" role="img" aria-label="活动 &lt;b&gt;"')
    days = re.findall(r'<rect class="day l(\d)"[^>]*><title>([\d-]+)=(\d+)</title>', svg)
    assert len(days) == 3 * 7 + 3  # three full weeks and Monday to Wednesday of this one; no future days
    assert days[0][1] == "2026-11-02" and days[-1][1] == "2026-11-25"
    assert ("4", "2026-11-23", "8") in days and ("1", "2026-11-24", "2") in days
    assert all(level == "0" for level, _, n in days if n == "0")
    assert svg.count('class="day l') == len(days) + 5  # the legend's five steps
    assert ">少</text>" in svg and ">多</text>" in svg and ">一</text>" in svg
    assert [heat_level(n, 8) for n in (0, 1, 2, 3, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3, 4, 4]


def test_bar_chart_counts_with_a_scale():
    svg = bar_chart([("今天", 4), ("明天", 1)], title="t", scale=4, value_text=lambda n: str(int(n)), weak_below=None)
    assert ">4</text>" in svg and ">1</text>" in svg and "weak" not in svg
    assert 'class="bar" x="150" y="8" width="350.0"' in svg
    assert "bar weak" in bar_chart([("a", 0.2)], title="t")  # scores: the default, as before


def test_every_string_the_pages_ask_for_is_translated():
    from pathlib import Path

    from app.content.model import QUESTION_TYPES
    from app.web.i18n import STRINGS
    from app.web.verdicts import VERDICTS

    root = Path(__file__).resolve().parent.parent
    sources = [*root.glob("templates/*.html"), *(p for p in root.glob("app/web/*.py") if p.name != "i18n.py")]
    literal = {k for p in sources for k in re.findall(r'''\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]''', p.read_text())}
    dynamic = {f"type_{t}" for t in QUESTION_TYPES} | {f"reason_{r}" for r in ("due", "new", "ahead", "random", "weak")}
    dynamic |= {f"verdict_{v}" for v in VERDICTS} | {f"code_{c}" for c in (
        "open_coverage", "open_coverage_named", "open_contradicted", "open_named", "open_missing", "misconception")}
    assert "reviews_left" in literal and "heatmap_day" in literal
    for lang in ("zh", "en"):
        assert sorted((literal | dynamic) - set(STRINGS[lang])) == [], lang
