"""The Mianjing extension: what a foreign format cannot carry, as a JSON-safe dict (shared by every format).

GIFT writes it as a comment line `// mianjing: {json}` before the question, Moodle XML as an element
`<mianjing>` inside `<question>`; Moodle ignores both. An import that finds it rebuilds the exact Question:

    ext = to_extension(q, base=what_the_format_alone_gives_back)   # the fields that differ (+ id, type)
    q2 = from_extension(ext, bank=..., file=..., base=what_the_format_alone_gives_back)   # q2 == q

`base` is the Question the format's own text reads back as (without the extension); without a base every
field that is not at its default is written, and `from_extension` needs no base. `file`, `line` and `bank`
never travel: they describe where the question is, not what it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from app.content.model import QUESTION_TYPES, Accepted, CodeSpec, KeyPoint, Misconception, Option, Pair, Question

VERSION = 1  # bumped if a field's encoding ever changes; readers refuse what they do not know
LOCATION = frozenset({"bank", "file", "line"})
ALWAYS = ("id", "type")
_FIELDS = {f.name: f for f in dataclasses.fields(Question)}
_MISSING = object()


class ExtensionError(ValueError):
    """The extension cannot be read back into a Question (malformed JSON data, unknown field, bad value)."""


def _default(name: str) -> Any:
    f = _FIELDS[name]
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return _MISSING


def _record(obj: Any) -> dict[str, Any]:
    """A small dataclass as a dict without the fields at their default (the JSON stays short)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        out[f.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def encode_field(name: str, value: Any) -> Any:
    """One Question field as JSON-safe data."""
    return _plain(value)


def to_extension(q: Question, *, base: Question | None = None, always: Iterable[str] = ALWAYS) -> dict[str, Any]:
    """The fields of `q` that `base` does not already hold (every field not at its default when there is no
    base), plus `always` (id and type), as a JSON-safe dict in the dataclass's field order."""
    keep = set(always)
    out: dict[str, Any] = {"v": VERSION}
    for name in _FIELDS:
        if name in LOCATION:
            continue
        value = getattr(q, name)
        if name not in keep:
            reference = getattr(base, name) if base is not None else _default(name)
            if reference is not _MISSING and value == reference and type(value) is type(reference):
                continue
        out[name] = encode_field(name, value)
    return out


def _tuple_of_str(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ExtensionError(f"{name} must be a list of strings")
    return tuple(value)


def _records(value: Any, name: str, cls: type, convert: Mapping[str, Any] | None = None) -> tuple[Any, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ExtensionError(f"{name} must be a list of objects")
    out = []
    for item in value:
        item = dict(item)
        for key, fn in (convert or {}).items():
            if key in item:
                item[key] = fn(item[key])
        try:
            out.append(cls(**item))
        except TypeError as exc:
            raise ExtensionError(f"{name}: {exc}") from None
    return tuple(out)


def _groups(value: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list) or not all(isinstance(g, list) for g in value):
        raise ExtensionError("groups must be a list of lists of strings")
    return tuple(_tuple_of_str(g, "groups") for g in value)


def _answer(value: Any) -> Any:
    # A shape's answer is a tuple of ints; numbers and booleans come back as JSON gave them.
    return tuple(value) if isinstance(value, list) else value


def _code(value: Any) -> CodeSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ExtensionError("code must be an object")
    try:
        return CodeSpec(**value)
    except TypeError as exc:
        raise ExtensionError(f"code: {exc}") from None


def _dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ExtensionError(f"{name} must be an object")
    return dict(value)


_DECODE: dict[str, Any] = {
    "topics": lambda v: _tuple_of_str(v, "topics"),
    "tags": lambda v: _tuple_of_str(v, "tags"),
    "followups": lambda v: _tuple_of_str(v, "followups"),
    "replaces": lambda v: _tuple_of_str(v, "replaces"),
    "not_duplicate_of": lambda v: _dict(v, "not_duplicate_of"),
    "options": lambda v: _records(v, "options", Option),
    "weights": lambda v: None if v is None else _dict(v, "weights"),
    "answer": _answer,
    "keypoints": lambda v: _records(v, "keypoints", KeyPoint, {
        "synonyms": lambda s: _tuple_of_str(s, "synonyms"), "groups": _groups}),
    "misconceptions": lambda v: _records(v, "misconceptions", Misconception, {"groups": _groups}),
    "accepted": lambda v: _records(v, "accepted", Accepted),
    "pairs": lambda v: _records(v, "pairs", Pair),
    "params": lambda v: _dict(v, "params"),
    "code": _code,
}


def decode_field(name: str, value: Any) -> Any:
    """One Question field back from its JSON-safe data; ExtensionError if it is malformed."""
    fn = _DECODE.get(name)
    return fn(value) if fn else value


def from_extension(d: Mapping[str, Any], *, bank: str, file: str, line: int = 0,
                   base: Question | None = None) -> Question:
    """The Question that `d` (a `to_extension` dict) describes over `base` (the format's own reading of the
    question; None when `d` holds every field). ExtensionError when `d` cannot be read."""
    if not isinstance(d, Mapping):
        raise ExtensionError("the extension must be an object")
    if d.get("v", VERSION) != VERSION:
        raise ExtensionError(f"unknown extension version {d.get('v')!r}")
    unknown = sorted(k for k in d if k != "v" and (k not in _FIELDS or k in LOCATION))
    if unknown:
        raise ExtensionError(f"unknown field(s): {', '.join(unknown)}")
    if d.get("type", base.type if base else None) not in QUESTION_TYPES:
        raise ExtensionError(f"unknown type {d.get('type')!r}")
    values: dict[str, Any] = {}
    for name in _FIELDS:
        if name in LOCATION:
            continue
        if name in d:
            values[name] = decode_field(name, d[name])
        elif base is not None:
            values[name] = getattr(base, name)
        elif (default := _default(name)) is not _MISSING:
            values[name] = default
        else:
            raise ExtensionError(f"missing field {name}")
    for name in ("id", "title", "prompt", "explanation", "source", "type"):
        if not isinstance(values[name], str):
            raise ExtensionError(f"{name} must be a string")
    if not isinstance(values["difficulty"], int) or isinstance(values["difficulty"], bool):
        raise ExtensionError("difficulty must be an integer")
    return Question(bank=bank, file=file, line=line, **values)


__all__ = ["ExtensionError", "decode_field", "encode_field", "from_extension", "to_extension"]
