"""Which formats come in and go out, and the two steps every caller (CLI, admin API, admin page) shares:
a file becomes a validated markdown bank, loaded questions become a file.

Pure: bytes in, text and records out. Writing the bank into a content folder and publishing it are
app/runtime/imports.py's.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.content.banks import ID_RE, parse_bank
from app.content.model import Question
from app.formats import ImportNote, ImportResult
from app.formats.bank_writer import write_bank

IMPORT_FORMATS = ("gift", "moodle-xml", "csv")
EXPORT_FORMATS = ("gift", "moodle-xml", "csv", "apkg")
# What a download is called and served as.
EXPORT_MEDIA = {
    "gift": ("txt", "text/plain; charset=utf-8"),
    "moodle-xml": ("xml", "application/xml; charset=utf-8"),
    "csv": ("csv", "text/csv; charset=utf-8"),
    "apkg": ("apkg", "application/octet-stream"),
}


class FormatError(ValueError):
    """A request the formats cannot serve (unknown format, bad bank name): the caller's 422."""


@dataclass(frozen=True)
class BankImport:
    """A file read into a bank: the questions, the markdown written for them, and what to tell the user."""

    bank: str
    format: str
    file: str
    result: ImportResult
    markdown: str  # "" when the import has errors: nothing is written then
    notes: tuple[ImportNote, ...] = ()  # the importer's and the bank checker's, in file order
    assets: dict[str, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.markdown) and not any(n.kind == "error" for n in self.notes)

    @property
    def digest(self) -> str:
        """What a publish refers to: the bank text and its assets, exactly as previewed."""
        h = hashlib.sha256(self.markdown.encode())
        for name in sorted(self.assets):
            h.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(self.assets[name]).digest())
        return h.hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        by_kind: dict[str, list[dict[str, Any]]] = {"error": [], "skipped": [], "warning": []}
        for note in self.notes:
            by_kind[note.kind].append({"where": note.where(self.file), "line": note.line, "column": note.column,
                                       "row": note.row, "field": note.field, "message": note.message})
        return {
            "bank": self.bank, "format": self.format, "file": self.file, "ok": self.ok,
            "imported": dict(sorted(Counter(q.type for q in self.result.questions).items())),
            "questions": len(self.result.questions), "skipped": by_kind["skipped"],
            "warnings": by_kind["warning"], "errors": by_kind["error"], "assets": sorted(self.assets),
            "digest": self.digest if self.ok else None,
        }


def _decode(data: bytes) -> tuple[str | None, ImportNote | None]:
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, ImportNote("error", "不是 UTF-8 编码的文本 (not UTF-8 text)", line=line)


def _importer(fmt: str) -> Callable[..., ImportResult]:
    if fmt == "gift":
        from app.formats.gift import import_gift

        return import_gift
    if fmt == "moodle-xml":
        from app.formats.moodle_xml import import_moodle_xml

        return import_moodle_xml
    if fmt == "csv":
        from app.formats.csv_format import import_csv

        return import_csv
    raise FormatError(f"unknown import format {fmt!r}: one of {', '.join(IMPORT_FORMATS)}")


def check_bank_name(bank: str) -> str:
    if not ID_RE.match(bank or "") or len(bank) > 64:
        raise FormatError("bank name: lower-case letters, digits and dashes, at most 64 characters")
    return bank


def read_bank(data: bytes, *, fmt: str, bank: str, file: str, title: str | None = None,
              description: str = "", progress: Callable[[int, int], None] | None = None) -> BankImport:
    """Import `data` (the bytes of one file) as bank `bank`; the written markdown is parsed back with the bank
    checker, so what a preview shows is exactly what a publish will load. `progress(done, total)`: GIFT's
    questions as they are parsed (the other formats read in one step)."""
    importer = _importer(fmt)
    check_bank_name(bank)
    if fmt in ("moodle-xml", "csv"):  # they read the bytes themselves: XML's declared encoding, Excel's
        result = importer(data, bank=bank, file=file)
    else:
        text, problem = _decode(data)
        if text is None:
            result = ImportResult(notes=[problem] if problem else [])
            return BankImport(bank, fmt, file, result, "", tuple(result.notes))
        result = importer(text, bank=bank, file=file, **({"progress": progress} if progress else {}))
    notes = list(result.notes)
    if result.errors or not result.questions:
        if not result.questions and not result.errors:
            notes.append(ImportNote("error", "文件里没有可导入的题目 (no question to import)"))
        return BankImport(bank, fmt, file, result, "", tuple(notes), dict(result.assets))
    markdown = write_bank(bank=bank, title=title or bank, description=description, questions=result.questions)
    _, parsed, errors = parse_bank(markdown, f"{bank}.md")
    # The importers build records the bank checker accepts; one it refuses is reported, never written.
    notes.extend(ImportNote("error", f"{bank}.md:{e.line}: {e.message}") for e in errors)
    if len(parsed) != len(result.questions) and not errors:
        notes.append(ImportNote("error", "the written bank does not read back as the imported questions"))
    ok = not any(n.kind == "error" for n in notes)
    return BankImport(bank, fmt, file, result, markdown if ok else "", tuple(notes), dict(result.assets))


def export_questions(questions: Sequence[Question], fmt: str, *, bank_titles: Mapping[str, str],
                     instances: int = 1, notes: list[ImportNote] | None = None,
                     assets: Mapping[str, bytes] | None = None) -> bytes:
    """The file for `questions` (already loaded and validated) in `fmt`; what the format cannot hold is
    reported in `notes`. `assets` (name under banks/assets/ -> bytes) are embedded where the format can."""
    if fmt == "gift":
        from app.formats.gift import export_gift

        if notes is not None:  # (the GIFT writer reports nothing itself: every item is written, some as drawn)
            notes.extend(ImportNote("warning", f"{q.id}: GIFT 没有参数化题型，导出了 {instances} 个抽好的实例 / "
                                    "exported as drawn instances") for q in questions if q.type == "generated")
        return export_gift(questions, instances=instances, bank_titles=bank_titles).encode()
    if fmt == "moodle-xml":
        from app.formats.moodle_xml import export_moodle_xml

        return export_moodle_xml(questions, instances=instances, bank_titles=bank_titles, notes=notes,
                                 assets=assets).encode()
    if fmt == "csv":
        from app.formats.csv_format import export_csv

        return export_csv(questions).encode("utf-8")  # (the text starts with its BOM)
    if fmt == "apkg":
        from app.formats.anki import export_apkg

        return export_apkg(questions, bank_titles=bank_titles, instances=instances, notes=notes)
    raise FormatError(f"unknown export format {fmt!r}: one of {', '.join(EXPORT_FORMATS)}")
