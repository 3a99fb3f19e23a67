"""Questions in and out of other systems: GIFT, Moodle XML, CSV (in and out) and Anki (out).

Pure, like app/content: an importer turns a file's text into Question records plus notes, an exporter turns
loaded Questions into a file. Writing the imported questions as a markdown bank (app/formats/bank_writer.py)
and publishing it happen at the edges (the CLI, the admin API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.content.banks import MIN_IMPORTED_PAIRS
from app.content.model import Pair, Question

NoteKind = Literal["error", "warning", "skipped"]


@dataclass(frozen=True, slots=True)
class ImportNote:
    """Something an import reports: an error (nothing is written while any remains), a question skipped with
    the reason, or a warning about what was not carried."""

    kind: NoteKind
    message: str
    line: int = 0  # 1-based; 0 when the format has no lines to point at
    column: int = 0  # 1-based; 0 when unknown
    row: int = 0  # CSV: the 1-based data row; 0 elsewhere
    field: str = ""  # CSV column / XML element the note is about

    def where(self, file: str) -> str:
        if self.row:
            return f"{file}: row {self.row}" + (f", column {self.field}" if self.field else "")
        if self.line:
            return f"{file}:{self.line}" + (f":{self.column}" if self.column else "")
        return file


@dataclass(slots=True)
class ImportResult:
    questions: list[Question] = field(default_factory=list)
    notes: list[ImportNote] = field(default_factory=list)
    # files the questions reference (Moodle XML <file> images): name inside the bank's asset folder -> bytes
    assets: dict[str, bytes] = field(default_factory=dict)

    @property
    def errors(self) -> list[ImportNote]:
        return [n for n in self.notes if n.kind == "error"]


def pairs_problem(pairs: tuple[Pair, ...] | list[Pair]) -> str | None:
    """Why an imported matching question cannot be held (too few pairs, a left text twice), or None."""
    lefts = [p.left for p in pairs if p.left]
    if len(lefts) < MIN_IMPORTED_PAIRS:
        return (f"配对题至少要 {MIN_IMPORTED_PAIRS} 对，这里只有 {len(lefts)} 对 / a matching question needs "
                f"{MIN_IMPORTED_PAIRS} pairs")
    if len(set(lefts)) != len(lefts):
        return "配对题的左边有重复 / a matching question repeats a left text"
    return None
