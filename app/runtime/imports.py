"""An imported bank into the content folder, through the one publishing module (DESIGN "Publishing content").

preview: read the file (app/formats/registry.py), then load the whole content tree as it would be with the
bank in place, in a scratch copy: a clash with another bank's ids or a round is found before anything
changes, and the diff says what the publish would add, change and remove.
publish: the same import, refused unless it is the previewed one (its digest), written into the folder
atomically and published by app/runtime/reload.py; a publish the checker refuses puts the old bank back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.content.loader import Content, ContentInvalid, load_content
from app.formats.registry import EXPORT_MEDIA, BankImport, export_questions

# banks/assets/<bank>/<name>: the files an imported bank's markdown references, as `assets/<bank>/<name>`
# (relative to the bank file, so the bank reads the same on a code host)
ASSETS_DIR = "assets"


_IMPORT_LOCK = threading.Lock()  # not the store's publish_lock: the publish inside takes that one


@dataclass(frozen=True)
class Preview:
    bank_import: BankImport
    errors: tuple[dict[str, Any], ...] = ()  # the content tree's, with the bank in place
    changes: dict[str, list[str]] | None = None

    @property
    def ok(self) -> bool:
        return self.bank_import.ok and not self.errors

    def body(self) -> dict[str, Any]:
        summary = self.bank_import.summary()
        summary["errors"] = summary["errors"] + list(self.errors)
        summary["ok"] = self.ok
        summary["digest"] = self.bank_import.digest if self.ok else None
        summary["changes"] = self.changes
        summary["markdown"] = self.bank_import.markdown
        if not self.ok:  # (a 422: what every refusal of the API carries first)
            summary["detail"] = f"the file does not import: {len(summary['errors'])} error(s); nothing changed"
        return summary


def bank_path(content_dir: str | os.PathLike[str], bank: str) -> Path:
    return Path(content_dir) / "banks" / f"{bank}.md"


def write_bank_files(banks_dir: str | os.PathLike[str], bank_import: BankImport) -> None:
    """BANKS_DIR/<bank>.md and its assets under BANKS_DIR/assets/<bank>/, each file replaced atomically."""
    banks_dir = Path(banks_dir)
    banks_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(banks_dir / f"{bank_import.bank}.md", bank_import.markdown.encode())
    if bank_import.assets:
        folder = banks_dir / ASSETS_DIR / bank_import.bank
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in bank_import.assets.items():
            _atomic_write(folder / Path(name).name, data)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _errors(exc: ContentInvalid, scratch: Path, content_dir: Path) -> tuple[dict[str, Any], ...]:
    """The tree's errors, with the scratch copy's paths named as the real folder's."""
    return tuple({"where": f"{e.file.replace(str(scratch), str(content_dir))}:{e.line}", "line": e.line,
                  "message": e.message} for e in exc.errors[:200])


def preview(content_dir: str | os.PathLike[str], bank_import: BankImport, current: Content) -> Preview:
    """What publishing `bank_import` into `content_dir` would do, without changing it."""
    if not bank_import.ok:
        return Preview(bank_import)
    content_dir = Path(content_dir)
    with tempfile.TemporaryDirectory(prefix="mianjing-import-") as tmp:
        scratch = Path(tmp) / "content"
        # Only the markdown is needed to validate: assets are written by the publish.
        shutil.copytree(content_dir, scratch, ignore=shutil.ignore_patterns(ASSETS_DIR, ".*"))
        write_bank_files(scratch / "banks", BankImport(bank_import.bank, bank_import.format, bank_import.file, bank_import.result,
                                        bank_import.markdown, bank_import.notes))
        try:
            new = load_content(scratch)
        except ContentInvalid as exc:
            return Preview(bank_import, _errors(exc, scratch, content_dir))
    from app.runtime.reload import diff  # (here: the CLI's export needs none of the database's modules)

    return Preview(bank_import, changes=diff(current, new))


def write_for_publish(content_dir: str | os.PathLike[str], bank_import: BankImport) -> bytes | None:
    """Write the bank into the folder; returns the bank file's previous bytes (None: it is new) to restore
    if the publish is refused."""
    path = bank_path(content_dir, bank_import.bank)
    previous = path.read_bytes() if path.is_file() else None
    write_bank_files(Path(content_dir) / "banks", bank_import)
    return previous


def restore(content_dir: str | os.PathLike[str], bank: str, previous: bytes | None) -> None:
    path = bank_path(content_dir, bank)
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        _atomic_write(path, previous)


def publish_import(app, db, bank_import: BankImport, actor: str, *, digest: str | None) -> tuple[int, dict[str, Any]]:
    """Write the previewed bank into the content folder and publish it: (status, body). 409 when `digest` is
    not what this import gives (the file or the folder changed since the preview), 422 with every error when
    the import or the tree is invalid; the folder is left as it was in both."""
    from app.runtime.reload import reload_content

    content_dir = app.state.settings.content_dir
    if not bank_import.ok:
        return 422, {**bank_import.summary(), "detail": "the file does not import: nothing changed"}
    if digest is not None and digest != bank_import.digest:
        return 409, {"detail": "this is not the previewed import (the file changed): preview it again",
                     "digest": bank_import.digest}
    with _IMPORT_LOCK:  # one import at a time in this process: the restore below must not undo another's
        previous = write_for_publish(content_dir, bank_import)
        ok, body = reload_content(app, db, actor)
        if not ok:
            restore(content_dir, bank_import.bank, previous)
            body["detail"] = f"the file does not import into the content tree: {body['detail']}"
    return (200 if ok else 422), {**body, "bank": bank_import.bank, "digest": bank_import.digest}


@dataclass(frozen=True)
class ExportedFile:
    data: bytes
    name: str
    media_type: str

    @property
    def headers(self) -> dict[str, str]:
        """What makes a browser save it under its name (the API's download and the admin page's alike)."""
        return {"Content-Disposition": f'attachment; filename="{self.name}"'}


def bank_assets(content_dir: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every bank's own files (banks/assets/<bank>/<name>), by name: what an export embeds where it can."""
    folder = Path(content_dir) / "banks" / ASSETS_DIR
    if not folder.is_dir():
        return {}
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*/*")) if path.is_file()}


def bank_file(content: Content, content_dir: str | os.PathLike[str], bank: str, fmt: str,
              instances: int) -> ExportedFile:
    """Bank `bank` (or every bank: "all") of the served content as a file in `fmt`."""
    from app.errors import NotFound

    titles = {b.id: b.title for b in content.banks}
    if bank != "all" and bank not in titles:
        raise NotFound(f"no bank {bank!r}")
    questions = [q for q in content.questions if bank == "all" or q.bank == bank]
    data = export_questions(questions, fmt, bank_titles=titles, instances=instances, assets=bank_assets(content_dir))
    extension, media = EXPORT_MEDIA[fmt]
    return ExportedFile(data, f"mianjing-{bank}-{content.version}.{extension}", media)
