"""Every code item of the bundled banks is sound: its reference passes all of its own cases in the real
sandbox, its starter does not, and where PyTorch/torchvision has the same operation the reference agrees with
it on every case (the expected values the judge computed, compared with torch outside the sandbox)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from app.content.loader import load_content
from app.judge.engine import Engine
from app.judge.sandbox import SandboxConfig
from tests.conftest import REPO
from tests.torch_equivalents import TORCH_EQUIVALENTS

CONTENT = load_content(REPO / "content")
CODE_ITEMS = [q for q in CONTENT.questions if q.type == "code"]


class _Loop:
    """One engine on an event loop running in its own thread for the whole module (as in the judge process)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.engine = Engine(SandboxConfig(), 1)
        self.call(self.engine.probe())

    def call(self, coro, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@pytest.fixture(scope="module")
def judge() -> _Loop:
    return _Loop()


def test_there_are_code_items() -> None:
    assert len(CODE_ITEMS) >= 2


@pytest.mark.parametrize("q", CODE_ITEMS, ids=lambda q: q.id)
def test_the_reference_passes_its_own_cases_and_the_starter_does_not(judge, q) -> None:
    verdict = judge.call(judge.engine.judge(q.code, q.code.reference, "submit"))
    assert verdict["status"] == "accepted", [c for c in verdict["cases"] if c["status"] != "passed"]
    kinds = [c["kind"] for c in verdict["cases"]]
    assert 1 <= kinds.count("example") <= 3 and kinds.count("hidden") >= 2, kinds
    starter = judge.call(judge.engine.judge(q.code, q.code.starter, "submit"))
    assert starter["status"] != "accepted"


@pytest.mark.parametrize("q", [q for q in CODE_ITEMS if q.id in TORCH_EQUIVALENTS], ids=lambda q: q.id)
def test_the_reference_agrees_with_torch(judge, q) -> None:
    ref = judge.call(judge.engine.reference(q.code))
    check: Callable[[tuple, Any], None] = TORCH_EQUIVALENTS[q.id]
    for case in ref.cases:
        check(case.args, case.expected)


def test_every_torch_equivalent_names_a_code_item() -> None:
    assert set(TORCH_EQUIVALENTS) <= {q.id for q in CODE_ITEMS}

