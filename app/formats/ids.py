"""Stable ids for imported questions (shared by every importer in app/formats).

An import must give a question the same id every time the same file is imported, so answers, review cards
and notes stay attached when a teacher re-imports an edited file. The id is `<bank>-<slug>`:

- the slug of the question's title (GIFT `::title::`, Moodle `<name>`): ASCII lower-case letters, digits and
  dashes; a title with other characters (Chinese) gets a short sha1 of the whole title appended (or alone,
  when nothing ASCII is left), so two Chinese titles never collapse into the same slug;
- `q<position>` (1-based, in file order) for a question without a title;
- a clash gets `-2`, `-3`… in file order;
- an id the other system gives (Moodle 4 `// [id:…]`, `<idnumber>`) wins when it is a valid Mianjing id
  after lower-casing (`given_id`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import MutableSet

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # the same rule as app/content/banks.py
MAX_SLUG = 48  # a heading stays readable; the sha1 suffix keeps long titles apart
HASH_CHARS = 8


def slug(title: str) -> str:
    """The ASCII slug of a title ("" for an empty title), with a short sha1 of the title when characters were
    dropped that carry meaning (anything not ASCII: Chinese titles)."""
    title = title.strip()
    if title.isascii():  # most titles: no normalisation can change them
        ascii_part = "-".join("".join(ch if ch.isalnum() else " " for ch in title.lower()).split())
        ascii_part = ascii_part[:MAX_SLUG].strip("-")
        if ascii_part:
            return ascii_part
    title = unicodedata.normalize("NFKC", title).strip()
    if not title:
        return ""
    out: list[str] = []
    for ch in title.lower():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    ascii_part = "".join(out).strip("-")[:MAX_SLUG].strip("-")
    if ascii_part and title.isascii():
        return ascii_part
    digest = hashlib.sha1(title.encode("utf-8"), usedforsecurity=False).hexdigest()[:HASH_CHARS]
    return f"{ascii_part}-{digest}" if ascii_part else digest


def given_id(raw: str) -> str | None:
    """An id given by the other system, lower-cased, when it is a valid Mianjing id; else None."""
    candidate = raw.strip().lower()
    return candidate if ID_RE.match(candidate) else None


def unique(candidate: str, taken: MutableSet[str]) -> str:
    """`candidate`, or `candidate-2`, `-3`… if taken; the result is added to `taken`."""
    out, n = candidate, 1
    while out in taken:
        n += 1
        out = f"{candidate}-{n}"
    taken.add(out)
    return out


def question_id(bank: str, title: str, position: int, taken: MutableSet[str]) -> str:
    """The stable id of the `position`-th (1-based) question of a file imported into `bank`; `taken` holds the
    ids given so far in this import and receives the new one."""
    part = slug(title) or f"q{position}"
    return unique(f"{bank}-{part}" if bank else part, taken)


__all__ = ["ID_RE", "given_id", "question_id", "slug", "unique"]
