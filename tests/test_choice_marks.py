"""After a check, a choice item's options say in place which one the candidate chose and which are right
(✓ / ✗ with words, not colour alone): in the practice and review check fragment and in the interview report,
on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.web.practice_views import chosen_keys, marked_options
from tests.test_web_pages import csrf_of, start_guest


def token(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', client.get("/practice").text).group(1)}


def marks(html: str) -> dict[str, tuple[str, str]]:
    """Option key -> (its classes, the words of its mark, "" for none) of the marked options in `html`."""
    out = {}
    for classes, key, label in re.findall(
            r'<div class="option([^"]*)">\s*<input[^>]*value="(\w)"[^>]*>\s*<label[^>]*>(.*?)</label>', html, re.S):
        mark = re.search(r'<span class="opt-mark[^"]*"><span aria-hidden="true">([✓✗])</span>\s*(.*?)</span>',
                         label, re.S)
        out[key] = (classes.strip(), f"{mark.group(1)} {mark.group(2).strip()}" if mark else "")
    return out


def check(client: TestClient, qid: str, choice) -> str:
    r = client.post(f"/practice/{qid}/check", data={"choice": choice}, headers=token(client))
    assert r.status_code == 200, r.text
    return r.text


def test_a_wrong_single_choice_marks_the_chosen_and_the_right_option(db_client):
    html = check(db_client, "s-single", "A")
    fieldset = re.search(r'<fieldset class="marked" data-part="options">.*?</fieldset>', html, re.S).group(0)
    assert marks(fieldset) == {"A": ("chosen wrong", "✗ 你的选择 · 错误"), "B": ("right", "✓ 正确答案 · 你没有选"),
                               "C": ("", ""), "D": ("", "")}
    # The marked options are the form's own inputs, disabled, the chosen one still checked.
    assert re.search(r'value="A" data-index="1" checked disabled>', fieldset)
    assert fieldset.count(" disabled>") == 4 and fieldset.count(" checked") == 1


def test_a_right_single_choice_and_a_partial_multiple_choice(db_client):
    assert marks(check(db_client, "s-single", "B")) == {
        "A": ("", ""), "B": ("chosen right", "✓ 你的选择 · 正确"), "C": ("", ""), "D": ("", "")}
    assert marks(check(db_client, "s-multiple", ["A", "C"])) == {
        "A": ("chosen right", "✓ 你的选择 · 正确"), "B": ("right", "✓ 正确答案 · 你没有选"),
        "C": ("chosen wrong", "✗ 你的选择 · 错误"), "D": ("right", "✓ 正确答案 · 你没有选")}
    db_client.get("/practice?lang=en")
    assert marks(check(db_client, "s-multiple", ["C"]))["C"] == ("chosen wrong", "✗ Your choice · wrong")
    assert marks(check(db_client, "s-multiple", ["A"]))["B"] == ("right", "✓ Correct answer · not chosen")


def test_other_items_have_no_marked_options(db_client):
    r = db_client.post("/practice/s-numeric/check", data={"text": "128"}, headers=token(db_client))
    assert 'data-part="options"' not in r.text and "opt-mark" not in r.text


def report_marks(report: str, qtype: str) -> dict[str, tuple[str, str]]:
    article = re.search(rf'<article class="card rq[^"]*" data-position="\d+" data-type="{qtype}">(.*?)</article>',
                        report, re.S).group(1)
    out = {}
    for classes, key, body in re.findall(r'<li class="option-row([^"]*)">(\w)\. (.*?)</li>', article, re.S):
        mark = re.search(r'<span aria-hidden="true">([✓✗])</span>\s*(.*?)</span>', body, re.S)
        out[key] = (classes.strip(), f"{mark.group(1)} {mark.group(2).strip()}" if mark else "")
    return out


def finished(client: TestClient, answers: dict[int, object]) -> str:
    loc = start_guest(client)
    csrf = csrf_of(client.get(loc).text)
    for position, answer in answers.items():
        assert client.put(f"/api/v1{loc}/answers/{position}", json={"answer": answer},
                          headers={"X-CSRF-Token": csrf}).is_success
    assert client.post(f"{loc}/finish", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    return client.get(f"{loc}/report").text


def test_the_report_marks_the_options_in_place(db_client):
    # The mini round: s-open, then the single-choice pick s-single (position 1) and its follow-up.
    report = finished(db_client, {1: "a"})  # as the API takes it: any case, any separator
    assert report_marks(report, "single") == {"A": ("chosen wrong", "✗ 你的选择 · 错误"),
                                              "B": ("right", "✓ 正确答案 · 你没有选"), "C": ("", ""), "D": ("", "")}
    unanswered = finished(db_client, {})
    assert report_marks(unanswered, "single") == {"A": ("", ""), "B": ("right", "✓ 正确答案 · 你没有选"),
                                                  "C": ("", ""), "D": ("", "")}


def test_marks_read_keys_as_the_scoring_does():
    options = [{"key": k, "text": k, "text_html": k} for k in "ABCD"]
    assert chosen_keys("a, c") == ("A", "C") and chosen_keys(["b"]) == ("B",)
    assert chosen_keys("??") == () and chosen_keys(None) == () and chosen_keys({"x": 1}) == ()
    shown = marked_options(options, chosen_keys("a,c"), ["A", "B"])
    assert [(o["key"], o["chosen"], o["correct"]) for o in shown] == [
        ("A", True, True), ("B", False, True), ("C", True, False), ("D", False, False)]
    assert marked_options(options, (), "B")[1]["correct"]  # a single item's expected is one key
