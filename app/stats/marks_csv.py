"""Read a marks CSV (`mianjing stats items --marks-csv`) into item accumulators.

    attempt,q1,q2,q3,summarks        an attempt id column first, one column per item holding the attempt's
    a1,1,0.5,,1.5                    mark as a fraction of the item's maximum (0–1), an optional total
    a2,0,1,1,2                       column named `summarks` or `total` (any case)

An empty item cell is a mark of 0: the attempt saw the item and left it unanswered, which Moodle counts as 0.
The rest of the test is the total minus the item's mark, the total being the total column when there is one
(it must then be filled in every row and at least each item's mark) and the sum of the item columns
otherwise. Rows are numbered as in a spreadsheet: the header is row 1, blank lines are skipped but counted.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.stats.items import ItemAccumulator, add_attempt

TOTAL_COLUMNS = ("summarks", "total")


class MarksCsvError(ValueError):
    """A problem with the file, located by row (1 = the header) and column (1 = the attempt id)."""

    def __init__(self, message: str, row: int | None = None, column: int | None = None, name: str | None = None):
        self.row, self.column, self.name = row, column, name
        where = [f"row {row}"] if row is not None else []
        if column is not None:
            where.append(f"column {column}" + (f" ({name})" if name else ""))
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


@dataclass
class MarksTable:
    items: list[str]
    accumulators: dict[str, ItemAccumulator]
    attempts: int


def decode(data: bytes) -> str:
    """UTF-8, with or without a byte order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MarksCsvError(f"not UTF-8 (byte {exc.start} cannot be decoded)") from None


def read_marks(lines: Iterable[str]) -> MarksTable:
    reader = csv.reader(lines, strict=True)
    row = 0  # the last row read, for csv's own errors (an unclosed or stray quote)
    try:
        header = _header(next(reader, None))
        total_at = next((i for i, name in enumerate(header) if i and name.lower() in TOTAL_COLUMNS), None)
        item_at = [i for i in range(1, len(header)) if i != total_at]
        items = [header[i] for i in item_at]
        accumulators = {item: ItemAccumulator() for item in items}
        seen: dict[str, int] = {}
        row = 1
        for row, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise MarksCsvError(f"{len(cells)} cells where the header has {len(header)}", row)
            attempt = cells[0].strip()
            if not attempt:
                raise MarksCsvError("the attempt id is empty", row, 1, header[0])
            if attempt in seen:
                raise MarksCsvError(f"attempt {attempt!r} already appeared in row {seen[attempt]}", row, 1, header[0])
            seen[attempt] = row
            marks = {header[i]: _mark(cells[i], row, i, header[i]) for i in item_at}
            total = None
            if total_at is not None:
                total = _number(cells[total_at], row, total_at, header[total_at], empty=None)
                for i in item_at:
                    if total < marks[header[i]]:
                        raise MarksCsvError(f"the total {total:g} is less than the mark {marks[header[i]]:g} of "
                                            f"{header[i]}", row, total_at + 1, header[total_at])
            add_attempt(accumulators, marks, total)
    except csv.Error as exc:
        raise MarksCsvError(f"not a readable CSV: {exc}", row + 1) from None
    return MarksTable(items=items, accumulators=accumulators, attempts=len(seen))


def _header(cells: list[str] | None) -> list[str]:
    if cells is None:
        raise MarksCsvError("missing header row: the file is empty")
    names = [cell.strip() for cell in cells]
    if len(names) < 2:
        raise MarksCsvError("the header needs an attempt id column and at least one item column", 1)
    if all(_is_number(name) for name in names[1:]):
        raise MarksCsvError("missing header row: row 1 holds numbers where the column names should be (name "
                            "items with at least one letter, e.g. q1)", 1)
    first: dict[str, int] = {}
    for column, name in enumerate(names, start=1):
        if not name:
            raise MarksCsvError("the column has no name", 1, column)
        if name in first:
            raise MarksCsvError(f"duplicate column (also column {first[name]})", 1, column, name)
        first[name] = column
    totals = [name for name in names[1:] if name.lower() in TOTAL_COLUMNS]
    if len(totals) > 1:
        raise MarksCsvError(f"more than one total column: {', '.join(totals)}", 1)
    if len(names) - len(totals) < 2:
        raise MarksCsvError("the header has no item column", 1)
    return names


def _mark(cell: str, row: int, index: int, name: str) -> float:
    mark = _number(cell, row, index, name, empty=0.0)
    if not 0 <= mark <= 1:
        raise MarksCsvError(f"mark {cell.strip()} is outside 0–1 (marks are fractions of the item's maximum)",
                            row, index + 1, name)
    return mark


def _number(cell: str, row: int, index: int, name: str, empty: float | None) -> float:
    text = cell.strip()
    if not text:
        if empty is None:
            raise MarksCsvError("the total is empty", row, index + 1, name)
        return empty
    if not _is_number(text):
        raise MarksCsvError(f"{text!r} is not a number", row, index + 1, name)
    return float(text)


# Plain decimals only: float() would also take "1_0", "nan", "inf" and non-ASCII digits.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def _is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None
