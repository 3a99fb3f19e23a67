"""The open grader against answers graded by hand (eval/, docs/grading.md): the held-out targets, and the
sets themselves well-formed. A grader change that loses agreement fails here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "eval"))

import measure  # noqa: E402

GRADES = {0, 0.25, 0.5, 0.75, 1}


@pytest.fixture(scope="module")
def results(bundled_content):
    return {name: measure.metrics(measure.grade_set(path, bundled_content)) for name, path in measure.SETS.items()}


@pytest.mark.parametrize("name", sorted(measure.SETS))
def test_sets_are_well_formed(name: str, bundled_content) -> None:
    rows = [json.loads(line) for line in measure.SETS[name].read_text(encoding="utf-8").splitlines()]
    kinds: dict[str, set[str]] = {}
    for r in rows:
        assert set(r) == {"id", "kind", "lang", "answer", "human", "why"}, r
        assert bundled_content.by_id[r["id"]].type == "open" and r["human"] in GRADES and r["answer"].strip()
        kinds.setdefault(r["id"], set()).add(r["kind"])
    assert all(k == set(measure.KINDS) for k in kinds.values())


def test_the_parts_share_no_question() -> None:
    ids = {name: {json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()}
           for name, path in measure.SETS.items()}
    assert not ids["tune"] & ids["heldout"] and len(ids["tune"]) + len(ids["heldout"]) >= 40


def test_held_out_agreement(results) -> None:
    h = results["heldout"]
    assert h["n"] >= 150
    assert h["spearman"] >= 0.75 and h["qwk"] >= 0.65
    assert h["false_credit"] <= 0.15
    # The target is 10%; measured 12% (docs/grading.md says why). Guard against losing more.
    assert h["false_blame"] <= 0.12


def test_tune_agreement(results) -> None:
    t = results["tune"]
    assert t["spearman"] >= 0.75 and t["qwk"] >= 0.7 and t["false_credit"] <= 0.1 and t["false_blame"] <= 0.25
