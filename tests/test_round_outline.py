"""A round's card says what will be asked: main questions, the follow-ups they bring (a range where
questions are picked when the interview starts), in all, the time and the sections; and that is what an
interview of it asks."""

from __future__ import annotations

import re

import pytest

from app.content.loader import pick_round_questions, round_outline, with_followups


def asked(content, rnd, seed: int) -> list[tuple[int, int]]:
    """(main questions, follow-ups) per section of an interview drawn with `seed`, as start_interview draws it."""
    out = []
    for ids in pick_round_questions(content, rnd, seed):
        chain = with_followups(content, ids)
        main = sum(1 for _, parent in chain if parent is None)
        out.append((main, len(chain) - main))
    return out


def test_every_bundled_round_asks_what_its_outline_says(bundled_content):
    for rnd in bundled_content.rounds:
        outline = round_outline(bundled_content, rnd)
        # Every pick is asked as a main question: never one the round asks already (dl-basics picks two conv
        # questions, one of which may follow the other up).
        assert [o.main for o in outline] == [s.question_count for s in rnd.sections], rnd.id
        seen_totals = set()
        for seed in range(60):
            drawn = asked(bundled_content, rnd, seed)
            for (main, followups), o in zip(drawn, outline, strict=True):
                assert main == o.main, rnd.id
                assert o.followups_min <= followups <= o.followups_max, rnd.id
            seen_totals.add(sum(m + f for m, f in drawn))
        lo = sum(o.main + o.followups_min for o in outline)
        hi = sum(o.main + o.followups_max for o in outline)
        assert lo <= min(seen_totals) and max(seen_totals) <= hi, rnd.id


def test_the_tplink_round_counts_its_follow_ups(bundled_content):
    """The card that said "8 题" while 22 were asked: its follow-ups are counted now."""
    rnd = bundled_content.rounds_by_id["tplink-cv-1"]
    outline = round_outline(bundled_content, rnd)
    main = sum(o.main for o in outline)
    assert main == sum(s.question_count for s in rnd.sections) == 8
    assert sum(o.followups_min for o in outline) >= 14  # the fixed chains alone: project and BN
    assert round_outline(bundled_content, rnd) is outline  # cached per content version


def test_the_api_and_the_home_page_show_main_questions_and_follow_ups(db_client):
    rounds = db_client.get("/api/v1/rounds").json()
    mini = next(r for r in rounds if r["id"] == "mini")
    # s-open, then s-single with its follow-up s-numeric; then two of the conv questions (no follow-ups).
    assert (mini["question_count"], mini["followups_min"], mini["followups_max"]) == (4, 1, 1)
    assert [(s["question_count"], s["followups_min"], s["followups_max"]) for s in mini["sections"]] == [
        (2, 1, 1), (2, 0, 0)]
    home = db_client.get("/").text
    card = re.search(r'<li class="card round" data-round="mini">(.*?)</li>\s*\n\s*</ul>|'
                     r'<li class="card round" data-round="mini">(.*?)<form', home, re.S)
    text = " ".join(re.sub(r"<[^>]+>", " ", next(g for g in card.groups() if g)).split())
    assert "10 分钟 · 2 环节 · 主问题 4 道 · 追问 1 道 · 共 5 道" in text
    assert "基础 (6 分钟 · 主问题 2 道 · 追问 1 道 · 共 3 道)" in text and "计算 (4 分钟 · 主问题 2 道)" in text
    assert "随开始时抽到的题而定" not in text  # nothing to draw that changes the follow-ups
    english = db_client.get("/?lang=en").text
    assert "main questions: 4 · follow-ups: 1 · in all: 5" in english
    # What the card says is what an interview asks.
    token = db_client.post("/api/v1/auth/guest").json()["access_token"]
    started = db_client.post("/api/v1/interviews", json={"round": "mini"},
                             headers={"Authorization": f"Bearer {token}"}).json()
    assert len(started["questions"]) == 5
    assert sum(1 for q in started["questions"] if q["followup_of"] is not None) == 1


@pytest.mark.parametrize("round_id", ["dl-basics"])  # a round that draws picks (tplink-cv-1 follows the notes, no picks)
def test_a_range_where_picks_decide_the_follow_ups(bundled_content, round_id):
    outline = round_outline(bundled_content, bundled_content.rounds_by_id[round_id])
    assert any(o.followups_min < o.followups_max for o in outline)
