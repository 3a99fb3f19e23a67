"""Item statistics (app/stats/items.py) and `mianjing stats items --marks-csv`, against values derived from
Moodle's definitions independently: by hand for a tiny test, by the `statistics` module and by an exact
two-pass computation in fractions (the way Moodle's calculator.php walks the attempts) otherwise."""

from __future__ import annotations

import json
import math
import statistics
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from app.cli import cli
from app.stats.items import (
    ItemAccumulator,
    ItemStatistics,
    OptionTally,
    add_attempt,
    item_statistics,
    never_chosen_options,
    option_shares,
    tally_options,
)
from app.stats.marks_csv import MarksCsvError, read_marks

Attempts = list[dict[str, float]]


def stats_of(attempts: Attempts, totals: list[float] | None = None) -> dict[str, ItemStatistics]:
    accumulators = {item: ItemAccumulator() for item in attempts[0]}
    for i, marks in enumerate(attempts):
        add_attempt(accumulators, marks, None if totals is None else totals[i])
    return {row.item: row for row in item_statistics(accumulators)}


# --- The definitions, written out independently -------------------------------------------------------------

def reference(attempts: Attempts, totals: list[float] | None = None) -> dict[str, dict[str, float | None]]:
    """Moodle's quiz statistics for items out of 1, with the `statistics` module."""
    items = list(attempts[0])
    total = totals or [sum(a.values()) for a in attempts]
    cov_total = {q: statistics.covariance([a[q] for a in attempts], total) for q in items}
    sum_sqrt = sum(math.sqrt(c) for c in cov_total.values() if c >= 0)
    out: dict[str, dict[str, float | None]] = {}
    for q in items:
        x = [a[q] for a in attempts]
        rest = [t - m for t, m in zip(total, x, strict=True)]
        constant = len(set(x)) == 1 or len(set(rest)) == 1
        out[q] = {
            "facility": statistics.mean(x),
            "sd": statistics.stdev(x),
            "discrimination_index": None if constant else statistics.correlation(x, rest),
            # the covariance over the largest one these marks allow: each sorted, paired rank by rank
            "discriminative_efficiency": None if constant else
            statistics.covariance(x, rest) / statistics.covariance(sorted(x), sorted(rest)),
            "effective_weight": None if cov_total[q] < 0 else math.sqrt(cov_total[q]) / sum_sqrt,
            "cov_total": cov_total[q],
        }
    return out


def exact_reference(attempts: Attempts) -> dict[str, dict[str, float | None]]:
    """The same in fractions, two passes over the attempts as in calculator.php (means, then deviations)."""
    items, n = list(attempts[0]), len(attempts)
    marks = {q: [Fraction(a[q]) for a in attempts] for q in items}
    total = [sum(marks[q][i] for q in items) for i in range(n)]

    def cov(u: list[Fraction], v: list[Fraction]) -> Fraction:
        mu, mv = sum(u) / n, sum(v) / n
        return sum((a - mu) * (b - mv) for a, b in zip(u, v, strict=True)) / (n - 1)

    cov_total = {q: cov(marks[q], total) for q in items}
    sum_sqrt = sum(math.sqrt(c) for c in cov_total.values() if c >= 0)
    out = {}
    for q in items:
        x = marks[q]
        rest = [t - m for t, m in zip(total, x, strict=True)]
        vx, vr, c, cmax = cov(x, x), cov(rest, rest), cov(x, rest), cov(sorted(x), sorted(rest))
        out[q] = {
            "facility": float(sum(x) / n), "sd": math.sqrt(vx),
            "discrimination_index": float(c) / math.sqrt(vx * vr) if vx * vr else None,
            "discriminative_efficiency": float(c / cmax) if cmax else None,
            "effective_weight": math.sqrt(cov_total[q]) / sum_sqrt if sum_sqrt and cov_total[q] >= 0 else None,
        }
    return out


FIELDS = ("facility", "sd", "discrimination_index", "discriminative_efficiency", "effective_weight")


def assert_matches(got: ItemStatistics, want: dict[str, float | None], rel: float = 1e-9) -> None:
    for name in FIELDS:
        value, expected = getattr(got, name), want[name]
        if expected is None:
            assert value is None, (got.item, name, value)
        else:
            assert value == pytest.approx(expected, rel=rel, abs=1e-12), (got.item, name)


# --- Worked by hand ----------------------------------------------------------------------------------------

# Four attempts at three items out of 1. By hand (covariances over n − 1 = 3):
#   q1 = 1 1 0 0, rest = q2 + q3 = 1 2 1 1: var 1/3, var(rest) 1/4, cov 1/6 → DI = (1/6)/√(1/12) = 1/√3;
#       sorted 0 0 1 1 against 1 1 1 2 gives cov 1/6 too → DE = 1; cov with the total 1/3 + 1/6 = 1/2.
#   q2 = 1 1 1 0, rest = 1 2 0 1: cov 0 → DI = 0, DE = 0; var 1/4 → cov with the total 1/4.
#   q3 = 0 1 0 1, rest = 2 2 1 0: var 1/3, var(rest) 11/12, cov −1/6 → DI = −1/√11; sorted 0 0 1 1 against
#       0 1 2 2 gives 1/2 → DE = −1/3; cov with the total 1/3 − 1/6 = 1/6.
#   Effective weights: √(1/2), √(1/4), √(1/6) over their sum.
TINY = [{"q1": 1, "q2": 1, "q3": 0}, {"q1": 1, "q2": 1, "q3": 1}, {"q1": 0, "q2": 1, "q3": 0},
        {"q1": 0, "q2": 0, "q3": 1}]


def test_a_tiny_test_worked_by_hand() -> None:
    got = stats_of(TINY)
    weights = math.sqrt(1 / 2) + math.sqrt(1 / 4) + math.sqrt(1 / 6)
    assert_matches(got["q1"], {"facility": 0.5, "sd": 1 / math.sqrt(3), "discrimination_index": 1 / math.sqrt(3),
                               "discriminative_efficiency": 1.0, "effective_weight": math.sqrt(1 / 2) / weights})
    assert_matches(got["q2"], {"facility": 0.75, "sd": 0.5, "discrimination_index": 0.0,
                               "discriminative_efficiency": 0.0, "effective_weight": 0.5 / weights})
    assert_matches(got["q3"], {"facility": 0.5, "sd": 1 / math.sqrt(3), "discrimination_index": -1 / math.sqrt(11),
                               "discriminative_efficiency": -1 / 3, "effective_weight": math.sqrt(1 / 6) / weights})
    assert got["q3"].negative_discrimination and got["q3"].dubious
    assert not got["q1"].negative_discrimination and not got["q1"].dubious
    assert got["q2"].dubious and not got["q2"].negative_discrimination  # 0 % efficiency is below Moodle's 15 %
    assert {row.attempts for row in got.values()} == {4}


# Ten attempts at five items: three that agree, one everybody gets right, one that the weakest get right.
TEN = [dict(zip("abcde", marks, strict=True)) for marks in zip(
    [1, 1, 1, 1, 0.5, 0.5, 0, 0, 0, 1],
    [1, 1, 0.5, 1, 0.5, 0, 0.5, 0, 0, 1],
    [1, 0.5, 1, 0.5, 0, 0.5, 0, 0, 0.5, 1],
    [1] * 10,
    [0, 0, 0, 0, 0.5, 1, 1, 1, 1, 0], strict=True)]


def test_a_test_with_a_constant_and_a_reversed_item_matches_the_definitions() -> None:
    want, got = reference(TEN), stats_of(TEN)
    for item in "abcde":
        assert_matches(got[item], want[item])
    # The cases the data set is for: Moodle answers null for what the constant item makes undefined …
    assert got["d"].sd == 0 and got["d"].facility == 1
    assert got["d"].discrimination_index is None and got["d"].discriminative_efficiency is None
    assert got["d"].effective_weight == 0  # its covariance with the total is 0, not negative
    # … and no effective weight for an item whose covariance with the total is negative (negcovar).
    assert want["e"]["cov_total"] < 0
    assert got["e"].negative_covariance and got["e"].effective_weight is None and got["e"].negative_discrimination
    assert sum(got[q].effective_weight for q in "abcd") == pytest.approx(1)


def test_a_total_column_sets_the_rest_of_the_test() -> None:
    """With a total from outside (here including a part the table lacks), the rest is the total minus the item."""
    attempts = [{"a": a["a"], "b": a["b"]} for a in TEN]
    totals = [a["a"] + a["b"] + a["c"] for a in TEN]
    want, got = reference(attempts, totals), stats_of(attempts, totals)
    for item in "ab":
        assert_matches(got[item], want[item])
    assert got["a"].discrimination_index != stats_of(attempts)["a"].discrimination_index


def test_undefined_values_are_null() -> None:
    one = stats_of([{"a": 1.0, "b": 0.0}])
    assert one["a"].facility == 1 and one["a"].sd is None and one["a"].discrimination_index is None
    assert one["a"].discriminative_efficiency is None and one["a"].effective_weight is None
    nothing = item_statistics({"a": ItemAccumulator()})[0]
    assert nothing.attempts == 0 and nothing.facility is None and nothing.sd is None
    # Everybody gets every item right: no spread anywhere, so no weights either (their sum would be 0).
    flat = stats_of([{"a": 1.0, "b": 1.0}] * 3)
    assert flat["a"].sd == 0 and flat["a"].effective_weight is None and flat["a"].discrimination_index is None


def test_marks_out_of_another_maximum() -> None:
    """An item out of 2 marks: facility and SD are fractions of its maximum, as in Moodle's table."""
    acc = ItemAccumulator(max_mark=2.0)
    for mark, rest in [(2, 3), (1, 1), (0, 2), (2, 0)]:
        acc.add(mark, rest)
    row = item_statistics({"x": acc})[0]
    assert row.facility == pytest.approx(statistics.mean([2, 1, 0, 2]) / 2)
    assert row.sd == pytest.approx(statistics.stdev([2, 1, 0, 2]) / 2)
    assert row.discrimination_index == pytest.approx(statistics.correlation([2, 1, 0, 2], [3, 1, 2, 0]))
    with pytest.raises(ValueError, match="outside"):
        acc.add(2.5, 0)
    with pytest.raises(ValueError, match="cannot merge"):
        acc.merge(ItemAccumulator())


def test_a_bad_mark_leaves_the_accumulators_untouched() -> None:
    accumulators = {"a": ItemAccumulator(), "b": ItemAccumulator()}
    with pytest.raises(ValueError, match="outside"):
        add_attempt(accumulators, {"a": 0.5, "b": 1.5})
    assert accumulators == {"a": ItemAccumulator(), "b": ItemAccumulator()}


# --- Properties ---------------------------------------------------------------------------------------------

mark = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.integers(0, 10**7).map(lambda t: t / 10**7))


@st.composite
def attempts_strategy(draw: st.DrawFn, min_size: int = 1) -> Attempts:
    items = [f"q{i}" for i in range(draw(st.integers(1, 4)))]
    return draw(st.lists(st.fixed_dictionaries({q: mark for q in items}), min_size=min_size, max_size=30))


def accumulate(attempts: Attempts, items: list[str] | None = None) -> dict[str, ItemAccumulator]:
    accumulators = {item: ItemAccumulator() for item in items or attempts[0]}
    for marks in attempts:
        add_attempt(accumulators, marks)
    return accumulators


@given(attempts_strategy())
def test_every_value_stays_in_its_range(attempts: Attempts) -> None:
    rows = item_statistics(accumulate(attempts))
    for row in rows:
        assert 0 <= row.facility <= 1
        assert row.sd is None or 0 <= row.sd <= 1
        assert row.discrimination_index is None or -1 <= row.discrimination_index <= 1
        assert row.discriminative_efficiency is None or row.discriminative_efficiency <= 1 + 1e-12
    weights = [row.effective_weight for row in rows if row.effective_weight is not None]
    assert not weights or sum(weights) == pytest.approx(1)


@settings(max_examples=50)
@given(attempts_strategy(min_size=2))
def test_the_sums_agree_with_a_two_pass_computation(attempts: Attempts) -> None:
    want = exact_reference(attempts)
    for row in item_statistics(accumulate(attempts)):
        assert_matches(row, want[row.item], rel=1e-7)


@given(attempts_strategy(min_size=2), st.data())
def test_merging_two_accumulators_equals_one_over_the_union(attempts: Attempts, data: st.DataObject) -> None:
    cut, items = data.draw(st.integers(0, len(attempts))), list(attempts[0])
    first, second = accumulate(attempts[:cut], items), accumulate(attempts[cut:], items)
    merged = {q: first[q].merge(second[q]) for q in attempts[0]}
    assert merged == accumulate(attempts)
    assert item_statistics(merged) == item_statistics(accumulate(attempts))


@given(attempts_strategy(), st.randoms(use_true_random=False))
def test_the_order_of_the_attempts_changes_nothing(attempts: Attempts, random) -> None:
    shuffled, items = attempts[:], list(attempts[0])
    random.shuffle(shuffled)
    assert item_statistics(accumulate(shuffled, items)) == item_statistics(accumulate(attempts, items))


# --- Options of choice items ----------------------------------------------------------------------------------

def test_option_shares_and_options_nobody_picks() -> None:
    tally = tally_options("ABCD", [{"A"}, {"A"}, {"B"}, set(), {"A"}])
    shares = {s.option: s for s in option_shares(tally)}
    assert [s.option for s in option_shares(tally)] == list("ABCD")
    assert shares["A"].share == 3 / 5 and shares["B"].share == 1 / 5 and shares["C"].share == 0
    assert tally.unanswered == 1 and never_chosen_options(tally) == ["C", "D"]
    # A multiple-answer item: an attempt counts once for each option it chose.
    multi = tally_options("ABC", [{"A", "B"}, {"A"}])
    assert [s.share for s in option_shares(multi)] == [1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="not an option"):
        tally.add({"E"})


def test_option_tallies_merge_and_start_empty() -> None:
    empty = OptionTally(options=("A", "B"))
    assert [s.share for s in option_shares(empty)] == [None, None] and never_chosen_options(empty) == []
    merged = tally_options("AB", [{"A"}]).merge(tally_options("AB", [{"B"}, set()]))
    assert merged == tally_options("AB", [{"A"}, {"B"}, set()])
    with pytest.raises(ValueError, match="different options"):
        empty.merge(OptionTally(options=("A",)))


# --- The marks CSV and the command ------------------------------------------------------------------------------

def csv_of(attempts: Attempts, totals: list[float] | None = None) -> str:
    items = list(attempts[0])
    lines = [",".join(["attempt", *items, *(["summarks"] if totals else [])])]
    for i, marks in enumerate(attempts, start=1):
        lines.append(",".join([f"u{i}", *(repr(marks[q]) for q in items), *([repr(totals[i - 1])] if totals else [])]))
    return "\n".join(lines) + "\n"


def run_cli(tmp_path: Path, text: str | bytes, name: str = "marks.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return CliRunner().invoke(cli, ["stats", "items", "--marks-csv", str(path)])


def test_the_command_prints_the_definitions_values(tmp_path: Path) -> None:
    result = run_cli(tmp_path, csv_of(TEN))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["item"] for line in lines] == list("abcde")
    want = reference(TEN)
    for line in lines:
        assert set(line) == {"item", *FIELDS}
        for name in FIELDS:
            expected = want[line["item"]][name]
            assert line[name] == (None if expected is None else pytest.approx(expected, rel=1e-9))


def test_a_total_column_a_bom_and_chinese_names(tmp_path: Path) -> None:
    attempts = [{"卷积": a["a"], "b": a["b"]} for a in TEN]
    totals = [a["a"] + a["b"] + a["c"] for a in TEN]
    text = csv_of(attempts, totals).replace("summarks", "Total")
    result = run_cli(tmp_path, "\ufeff".encode() + text.encode("utf-8"))
    assert result.exit_code == 0, result.output
    lines = {json.loads(line)["item"]: json.loads(line) for line in result.stdout.splitlines()}
    assert list(lines) == ["卷积", "b"]
    want = reference(attempts, totals)
    assert lines["卷积"]["discrimination_index"] == pytest.approx(want["卷积"]["discrimination_index"])
    assert lines["b"]["effective_weight"] == pytest.approx(want["b"]["effective_weight"])


def test_an_empty_cell_is_an_unanswered_item_worth_zero() -> None:
    blank = read_marks("attempt,q1,q2\na,1,\nb,,0.5\nc,0.5,1\n".splitlines())
    zero = read_marks("attempt,q1,q2\na,1,0\nb,0,0.5\nc,0.5,1\n".splitlines())
    assert blank.accumulators == zero.accumulators and blank.attempts == 3
    assert item_statistics(blank.accumulators) == item_statistics(zero.accumulators)


def test_blank_lines_are_skipped_and_rows_still_counted(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "attempt,q1,q2\r\na,1,0\r\n\r\nb,0,1\r\nc,x,1\r\n")
    assert result.exit_code == 2
    assert "row 5, column 2 (q1)" in result.stderr


def test_a_quoted_id_may_hold_a_line_break(tmp_path: Path) -> None:
    result = run_cli(tmp_path, 'attempt,q1,q2\n"a\nb",1,0\nc,0,1\nd,1,x\n')
    assert result.exit_code == 2 and "row 4, column 3 (q2)" in result.stderr  # the spreadsheet's row, not the line


@pytest.mark.parametrize(("text", "where", "what"), [
    ("attempt,q1,q2\na,1,0\nb,abc,1\n", "row 3, column 2 (q1)", "'abc' is not a number"),
    ("attempt,q1,q2\na,1,1.5\n", "row 2, column 3 (q2)", "outside 0–1"),
    ("attempt,q1,q2\na,1,-0.5\n", "row 2, column 3 (q2)", "outside 0–1"),
    ("attempt,q1,q2\na,nan,1\n", "row 2, column 2 (q1)", "not a number"),
    ("attempt,q1,q2\na,1_0,1\n", "row 2, column 2 (q1)", "not a number"),
    ("a1,1,0.5\na2,0,1\n", "row 1", "missing header row"),
    ("", "", "missing header row: the file is empty"),
    ("attempt,q1,q2,q1\na,1,0,1\n", "row 1, column 4 (q1)", "duplicate column (also column 2)"),
    ("attempt,q1,,q3\n", "row 1, column 3", "no name"),
    ("attempt\na\n", "row 1", "at least one item column"),
    ("attempt,total\na,1\n", "row 1", "no item column"),
    ("attempt,q1,total,summarks\n", "row 1", "more than one total column"),
    ("attempt,q1,q2\na,1,0,1\n", "row 2", "4 cells where the header has 3"),
    ("attempt,q1,q2\na,1,0\na,0,1\n", "row 3, column 1 (attempt)", "already appeared in row 2"),
    ("attempt,q1,q2\n,1,0\n", "row 2, column 1 (attempt)", "the attempt id is empty"),
    ("attempt,q1,q2,summarks\na,1,0,\n", "row 2, column 4 (summarks)", "the total is empty"),
    ("attempt,q1,q2,summarks\na,1,0.5,0.8\n", "row 2, column 4 (summarks)", "less than the mark 1 of q1"),
    ('attempt,q1,q2\na,"1,0\n', "row 2", "not a readable CSV"),
    ('attempt,q1,q2\na,"1"0,0\n', "row 2", "not a readable CSV"),
])
def test_bad_input_says_where_and_exits_2(tmp_path: Path, text: str, where: str, what: str) -> None:
    result = run_cli(tmp_path, text)
    assert result.exit_code == 2, result.output
    assert f"marks.csv: {where}" in result.stderr and what in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    with pytest.raises(MarksCsvError):
        read_marks(text.splitlines())


def test_a_file_that_is_not_utf8_or_not_there(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "attempt,q1\nä,1\n".encode("latin-1"))
    assert result.exit_code == 2 and "not UTF-8" in result.stderr
    missing = CliRunner().invoke(cli, ["stats", "items", "--marks-csv", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2 and "none.csv" in missing.stderr and "Traceback" not in missing.output


def test_a_header_without_attempts_prints_nulls(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "attempt,q1\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"item": "q1", **dict.fromkeys(FIELDS)}


def test_the_marks_can_come_from_stdin() -> None:
    result = CliRunner().invoke(cli, ["stats", "items", "--marks-csv", "-"], input=csv_of(TINY))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["facility"] for line in result.stdout.splitlines()] == [0.5, 0.75, 0.5]
