"""Item statistics with the definitions of Moodle's quiz statistics report, derived from running sums.

Moodle (question/classes/statistics/questions/calculator.php) walks every attempt twice; here each item keeps
an `ItemAccumulator` of sums that an attempt adds to once and that two accumulators merge into, so that the
statistics over any number of attempts come from a handful of numbers (docs/statistics.md has the formulas).

Marks are held as integers in units of 1e-7 of a mark (Moodle keeps fractions to 7 decimals): the sums are
exact, so adding attempts in any order or merging partial accumulators gives identical numbers, and a
constant item has a variance of exactly zero instead of a rounding residue.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

TICKS_PER_MARK = 10**7
# statistics_table::is_dubious_question: an item whose discriminative efficiency is below 15 % is dubious.
DUBIOUS_EFFICIENCY = 0.15


def to_ticks(value: float) -> int:
    """A mark (or a sum of marks) in units of 1e-7."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return round(value * TICKS_PER_MARK)


@dataclass
class ItemAccumulator:
    """Running sums for one item: its mark x and the rest of the test y (the attempt's total minus x).

    The two distributions are kept because discriminative efficiency compares the covariance with the
    largest one the same marks could have (the k-th smallest x paired with the k-th smallest y); marks take
    few distinct values, so they stay small.
    """

    max_mark: float = 1.0
    n: int = 0
    sum_x: int = 0
    sum_xx: int = 0
    sum_y: int = 0
    sum_yy: int = 0
    sum_xy: int = 0
    marks: Counter[int] = field(default_factory=Counter)
    rests: Counter[int] = field(default_factory=Counter)

    def add(self, mark: float, rest_of_test: float) -> None:
        if not 0 <= mark <= self.max_mark:
            raise ValueError(f"mark {mark!r} is outside 0..{self.max_mark}")
        self.add_ticks(to_ticks(mark), to_ticks(rest_of_test))

    def add_ticks(self, x: int, y: int) -> None:
        self.n += 1
        self.sum_x += x
        self.sum_xx += x * x
        self.sum_y += y
        self.sum_yy += y * y
        self.sum_xy += x * y
        self.marks[x] += 1
        self.rests[y] += 1

    def merge(self, other: ItemAccumulator) -> ItemAccumulator:
        """The accumulator of both sets of attempts (neither operand changes)."""
        if other.max_mark != self.max_mark:
            raise ValueError(f"cannot merge an item out of {self.max_mark} with one out of {other.max_mark}")
        return ItemAccumulator(
            max_mark=self.max_mark, n=self.n + other.n, sum_x=self.sum_x + other.sum_x,
            sum_xx=self.sum_xx + other.sum_xx, sum_y=self.sum_y + other.sum_y, sum_yy=self.sum_yy + other.sum_yy,
            sum_xy=self.sum_xy + other.sum_xy, marks=self.marks + other.marks, rests=self.rests + other.rests,
        )


def add_attempt(accumulators: Mapping[str, ItemAccumulator], marks: Mapping[str, float],
                total: float | None = None) -> None:
    """Add one attempt: `marks` per item (an item the attempt saw but left unanswered is 0, as in Moodle);
    the rest of the test is `total` minus the item's mark, `total` defaulting to the sum of `marks`."""
    for item, mark in marks.items():  # all checked before any is added: a bad attempt leaves no trace
        if not 0 <= mark <= accumulators[item].max_mark:
            raise ValueError(f"mark {mark!r} of {item!r} is outside 0..{accumulators[item].max_mark}")
    ticks = {item: to_ticks(mark) for item, mark in marks.items()}
    whole = sum(ticks.values()) if total is None else to_ticks(total)
    for item, x in ticks.items():
        accumulators[item].add_ticks(x, whole - x)


@dataclass(frozen=True)
class ItemStatistics:
    """One item's row of the report. Fractions throughout, where Moodle's table shows percentages (×100)."""

    item: str
    attempts: int
    facility: float | None  # mean mark / max mark
    sd: float | None  # sample standard deviation of the mark / max mark
    discrimination_index: float | None  # Pearson correlation of the mark with the rest of the test
    discriminative_efficiency: float | None  # covariance with the rest / the largest attainable covariance
    effective_weight: float | None  # share of the total's spread due to this item (Moodle's approximation)
    negative_covariance: bool  # Moodle's negcovar: the mark's covariance with the total is below zero

    @property
    def negative_discrimination(self) -> bool:
        """Candidates who do well on the rest of the test do worse on this item: check its key."""
        return self.discrimination_index is not None and self.discrimination_index < 0

    @property
    def dubious(self) -> bool:
        return self.discriminative_efficiency is not None and self.discriminative_efficiency < DUBIOUS_EFFICIENCY


@dataclass(frozen=True)
class _Moments:
    """n·(n−1)·TICKS² times the variances and covariances (exact integers), as Moodle's sums over (s − 1)."""

    sxx: int
    syy: int
    sxy: int
    sxy_max: int


def _moments(acc: ItemAccumulator) -> _Moments:
    n = acc.n
    return _Moments(
        sxx=n * acc.sum_xx - acc.sum_x**2, syy=n * acc.sum_yy - acc.sum_y**2,
        sxy=n * acc.sum_xy - acc.sum_x * acc.sum_y,
        sxy_max=n * _comonotone_sum(acc.marks, acc.rests) - acc.sum_x * acc.sum_y,
    )


def _comonotone_sum(xs: Counter[int], ys: Counter[int]) -> int:
    """Σ x₍ₖ₎·y₍ₖ₎: the k-th smallest mark times the k-th smallest rest, from the two distributions."""
    total = 0
    x_items, y_items = iter(sorted(xs.items())), iter(sorted(ys.items()))
    (x, x_left), (y, y_left) = next(x_items, (0, 0)), next(y_items, (0, 0))
    while x_left and y_left:
        paired = min(x_left, y_left)
        total += paired * x * y
        x_left, y_left = x_left - paired, y_left - paired
        if not x_left:
            x, x_left = next(x_items, (0, 0))
        if not y_left:
            y, y_left = next(y_items, (0, 0))
    return total


def item_statistics(accumulators: Mapping[str, ItemAccumulator]) -> list[ItemStatistics]:
    """The report for the items of one test (effective weight compares each item with the others)."""
    scale = TICKS_PER_MARK**2
    rows: list[tuple[str, ItemAccumulator, _Moments | None, float | None]] = []
    for item, acc in accumulators.items():
        moments = _moments(acc) if acc.n > 1 else None
        # Covariance of the mark with the total (x + y), in marks², over (s − 1) like calculator.php.
        cov_total = None if moments is None else (moments.sxx + moments.sxy) / (acc.n * (acc.n - 1) * scale)
        rows.append((item, acc, moments, cov_total))
    sum_sqrt_cov = sum(math.sqrt(c) for *_, c in rows if c is not None and c >= 0)
    return [_row(item, acc, moments, cov_total, sum_sqrt_cov) for item, acc, moments, cov_total in rows]


def _row(item: str, acc: ItemAccumulator, m: _Moments | None, cov_total: float | None,
         sum_sqrt_cov: float) -> ItemStatistics:
    n, max_mark = acc.n, acc.max_mark
    facility = acc.sum_x / (n * TICKS_PER_MARK) / max_mark if n and max_mark else None
    sd = di = de = weight = None
    if m is not None:
        sd = math.sqrt(m.sxx / (n * (n - 1))) / TICKS_PER_MARK / max_mark if max_mark else None
        if m.sxx and m.syy:  # Moodle: null unless both variances are non-zero
            di = max(-1.0, min(1.0, m.sxy / (math.sqrt(m.sxx) * math.sqrt(m.syy))))
        if m.sxy_max:  # zero exactly when either variance is
            de = m.sxy / m.sxy_max
        if sum_sqrt_cov and cov_total is not None and cov_total >= 0:
            weight = math.sqrt(cov_total) / sum_sqrt_cov
    return ItemStatistics(
        item=item, attempts=n, facility=facility, sd=sd, discrimination_index=di, discriminative_efficiency=de,
        effective_weight=weight, negative_covariance=cov_total is not None and cov_total < 0,
    )


@dataclass
class OptionTally:
    """How often each option of a choice item was chosen (distractor analysis); attempts that chose several
    options (multiple answer) count once for each."""

    options: tuple[str, ...]
    attempts: int = 0
    unanswered: int = 0
    chosen: Counter[str] = field(default_factory=Counter)

    def add(self, chosen: Collection[str]) -> None:
        unknown = set(chosen) - set(self.options)
        if unknown:
            raise ValueError(f"not an option of this item: {', '.join(sorted(unknown))}")
        self.attempts += 1
        if not chosen:
            self.unanswered += 1
        self.chosen.update(set(chosen))

    def merge(self, other: OptionTally) -> OptionTally:
        if other.options != self.options:
            raise ValueError("cannot merge tallies of different options")
        return OptionTally(options=self.options, attempts=self.attempts + other.attempts,
                           unanswered=self.unanswered + other.unanswered, chosen=self.chosen + other.chosen)


@dataclass(frozen=True)
class OptionShare:
    option: str
    count: int
    share: float | None  # count / attempts; None before any attempt

    @property
    def never_chosen(self) -> bool:
        """A distractor nobody picks does no work: rewrite or drop it (only meaningful once there are attempts)."""
        return self.count == 0


def option_shares(tally: OptionTally) -> list[OptionShare]:
    """Each option's share of the attempts, in the item's order."""
    return [OptionShare(option, tally.chosen[option], tally.chosen[option] / tally.attempts if tally.attempts else None)
            for option in tally.options]


def never_chosen_options(tally: OptionTally) -> list[str]:
    """The options nobody picked, once someone has attempted the item."""
    return [s.option for s in option_shares(tally) if s.never_chosen] if tally.attempts else []


def tally_options(options: Iterable[str], responses: Iterable[Collection[str]]) -> OptionTally:
    """An `OptionTally` from responses (each the collection of options one attempt chose; empty: no answer)."""
    tally = OptionTally(options=tuple(options))
    for chosen in responses:
        tally.add(chosen)
    return tally
