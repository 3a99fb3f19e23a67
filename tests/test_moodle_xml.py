"""Moodle XML import and export (app/formats/moodle_xml.py) against files written for these tests and every
bundled bank; the export is checked against what Moodle's qformat_xml reader looks for."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.content.loader import load_content
from app.content.model import Accepted, Option, Pair, Question
from app.formats import ImportResult
from app.formats.moodle_xml import category_topic, export_moodle_xml, html_to_markdown, import_moodle_xml
from app.scoring.check import check_answer
from tests.format_answers import OBJECTIVE, right_and_wrong

DATA = Path(__file__).parent / "data" / "moodle"
CONTENT = Path(__file__).resolve().parent.parent / "content"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


@pytest.fixture(scope="module")
def every_type() -> ImportResult:
    return import_moodle_xml((DATA / "all_types.xml").read_bytes(), bank="cv", file="all_types.xml")


def by_id(result: ImportResult) -> dict[str, Question]:
    return {q.id: q for q in result.questions}


def where(q: Question) -> Question:
    return dataclasses.replace(q, file="", line=0)


def test_every_supported_type_is_imported_with_its_moodle_meaning(every_type: ImportResult) -> None:
    qs = by_id(every_type)
    assert list(qs) == [
        "det-nms-threshold", "cv-anchor-free-detectors", "cv-partial-credit", "cv-uneven-weights",
        "cv-bn-at-inference", "cv-activation-name", "cv-case-matters", "cv-receptive-field", "cv-memory",
        "cv-normalisations", "cv-explain-dropout", "cv-explain-residuals", "cv-section-intro"]
    nms = qs["det-nms-threshold"]  # <idnumber> lower-cased wins; html -> markdown with MathJax -> $…$
    assert (nms.type, nms.title, nms.topics, nms.tags) == ("single", "IoU threshold", ("检测",),
                                                          ("nms", "post-processing"))
    assert nms.prompt == "In **NMS**, what happens when the IoU threshold $t$ is raised from 0.5 to 0.7?"
    assert nms.explanation == "A higher threshold suppresses *fewer* boxes."
    assert nms.options[0] == Option("A", "More overlapping boxes survive", True,
                                    "Right: only boxes overlapping more than 0.7 are removed.")
    assert nms.options[1].feedback == "It is the other way round." and nms.weights is None
    assert (nms.difficulty, nms.source, nms.imported_from) == (3, "all_types.xml", "moodle-xml:all_types.xml")

    anchor = qs["cv-anchor-free-detectors"]  # Moodle's even split is Mianjing's default: no weights
    assert anchor.type == "multiple" and anchor.correct_keys == ("A", "B") and anchor.weights is None
    assert anchor.options[2].feedback == "Faster R-CNN uses anchors in its RPN."
    partial = qs["cv-partial-credit"]  # 33.33333 is 1/3
    assert partial.type == "single" and partial.weights == {"A": 1.0, "B": 1 / 3, "C": -0.25}
    assert qs["cv-uneven-weights"].weights == {"A": 2 / 3, "B": 1 / 3, "C": -1.0}

    tf = qs["cv-bn-at-inference"]
    assert tf.type == "truefalse" and tf.answer is True and tf.topics == ("基础",)
    assert [(o.key, o.correct, o.feedback) for o in tf.options] == [
        ("T", True, "Yes."), ("F", False, "No: the batch statistics are only used in training.")]
    relu = qs["cv-activation-name"]
    assert relu.accepted == (Accepted(text="ReLU", feedback="Correct."),
                             Accepted(text="*rectified*", fraction=0.5, feedback="Its short name is ReLU."))
    assert not relu.case_sensitive and qs["cv-case-matters"].case_sensitive

    rf = qs["cv-receptive-field"]  # the * answer is dropped; one unit with multiplier 1 is kept
    assert rf.accepted == (Accepted(value=5.0, feedback="3 + (3 - 1) = 5."),
                           Accepted(value=6.0, tolerance=0.5, fraction=0.5))
    assert (rf.answer, rf.unit) == (5.0, "px")
    memory = qs["cv-memory"]
    assert (memory.answer, memory.tolerance, memory.accepted, memory.unit) == (4.0, 0.01, (), None)

    assert qs["cv-normalisations"].pairs == (Pair("BatchNorm", "N, H, W"), Pair("LayerNorm", "C, H, W"),
                                             Pair("InstanceNorm", "H, W"), Pair("", "N only"))
    dropout = qs["cv-explain-dropout"]
    assert dropout.type == "open" and dropout.self_rated and not dropout.keypoints
    assert dropout.reference == "It trains an ensemble of thinned networks that share weights."
    assert dropout.explanation == "Think of an ensemble."
    residuals = qs["cv-explain-residuals"]  # no grader info: the general feedback is the reference
    assert (residuals.reference, residuals.explanation) == ("Gradients flow through the identity path.", "")
    intro = qs["cv-section-intro"]
    assert intro.type == "description" and intro.scored is False


def test_images_become_bank_assets_referenced_from_the_markdown(every_type: ImportResult) -> None:
    name = hashlib.sha256(PNG).hexdigest()[:8] + "-drop_out.png"
    assert every_type.assets == {name: PNG}
    prompt = by_id(every_type)["cv-explain-dropout"].prompt
    assert prompt == f"Why does dropout reduce over-fitting? Include the image: ![dropout diagram](assets/cv/{name})"


def test_what_is_not_carried_is_reported_with_its_line(every_type: ImportResult) -> None:
    notes = [(n.kind, n.line, n.message.split(" / ")[1]) for n in every_type.notes]
    assert notes == [
        ("warning", 114, "the catch-all * answer was dropped"),
        ("warning", 124, "units other than one unit with multiplier 1 are ignored"),
        ("warning", 154, "file broken.png: invalid base64, dropped (its images keep their alt text)"),
        ("skipped", 157, "question type cloze is not supported"),
        ("skipped", 161, "question type calculated is not supported"),
        ("skipped", 165, "question type ddwtos is not supported"),
        ("skipped", 169, "missing <questiontext>"),
        ("skipped", 173, "a <question> without a type"),
    ]
    assert not every_type.errors
    # the image whose file could not be decoded keeps only its alt text (here the file name)
    assert by_id(every_type)["cv-section-intro"].prompt == "The next questions are about **training**.\n\nbroken.png"


@pytest.mark.parametrize("name", ["entity_bomb.xml", "external_entity.xml"])
def test_dtds_and_entities_are_refused(name: str) -> None:
    result = import_moodle_xml((DATA / name).read_bytes(), bank="cv", file=name)
    assert not result.questions
    assert [n.kind for n in result.notes] == ["error"]
    assert "DTD" in result.notes[0].message


def test_malformed_xml_is_an_error_at_its_line() -> None:
    result = import_moodle_xml((DATA / "malformed.xml").read_bytes(), bank="cv", file="malformed.xml")
    assert [(n.kind, n.line) for n in result.notes] == [("error", 5)]
    assert "mismatched tag" in result.notes[0].message


def test_a_file_that_is_not_a_quiz_is_an_error() -> None:
    result = import_moodle_xml(b"<questions/>", bank="cv", file="x.xml")
    assert [n.kind for n in result.notes] == ["error"] and "<quiz>" in result.notes[0].message


def test_a_broken_extension_falls_back_to_the_moodle_meaning() -> None:
    xml = ('<quiz><question type="truefalse"><name><text>t</text></name><questiontext format="markdown">'
           '<text>Sky is blue</text></questiontext><answer fraction="100"><text>true</text></answer>'
           '<answer fraction="0"><text>false</text></answer><mianjing>{not json</mianjing></question></quiz>')
    result = import_moodle_xml(xml, bank="b", file="x.xml")
    assert [q.type for q in result.questions] == ["truefalse"] and result.questions[0].answer is True
    assert [n.kind for n in result.notes] == ["warning"] and "not valid JSON" in result.notes[0].message
    bad = xml.replace("{not json", '{"id": "b-x", "type": "nonsense"}')
    result = import_moodle_xml(bad, bank="b", file="x.xml")
    assert not result.questions and [n.kind for n in result.notes] == ["skipped"]


def test_html_becomes_markdown_without_raw_html() -> None:
    md = html_to_markdown('<p>a <script>alert(1)</script><b>b</b> \\[x &lt; y\\] <span style="x">c</span></p>'
                          '<ul><li>one</li><li>two</li></ul>', {}, "b")
    assert md == "a **b** $$x < y$$ c\n\n- one\n- two"


def test_category_paths() -> None:
    assert category_topic("$course$/top/CV/检测") == "检测"
    assert category_topic("$course$/top") == ""
    assert category_topic("$system$/top/a//b") == "a/b"


def test_every_bundled_bank_round_trips(content) -> None:
    """export → import → export is the same file, and the import rebuilds every Question exactly."""
    titles = {b.id: b.title for b in content.banks}
    for bank in content.banks:
        questions = [q for q in content.questions if q.bank == bank.id]
        first = export_moodle_xml(questions, bank_titles=titles)
        result = import_moodle_xml(first.encode(), bank=bank.id, file=f"{bank.id}.xml")
        assert not result.notes, bank.id
        assert [where(q) for q in result.questions] == [where(q) for q in questions], bank.id
        assert export_moodle_xml(result.questions, bank_titles=titles) == first, bank.id


def test_a_moodle_file_round_trips_after_its_first_import(every_type: ImportResult) -> None:
    first = export_moodle_xml(every_type.questions)
    again = import_moodle_xml(first, bank="cv", file="all_types.xml")
    assert [where(q) for q in again.questions] == [where(q) for q in every_type.questions]
    assert export_moodle_xml(again.questions) == first


def _questions(xml: str) -> list[ET.Element]:
    return [q for q in ET.fromstring(xml) if q.tag == "question" and q.get("type") != "category"]


def test_the_export_has_what_moodles_reader_looks_for(content, every_type: ImportResult) -> None:
    questions = [*content.questions, *every_type.questions]
    xml = export_moodle_xml(questions)
    root = ET.fromstring(xml)
    assert root.tag == "quiz"
    categories = [q for q in root if q.get("type") == "category"]
    assert categories and all(c.findtext("category/text", "").startswith("$course$/top/") for c in categories)
    seen = set()
    for el in _questions(xml):
        qtype = el.get("type")
        seen.add(qtype)
        # the headers every type reads (import_headers): <name><text>, <questiontext format><text>, …
        assert el.findtext("name/text", "").strip(), qtype
        assert el.find("questiontext").get("format") == "markdown"
        assert el.find("questiontext/text") is not None and el.find("generalfeedback/text") is not None
        for tag in ("defaultgrade", "penalty", "hidden", "idnumber"):
            float(el.findtext(tag)) if tag != "idnumber" else el.findtext(tag)
        assert json.loads(el.findtext("mianjing"))["id"]
        answers = el.findall("answer")
        for a in answers:
            float(a.get("fraction"))
            assert a.find("text") is not None and a.find("feedback/text") is not None
        if qtype == "multichoice":
            assert el.findtext("single") in ("true", "false") and el.findtext("shuffleanswers") == "false"
            assert el.findtext("answernumbering") == "ABCD" and len(answers) >= 2
        elif qtype == "truefalse":
            assert [a.findtext("text") for a in answers] == ["true", "false"]
            assert sorted(a.get("fraction") for a in answers) == ["0", "100"]
        elif qtype == "shortanswer":
            assert el.findtext("usecase") in ("0", "1") and answers
        elif qtype == "numerical":
            assert answers and all(float(a.findtext("tolerance")) >= 0 for a in answers)
            [float(a.findtext("text")) for a in answers]
        elif qtype == "matching":
            subs = el.findall("subquestion")
            assert len(subs) >= 3 and all(s.find("text") is not None and s.findtext("answer/text") for s in subs)
        elif qtype == "essay":
            assert el.find("graderinfo/text") is not None and el.findtext("responseformat") == "editor"
        elif qtype == "description":
            assert el.findtext("defaultgrade") == "0"
    assert seen == {"multichoice", "truefalse", "shortanswer", "numerical", "matching", "essay", "description"}


def test_fractions_are_written_as_moodle_writes_them() -> None:
    q = Question(id="b-w", bank="b", type="single", title="w", prompt="p", explanation="", difficulty=3,
                 topics=("t",), tags=(), source="s",
                 options=(Option("A", "a", True), Option("B", "b", False), Option("C", "c", False)),
                 weights={"A": 1.0, "B": 1 / 3, "C": -0.5})
    el = _questions(export_moodle_xml([q]))[0]
    assert [a.get("fraction") for a in el.findall("answer")] == ["100", "33.33333", "-50"]
    multiple = dataclasses.replace(q, type="multiple", weights=None,
                                   options=(Option("A", "a", True), Option("B", "b", True), Option("C", "c", True),
                                            Option("D", "d", False)))
    el = _questions(export_moodle_xml([multiple]))[0]  # Mianjing's default: Moodle's even split
    assert [a.get("fraction") for a in el.findall("answer")] == ["33.33333", "33.33333", "33.33333", "-100"]


def test_text_that_needs_escaping_goes_in_cdata() -> None:
    q = Question(id="b-c", bank="b", type="description", title="a < b", prompt="x ]]> y & <z>", explanation="",
                 difficulty=3, topics=("t",), tags=("a&b",), source="s", scored=False)
    xml = export_moodle_xml([q])
    assert "<text><![CDATA[x ]]]]><![CDATA[> y & <z>]]></text>" in xml
    el = _questions(xml)[0]
    assert el.findtext("questiontext/text") == "x ]]> y & <z>" and el.findtext("tags/tag/text") == "a&b"
    assert where(import_moodle_xml(xml, bank="b", file="f").questions[0]) == where(q)


def test_generated_items_export_drawn_instances_and_import_as_the_template(content) -> None:
    gen = next(q for q in content.questions if q.type == "generated")
    notes: list = []
    xml = export_moodle_xml([gen], instances=3, notes=notes)
    elements = _questions(xml)
    assert len(elements) == 3 and len({e.findtext("questiontext/text") for e in elements}) == 3
    assert all("{{" not in e.findtext("questiontext/text") for e in elements)
    assert [e.findtext("idnumber") for e in elements] == [gen.id, f"{gen.id}-2", f"{gen.id}-3"]
    assert any("3 drawn instance" in n.message for n in notes)
    result = import_moodle_xml(xml, bank=gen.bank, file="g.xml")
    assert [where(q) for q in result.questions] == [where(gen)] and not result.notes


def test_types_moodle_lacks_are_reported(content) -> None:
    picks = [next(q for q in content.questions if q.type == t) for t in ("shape", "code")]
    notes: list = []
    xml = export_moodle_xml(picks, notes=notes)
    assert [e.get("type") for e in _questions(xml)] == ["shortanswer", "essay"]
    assert [n.field for n in notes] == [q.id for q in picks]
    code = _questions(xml)[1].findtext("questiontext/text")
    assert picks[1].code is not None and picks[1].code.starter.strip().splitlines()[0] in code
    assert picks[1].code.reference not in _questions(xml)[1].findtext("graderinfo/text")


def test_each_imported_item_scores_1_for_its_answer_and_less_for_a_wrong_one(every_type: ImportResult) -> None:
    scored = [q for q in every_type.questions if q.type in OBJECTIVE]
    assert {q.type for q in scored} == {"single", "multiple", "truefalse", "short", "numeric", "matching"}
    for q in scored:
        right, wrong = right_and_wrong(q)
        assert check_answer(q, right).score == 1.0, q.id
        assert check_answer(q, wrong).score < 1.0, q.id
    relu = by_id(every_type)["cv-activation-name"]
    assert check_answer(relu, "the rectified linear unit").score == 0.5  # the wildcard answer's fraction
    partial = by_id(every_type)["cv-partial-credit"]
    assert check_answer(partial, "B").score == pytest.approx(1 / 3) and check_answer(partial, "C").score == 0


def test_every_bundled_item_scores_the_same_after_the_round_trip(content) -> None:
    xml = export_moodle_xml(content.questions)
    back = {q.id: q for q in import_moodle_xml(xml, bank="x", file="all.xml").questions}
    for q in content.questions:
        if q.type not in OBJECTIVE:
            continue
        right, wrong = right_and_wrong(q)
        seed = 0 if q.type == "generated" else None
        before = (check_answer(q, right, seed=seed).score, check_answer(q, wrong, seed=seed).score)
        after = (check_answer(back[q.id], right, seed=seed).score, check_answer(back[q.id], wrong, seed=seed).score)
        assert before == after and before[0] == 1.0 and before[1] < 1.0, q.id


def test_exported_instances_score_like_the_template(content) -> None:
    """What Moodle grades (the drawn instance as a plain numerical/shortanswer item) matches Mianjing's score."""
    for gen in [q for q in content.questions if q.type == "generated"][:10]:
        xml = export_moodle_xml([gen], instances=2)
        moodle_view = [import_moodle_xml(re.sub(r"<mianjing>.*?</mianjing>", "", xml), bank="x", file="g.xml")]
        plain = moodle_view[0].questions
        assert len(plain) == 2
        for seed, q in enumerate(plain, start=1):
            right, wrong = right_and_wrong(gen, seed)
            answer = right if not isinstance(right, list) else "(" + ", ".join(map(str, right)) + ")"
            assert check_answer(q, answer).score == 1.0 == check_answer(gen, right, seed=seed).score, gen.id
            assert check_answer(q, wrong if not isinstance(wrong, list) else str(tuple(wrong))).score < 1.0


def test_what_moodle_reads_of_every_bundled_item_scores_like_mianjing(content) -> None:
    """Without the extension (Moodle keeps none of it) each objective item still takes its right answer."""
    plain_xml = re.sub(r"<mianjing>.*?</mianjing>", "", export_moodle_xml(content.questions), flags=re.S)
    plain = {q.id: q for q in import_moodle_xml(plain_xml, bank="x", file="all.xml").questions}
    for q in content.questions:
        if q.type not in OBJECTIVE or q.type == "generated":
            continue
        right, wrong = right_and_wrong(q)
        if q.type == "shape":  # Moodle holds a shape as short answers
            right, wrong = str(tuple(right)), str(tuple(wrong))
        assert check_answer(plain[q.id], right).score == 1.0, q.id
        assert check_answer(plain[q.id], wrong).score < 1.0, q.id


def test_bank_images_are_embedded_on_export_and_come_back(every_type: ImportResult) -> None:
    xml = export_moodle_xml(every_type.questions, assets=every_type.assets)
    essay = next(e for e in _questions(xml) if e.findtext("idnumber") == "cv-explain-dropout")
    (name,) = every_type.assets
    file = essay.find("questiontext/file")
    assert (file.get("name"), file.get("path"), file.get("encoding")) == (name, "/", "base64")
    assert base64.b64decode(file.text) == PNG
    assert f"![dropout diagram](@@PLUGINFILE@@/{name})" in essay.findtext("questiontext/text")
    again = import_moodle_xml(xml, bank="cv", file="all_types.xml")
    assert again.assets == every_type.assets  # the name keeps its own hash prefix: no second one
    assert [where(q) for q in again.questions] == [where(q) for q in every_type.questions]
    assert export_moodle_xml(again.questions, assets=again.assets) == xml


def test_characters_xml_cannot_hold_travel_in_the_extension() -> None:
    q = Question(id="b-ctl", bank="b", type="description", title="t", prompt="tab\tvt\x0bbell\x07", explanation="",
                 difficulty=3, topics=("t",), tags=(), source="s", scored=False)
    xml = export_moodle_xml([q])
    assert _questions(xml)[0].findtext("questiontext/text") == "tab\tvtbell"
    assert where(import_moodle_xml(xml, bank="b", file="f").questions[0]) == where(q)
