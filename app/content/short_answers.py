"""What a short answer's accepted text matches, as Moodle's qtype_shortanswer defines it.

The whole answer must match the accepted text, `*` standing for any run of characters (several stars are
one) and `\\*` for a literal star. Both sides are read like a numeric answer is (full-width to half-width by
NFKC, odd minus signs to '-', outer space trimmed) and, beyond Moodle, every run of white space counts as one
space, so that a pasted line break or a double space never costs a mark. Content validation and scoring use
this one rule, so a bank's full-credit answer is known to score 1 before anyone answers.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from app.content.model import Accepted

_TRANSLATE = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})
_SPACE_RE = re.compile(r"\s+")
_STARS_RE = re.compile(r"(?<!\\)\*+")  # Moodle: preg_split('/(?<!\\\\)\*+/', $pattern)


def normalize_short(text: str) -> str:
    return _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", text).translate(_TRANSLATE)).strip()


def _bits(pattern: str) -> list[str]:
    """The literal pieces between the wildcards, with `\\*` turned into a star."""
    return [bit.replace("\\*", "*") for bit in _STARS_RE.split(normalize_short(pattern))]


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.compile(".*".join(re.escape(bit) for bit in _bits(pattern)), flags)


def matches(pattern: str, answer: str, case_sensitive: bool = False) -> bool:
    """Whether `answer` (as typed) matches the accepted text `pattern`."""
    return _compiled(pattern, case_sensitive).fullmatch(normalize_short(answer)) is not None


def first_match(accepted: Sequence[Accepted], answer: str, case_sensitive: bool = False) -> Accepted | None:
    """The accepted answer that grades `answer`: the first in listed order that matches it (Moodle)."""
    return next((a for a in accepted if matches(a.text, answer, case_sensitive)), None)


def expected_text(pattern: str) -> str:
    """An answer the accepted text `pattern` matches, to show as the expected one: its literal pieces with each
    wildcard left out ("*卷积*" shows as 卷积), or standing as "…" where leaving it out would join two spaces."""
    bits = _bits(pattern)
    plain = normalize_short("".join(bits))
    return plain if matches(pattern, plain, True) else normalize_short("…".join(bits))
