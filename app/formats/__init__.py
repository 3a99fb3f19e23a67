"""Questions in and out of other systems: GIFT, Moodle XML, CSV (in and out) and Anki (out).

Pure, like app/content: an importer turns a file's text into Question records plus notes, an exporter turns
loaded Questions into a file. Writing the imported questions as a markdown bank (app/formats/bank_writer.py)
and publishing it happen at the edges (the CLI, the admin API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.content.model import Question

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
