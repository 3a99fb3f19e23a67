"""CSV import and export (app/formats/csv_format.py): every type's cells, Excel's habits, errors by row and
column, and the round trip of every bundled bank."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest

from app.content.loader import load_content
from app.content.model import Accepted, KeyPoint, Option, Pair, Question
from app.formats import ImportResult
from app.formats.csv_format import BOM, HEADER, export_csv, import_csv
from app.scoring.check import check_answer
from tests.format_answers import OBJECTIVE, right_and_wrong

DATA = Path(__file__).parent / "data" / "csv"
CONTENT = Path(__file__).resolve().parent.parent / "content"


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


@pytest.fixture(scope="module")
def sheet() -> ImportResult:
    return import_csv((DATA / "every_type.csv").read_bytes(), bank="sheet", file="every_type.csv")


def where(q: Question) -> Question:
    return dataclasses.replace(q, file="", line=0)


def test_every_type_reads_from_its_cells(sheet: ImportResult) -> None:
    assert not sheet.notes
    qs = {q.id: q for q in sheet.questions}
    assert [q.type for q in sheet.questions] == [
        "single", "multiple", "single", "truefalse", "short", "numeric", "numeric", "shape", "matching", "open",
        "open", "description", "generated", "single"]
    nms = qs["sheet-nms"]
    assert (nms.title, nms.topics, nms.tags, nms.difficulty, nms.source) == ("NMS 阈值", ("检测", "NMS"), ("高频",), 2,
                                                                            "every_type.csv")
    assert nms.options[1] == Option("B", "保留的框更少", False, "反了") and nms.correct_keys == ("A",)
    assert nms.imported_from == "csv:every_type.csv"
    assert qs["sheet-anchor-free"].topics == ("检测",)  # plain text = one topic
    assert qs["sheet-anchor-free"].correct_keys == ("A", "B")
    weights = qs["sheet-weights"]
    assert weights.weights == {"A": 1.0, "B": 0.5, "C": -0.5} and weights.correct_keys == ("A",)
    assert (weights.topics, weights.difficulty) == (("sheet",), 3)  # the defaults
    tf = qs["sheet-bn"]  # Excel writes TRUE
    assert tf.answer is True and [o.feedback for o in tf.options] == ["对。", "推理时不用当前 batch 的统计量。"]
    assert qs["sheet-relu"].accepted == (Accepted(text="ReLU"),
                                         Accepted(text="*rectified*", fraction=0.5, feedback="简称 ReLU"))
    rf = qs["sheet-rf"]
    assert (rf.answer, rf.tolerance, rf.unit, rf.suffixes) == (5.0, 0.0, "像素", True)
    many = qs["sheet-rf-many"]
    assert many.answer == 7.0 and many.accepted == (Accepted(value=7.0),
                                                    Accepted(low=6.0, high=8.0, fraction=0.5, feedback="接近了"))
    shape = qs["sheet-shape"]
    assert (shape.answer, shape.order, shape.batch_optional) == ((2, 32, 18, 18), "NCHW", True)
    assert qs["sheet-norms"].pairs[3] == Pair("", "只有 N")
    dropout = qs["sheet-dropout"]  # cells with line breaks
    assert dropout.prompt == "为什么 dropout 能减轻过拟合？\n请说出至少两点。"
    assert dropout.reference.startswith("训练时相当于") and "\n推理时" in dropout.reference
    assert dropout.keypoints[1] == KeyPoint("共享权重", ("共享权重",), 2.0, "共享权重")  # no statement: the label stands in
    assert dropout.keypoints[2].statement == "打破神经元之间的共适应"
    assert qs["sheet-essay"].self_rated and not qs["sheet-essay"].keypoints
    assert qs["sheet-intro"].scored is False
    gen = qs["sheet-gen"]
    assert gen.calculator == "conv2d_output_shape" and gen.params["height"] == {"min": 28, "max": 64}
    assert "sheet-q14" in qs  # no id: made from the bank and the position


def test_the_export_round_trips_and_starts_with_a_bom(sheet: ImportResult) -> None:
    text = export_csv(sheet.questions, file="every_type.csv")
    assert text.startswith(BOM + ",".join(HEADER) + "\r\n")
    again = import_csv(text.encode("utf-8"), bank="sheet", file="every_type.csv")
    assert not again.notes and again.questions == sheet.questions
    assert export_csv(again.questions, file="every_type.csv") == text


def test_every_bundled_bank_round_trips(content) -> None:
    for bank in content.banks:
        questions = [q for q in content.questions if q.bank == bank.id]
        first = export_csv(questions, file=f"{bank.id}.csv")
        result = import_csv(first.encode("utf-8"), bank=bank.id, file=f"{bank.id}.csv")
        assert not result.notes, (bank.id, result.notes[:3])
        assert [where(q) for q in result.questions] == [where(q) for q in questions], bank.id
        assert export_csv(result.questions, file=f"{bank.id}.csv") == first, bank.id


def test_excel_habits_are_accepted(sheet: ImportResult) -> None:
    text = (DATA / "every_type.csv").read_text(encoding="utf-8")
    plain = import_csv(text.encode("utf-8"), bank="sheet", file="every_type.csv")  # no BOM
    assert plain.questions == sheet.questions
    # Excel: BOM, CRLF, trailing empty columns and empty rows at the end
    rows = list(csv.reader(io.StringIO(text)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([[*r, "", ""] for r in rows] + [[""] * 14, []])
    excel = import_csv((BOM + buf.getvalue()).encode("utf-8"), bank="sheet", file="every_type.csv")
    assert not excel.notes and excel.questions == sheet.questions
    # Chinese Windows Excel saves as GB18030 ("ANSI"), some locales separate with ';'
    gbk = import_csv(text.encode("gb18030"), bank="sheet", file="every_type.csv")
    assert gbk.questions == sheet.questions and [n.kind for n in gbk.notes] == ["warning"]
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(rows)
    semi = import_csv(buf.getvalue(), bank="sheet", file="every_type.csv")
    assert semi.questions == sheet.questions and "';'" in semi.notes[0].message


def test_every_error_names_its_row_and_column() -> None:
    result = import_csv((DATA / "bad_cells.csv").read_bytes(), bank="sheet", file="bad_cells.csv")
    assert [(n.kind, n.row, n.field) for n in result.notes] == [
        ("error", 1, "topics"), ("error", 2, "type"), ("error", 3, "difficulty"), ("error", 4, "answer"),
        ("error", 5, "id"), ("error", 6, "answer"), ("error", 7, "feedback"), ("error", 9, "id")]
    assert [q.id for q in result.questions] == ["good"]
    assert result.notes[0].where("bad_cells.csv") == "bad_cells.csv: row 1, column topics"
    assert "not valid JSON" in result.notes[0].message and "colour" in result.notes[6].message


def test_a_wrong_header_names_the_missing_and_extra_columns() -> None:
    result = import_csv((DATA / "wrong_header.csv").read_bytes(), bank="sheet", file="wrong_header.csv")
    assert not result.questions and [n.kind for n in result.notes] == ["error"]
    message = result.notes[0].message
    assert "missing: topics, tolerance" in message and "extra: topic, extra" in message
    reordered = ",".join(reversed(HEADER)) + "\r\n"
    assert "wrong order" in import_csv(reordered, bank="b", file="f").notes[0].message


@pytest.mark.parametrize(("row", "field"), [
    ("x,numeric,b,,,stem,,abc,,,,", "answer"),
    ("x,numeric,b,,,stem,,3,-,,,", "tolerance"),
    ("x,numeric,b,,,stem,,\"[{\"\"value\"\": 1, \"\"fraction\"\": 0.5}]\",,,,", "answer"),
    ("x,shape,b,,,stem,,\"[2, \"\"a\"\"]\",,,,", "answer"),
    ("x,matching,b,,,stem,\"[[\"\"a\"\", \"\"1\"\"]]\",,,,,", "options"),
    ("x,short,b,,,stem,,\"[{\"\"text\"\": \"\"a\"\", \"\"fraction\"\": 0.5}]\",,,,", "answer"),
    ("x,single,b,,,stem,\"[\"\"a\"\", \"\"b\"\"]\",\"[\"\"A\"\", \"\"B\"\"]\",,,,", "answer"),
    ("x,generated,b,,,stem,,,,,,", "feedback"),
    ("x,code,b,,,stem,,,,,,", "feedback"),
    ("x,open,b,,,stem,,ref,,,{not json,", "key_points"),
    ("x,single,b,,,,\"[\"\"a\"\", \"\"b\"\"]\",A,,,,", "stem"),
    ("x,single,b,,,stem,\"[\"\"a\"\", \"\"b\"\"]\",A,,,,[1]", "feedback"),
])
def test_bad_cells_of_each_type(row: str, field: str) -> None:
    result = import_csv(",".join(HEADER) + "\n" + row + "\n", bank="b", file="f.csv")
    assert not result.questions
    assert [(n.kind, n.row, n.field) for n in result.notes] == [("error", 1, field)]


def test_a_row_of_another_bank_is_reported_once() -> None:
    rows = "".join(f"q{i},numeric,other,,,stem,,1,,,,\n" for i in range(3))
    result = import_csv(",".join(HEADER) + "\n" + rows, bank="mine", file="f.csv")
    assert {q.bank for q in result.questions} == {"mine"}
    assert [(n.kind, n.field) for n in result.notes] == [("warning", "bank")]


def test_bytes_that_are_not_text_are_an_error() -> None:
    result = import_csv(b"\xff\xfe\x00\x81\x00", bank="b", file="f.csv")
    assert [n.kind for n in result.notes] == ["error"]


def test_each_imported_item_scores_1_for_its_answer_and_less_for_a_wrong_one(sheet: ImportResult) -> None:
    scored = [q for q in sheet.questions if q.type in OBJECTIVE]
    assert {q.type for q in scored} == set(OBJECTIVE)
    for q in scored:
        for seed in (0, 1) if q.type == "generated" else (None,):
            right, wrong = right_and_wrong(q, seed or 0)
            assert check_answer(q, right, seed=seed).score == 1.0, q.id
            assert check_answer(q, wrong, seed=seed).score < 1.0, q.id
    weights = next(q for q in sheet.questions if q.id == "sheet-weights")
    assert check_answer(weights, "B").score == 0.5 and check_answer(weights, "C").score == 0.0
    many = next(q for q in sheet.questions if q.id == "sheet-rf-many")
    assert check_answer(many, 6.5).score == 0.5
