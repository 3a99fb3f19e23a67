"""The running aggregates of item statistics as stored state, and what one finished attempt adds to them.

An item's state is its ItemAccumulator and, for a choice item, its OptionTally's counts, as JSON. The sums are
exact integers that outgrow 64 bits (Σy² of 100,000 attempts in 1e-7 ticks is ~1e21), and JSON readers that
stop at 64 bits (orjson) turn them into floats, so every sum is written as a decimal string.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.stats.items import ItemAccumulator, OptionTally, to_ticks

_SUMS = ("sum_x", "sum_xx", "sum_y", "sum_yy", "sum_xy")


@dataclass
class ItemState:
    """One item's aggregate: its accumulator, and how often each option was chosen (choice items)."""

    acc: ItemAccumulator = field(default_factory=ItemAccumulator)
    choice: bool = False
    option_attempts: int = 0
    unanswered: int = 0
    chosen: Counter[str] = field(default_factory=Counter)

    def merge(self, other: ItemState) -> ItemState:
        return ItemState(acc=self.acc.merge(other.acc), choice=self.choice or other.choice,
                         option_attempts=self.option_attempts + other.option_attempts,
                         unanswered=self.unanswered + other.unanswered, chosen=self.chosen + other.chosen)

    def tally(self, options: Iterable[str]) -> OptionTally:
        """The option counts over `options` (the item's current keys; a key chosen once but since removed
        from the item is kept at the end, so that no count disappears)."""
        keys = tuple(dict.fromkeys([*options, *sorted(self.chosen)]))
        return OptionTally(options=keys, attempts=self.option_attempts, unanswered=self.unanswered,
                           chosen=Counter(self.chosen))


def state_to_json(state: ItemState) -> dict[str, Any]:
    acc = state.acc
    return {
        "n": acc.n, **{name: str(getattr(acc, name)) for name in _SUMS},
        "marks": {str(k): v for k, v in sorted(acc.marks.items())},
        "rests": {str(k): v for k, v in sorted(acc.rests.items())},
        "choice": state.choice, "option_attempts": state.option_attempts, "unanswered": state.unanswered,
        "chosen": dict(sorted(state.chosen.items())),
    }


def state_from_json(data: Mapping[str, Any]) -> ItemState:
    acc = ItemAccumulator(
        n=int(data.get("n", 0)), **{name: int(data.get(name, "0")) for name in _SUMS},
        marks=Counter({int(k): int(v) for k, v in data.get("marks", {}).items()}),
        rests=Counter({int(k): int(v) for k, v in data.get("rests", {}).items()}),
    )
    return ItemState(acc=acc, choice=bool(data.get("choice", False)),
                     option_attempts=int(data.get("option_attempts", 0)), unanswered=int(data.get("unanswered", 0)),
                     chosen=Counter({str(k): int(v) for k, v in data.get("chosen", {}).items()}))


@dataclass(frozen=True)
class ScoredItem:
    """One scored item of a finished attempt: its mark as a fraction of the item (unanswered: 0) and, for a
    choice item, the option keys chosen (None for other items)."""

    question_id: str
    mark: float
    chosen: Collection[str] | None = None


def attempt_states(items: Iterable[ScoredItem]) -> dict[str, ItemState]:
    """What one attempt adds, per question: its mark against the rest of the test (the attempt's other
    scored items), as add_attempt reckons it. Unscored items are never passed in, so never count."""
    return add_attempt_to({}, items)


def add_attempt_to(states: dict[str, ItemState], items: Iterable[ScoredItem]) -> dict[str, ItemState]:
    """Add one attempt to `states` in place (a rebuild adds every attempt to one dict); a bad mark adds
    nothing."""
    listed = list(items)
    for it in listed:
        if not 0 <= it.mark <= 1:
            raise ValueError(f"mark {it.mark!r} of {it.question_id!r} is outside 0..1")
    ticks = [to_ticks(it.mark) for it in listed]
    whole = sum(ticks)
    for it, x in zip(listed, ticks, strict=True):
        state = states.setdefault(it.question_id, ItemState())
        state.acc.add_ticks(x, whole - x)
        if it.chosen is not None:
            state.choice = True
            state.option_attempts += 1
            state.unanswered += 0 if it.chosen else 1
            state.chosen.update(set(it.chosen))
    return states
