"""An open item's grade as the pages show it: per-key-point verdicts with the clause that decided each, the
misconceptions the answer asserted, and the feedback codes in the reader's language. Pure: a check's result
and a result stored in an interview go through the same function.

Results stored before the claim grader carry key points with only label, hit, matched and how (no verdict,
no codes): a hit reads as covered, anything else as missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

VERDICTS = ("covered", "named", "contradicted", "missing")
# A mark for each verdict; the pages always print its word beside it (a mark alone is no explanation).
MARKS = {"covered": "✓", "named": "½", "contradicted": "✗", "missing": "○"}


@dataclass(frozen=True, slots=True)
class PointShown:
    verdict: str
    label: str
    statement: str | None  # what the point checks (older results: none)
    evidence: str | None  # the clause of the answer that decided it; never for a missing point

    @property
    def mark(self) -> str:
        return MARKS[self.verdict]


@dataclass(frozen=True, slots=True)
class MisconceptionShown:
    label: str
    statement: str
    evidence: str | None


@dataclass(frozen=True, slots=True)
class OpenVerdicts:
    points: tuple[PointShown, ...]
    misconceptions: tuple[MisconceptionShown, ...]
    cap: int | None  # the score cap of an answer with a misconception, in percent, when a code says it
    # The feedback codes in the reader's language, less the coverage the headline says; None for a result
    # stored before codes, whose prose is all there is.
    lines: tuple[str, ...] | None

    def count(self, verdict: str) -> int:
        return sum(1 for p in self.points if p.verdict == verdict)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _point(raw: Mapping[str, Any]) -> PointShown:
    verdict = raw.get("verdict")
    if verdict not in VERDICTS:  # stored before per-point verdicts
        verdict = "covered" if raw.get("hit") else "missing"
    evidence = None if verdict == "missing" else _text(raw.get("evidence"))
    return PointShown(verdict, str(raw.get("label", "")), _text(raw.get("statement")), evidence)


def open_verdicts(details: Mapping[str, Any] | None, codes: Sequence[Mapping[str, Any]] | None,
                  t: Callable[..., str]) -> OpenVerdicts | None:
    """What the pages show of an open item's result, or None when it has no key points to show."""
    raw_points = (details or {}).get("keypoints") or []
    if not raw_points:
        return None
    points = tuple(_point(p) for p in raw_points if isinstance(p, Mapping))
    found = tuple(MisconceptionShown(str(m.get("label", "")), str(m.get("statement", "")), _text(m.get("evidence")))
                  for m in (details or {}).get("misconceptions") or [] if isinstance(m, Mapping))
    caps = [c["cap"] for c in codes or () if c.get("code") == "misconception" and isinstance(c.get("cap"), int | float)]
    lines = tuple(code_lines(codes, t, skip=("open_coverage",))) if codes else None
    return OpenVerdicts(points, found, round(min(caps) * 100) if caps else None, lines)


def code_lines(codes: Sequence[Mapping[str, Any]], t: Callable[..., str], *, skip: Sequence[str] = ()) -> list[str]:
    """Feedback codes as sentences in the reader's language; a code this page does not know is left out."""
    sep = t("list_sep")
    out = []
    for c in codes:
        code = c.get("code")
        if code in skip:
            continue
        if code == "open_coverage":
            key = "code_open_coverage_named" if c.get("named") else "code_open_coverage"
            out.append(t(key, covered=c.get("covered", 0), named=c.get("named", 0), total=c.get("total", 0)))
        elif code in ("open_contradicted", "open_named", "open_missing"):
            out.append(t("code_" + code, points=sep.join(str(p) for p in c.get("points") or ())))
        elif code == "misconception":
            cap = c.get("cap")
            out.append(t("code_misconception", label=c.get("label", ""), statement=c.get("statement", ""),
                         cap=round(cap * 100) if isinstance(cap, int | float) else "–"))
    return out
