"""The .apkg export (app/formats/anki.py), opened by Anki itself: its importer into an empty collection."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from pathlib import Path

import genanki
import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

from app.content.loader import load_content
from app.content.model import Question
from app.formats.anki import FIELDS, MODEL_ID, deck_id, export_apkg, tag_of, to_anki_html
from app.formats.csv_format import import_csv
from app.formats.moodle_xml import import_moodle_xml

CONTENT = Path(__file__).resolve().parent.parent / "content"


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


def import_into(col: Collection, apkg: Path) -> object:
    request = ImportAnkiPackageRequest(package_path=str(apkg),
                                       options=ImportAnkiPackageOptions(update_notes=1, with_scheduling=False))
    return col.import_anki_package(request).log


def notes_by_guid(col: Collection) -> dict[str, object]:
    return {(n := col.get_note(nid)).guid: n for nid in col.find_notes("")}


def test_math_and_markdown_become_anki_html() -> None:
    html = to_anki_html("面积 $\\pi r^2$，`$HOME` 不是公式\n\n$$\\frac{a}{b} < 1$$\n\n<b>raw</b>\n\n```\n$x$\n```")
    assert "\\(\\pi r^2\\)" in html and "<code>$HOME</code>" in html
    assert "\\[\\frac{a}{b} &lt; 1\\]" in html
    assert "&lt;b&gt;raw&lt;/b&gt;" in html and "<b>raw</b>" not in html
    assert "<pre><code>$x$\n</code></pre>" in html


def test_ids_are_stable_and_in_range() -> None:
    assert deck_id("conv") == deck_id("conv") != deck_id("ml")
    assert all((1 << 30) <= deck_id(b) < (1 << 31) for b in ("conv", "ml", "a" * 80))
    assert tag_of("目标 检测  NMS") == "目标_检测_NMS"


def test_the_package_opens_in_anki_with_every_note(content, tmp_path: Path) -> None:
    titles = {b.id: b.title for b in content.banks}
    apkg = tmp_path / "all.apkg"
    notes: list = []
    export_apkg(content.questions, bank_titles=titles, path=apkg, instances=2, notes=notes)
    assert zipfile.is_zipfile(apkg)
    expected = {}
    for q in content.questions:
        if q.type == "description":
            continue
        expected[genanki.guid_for(q.bank, q.id)] = q
        if q.type == "generated":
            expected[genanki.guid_for(q.bank, q.id, 2)] = q
    col = Collection(str(tmp_path / "collection.anki2"))
    try:
        log = import_into(col, apkg)
        assert len(log.new) == len(expected)
        found = notes_by_guid(col)
        assert set(found) == set(expected)
        assert col.models.by_name("Mianjing")["id"] == MODEL_ID  # the fixed note type, not a copy
        decks = {d.name for d in col.decks.all_names_and_ids()}
        assert {titles[b] for b in {q.bank for q in content.questions}} <= decks
        for guid, note in found.items():
            q: Question = expected[guid]
            assert list(note.keys()) == list(FIELDS)
            assert (note["Id"], note["Bank"], note["Type"]) == (q.id, q.bank, q.type)
            assert sorted(note.tags) == sorted(tag_of(t) for t in q.topics) and all(" " not in t for t in note.tags)
            assert "$" not in re.sub(r"<code>.*?</code>", "", note["Front"], flags=re.S), q.id
            assert "<script" not in note["Front"] + note["Back"]
            assert note["Back"].strip(), q.id
            if q.type in ("single", "multiple"):
                right = [o for o in q.options if o.correct]
                assert all(f"{o.key}. " in note["Back"] for o in right)
            if q.type == "open":
                assert to_anki_html(q.reference) in note["Back"]
            if q.type == "code":
                assert q.code is not None and q.code.reference.strip().splitlines()[-1] not in note["Back"]
        # importing the same package again updates in place: nothing new, nothing duplicated
        again = import_into(col, apkg)
        assert len(again.new) == 0 and len(col.find_notes("")) == len(expected)
    finally:
        col.close()
    assert any(n.field for n in notes)  # generated items say they were exported as drawn instances


def test_a_changed_question_updates_its_note_on_re_import(content, tmp_path: Path) -> None:
    bank = content.banks[0].id
    questions = [q for q in content.questions if q.bank == bank]
    first = tmp_path / "first.apkg"
    export_apkg(questions, path=first, timestamp=1_800_000_000)
    edited = [dataclasses.replace(questions[0], prompt="改过的题干"), *questions[1:]]
    second = tmp_path / "second.apkg"
    export_apkg(edited, path=second, timestamp=1_800_000_060)
    col = Collection(str(tmp_path / "c.anki2"))
    try:
        import_into(col, first)
        log = import_into(col, second)
        assert len(log.new) == 0 and len(log.updated) == len(questions)  # newer: updated in place
        note = notes_by_guid(col)[genanki.guid_for(bank, questions[0].id)]
        assert "改过的题干" in note["Front"] and len(col.find_notes("")) == len(questions)
    finally:
        col.close()


def test_re_exporting_gives_the_same_guids_and_bytes_without_a_path(content, tmp_path: Path) -> None:
    qs = [q for q in content.questions if q.bank == content.banks[1].id]
    data = export_apkg(qs)
    path = tmp_path / "x.apkg"
    path.write_bytes(data)
    col = Collection(str(tmp_path / "c.anki2"))
    try:
        import_into(col, path)
        assert set(notes_by_guid(col)) == {genanki.guid_for(q.bank, q.id) for q in qs}
    finally:
        col.close()


def test_the_imported_types_show_their_answers_on_the_back(tmp_path: Path) -> None:
    data = Path(__file__).parent / "data"
    questions = [*import_moodle_xml((data / "moodle" / "all_types.xml").read_bytes(), bank="cv", file="a.xml").questions,
                 *import_csv((data / "csv" / "every_type.csv").read_bytes(), bank="sheet", file="e.csv").questions]
    notes: list = []
    apkg = tmp_path / "imported.apkg"
    export_apkg(questions, path=apkg, notes=notes)
    assert {n.field for n in notes if "description" in n.message} == {"cv-section-intro", "sheet-intro"}
    col = Collection(str(tmp_path / "c.anki2"))
    try:
        import_into(col, apkg)
        backs = {n["Id"]: n["Back"] for n in notes_by_guid(col).values()}
    finally:
        col.close()
    assert "cv-section-intro" not in backs and len(backs) == len(questions) - 2
    assert "答案：正确" in backs["cv-bn-at-inference"]
    assert "ReLU" in backs["cv-activation-name"] and "*rectified*（50%）" in backs["cv-activation-name"]
    assert "<td>BatchNorm</td><td>N, H, W</td>" in backs["cv-normalisations"]
    assert "答案：5（" not in backs["cv-receptive-field"] and "答案：5；6 ± 0.5（50%）" in backs["cv-receptive-field"]
    assert "7；6 … 8（50%）" in backs["sheet-rf-many"]
    assert "It trains an ensemble" in backs["cv-explain-dropout"]
