"""Split a content markdown file into front matter and `##` blocks, each with its yaml block and body.

Banks and rounds share this shape, so they share this reader. Line numbers are 1-based file lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # libyaml is ten times faster; the 10,000-question bench depends on it
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)")
HEADING_RE = re.compile(r"^(#{2,3})\s+(.*?)\s*#*\s*$")


class DocError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Section:
    """A `###` heading inside a block, with its body lines."""

    title: str
    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()

    @property
    def text_line(self) -> int:
        """The line just before `text`'s first line (text line i, from 0, is file line text_line + 1 + i)."""
        blank = next((i for i, raw in enumerate(self.lines) if raw.strip()), 0)
        return self.line + blank


@dataclass
class Block:
    """A `##` heading, its yaml metadata and its body (split at `###` headings)."""

    heading: str
    line: int
    meta: dict[str, Any] | None = None
    meta_closed: bool = False  # the yaml block was read to its closing fence
    meta_line: int = 0
    meta_text: str = ""
    intro: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def intro_text(self) -> str:
        return "\n".join(self.intro).strip()

    def key_line(self, key: str) -> int:
        """Line of `key:` inside the yaml block, for messages; the block start when not found."""
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*:")  # (a JSON block quotes its keys)
        for offset, text in enumerate(self.meta_text.split("\n")):
            if pattern.match(text):
                return self.meta_line + 1 + offset
        return self.meta_line or self.line


@dataclass
class Document:
    front: dict[str, Any]
    front_line: int
    blocks: list[Block]
    errors: list[DocError]


MAX_YAML_DEPTH = 50  # metadata needs a few levels; libyaml's composer recurses in C and segfaults near 30,000


def _nesting_bound(text: str) -> int:
    """An upper bound on the nesting depth of the yaml in `text` (cheap; generous, never too small)."""
    deepest_block = 0
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        indicators = stripped.count("-") + stripped.count("?") + stripped.count(":")
        deepest_block = max(deepest_block, len(line) - len(stripped) + indicators)
    # Every open bracket could nest inside the previous one.
    return 2 * deepest_block + text.count("[") + text.count("{") + 1


def _structure_problem(data: Any) -> str | None:
    """Too deep, or a collection reached twice (anchors and aliases: `*a` can expand exponentially)."""
    seen: set[int] = set()
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_YAML_DEPTH:
            return f"嵌套超过 {MAX_YAML_DEPTH} 层"
        if id(value) in seen:
            return "不支持锚点和别名（&name / *name）"
        seen.add(id(value))
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children)
    return None


def load_yaml(text: str, first_line: int) -> Any:
    """Parse yaml; errors carry the file line (first_line is the line of the yaml's first line)."""
    # Deep nesting would crash the process inside libyaml; the pure-Python loader fails cleanly instead.
    loader = _Loader if _nesting_bound(text) <= MAX_YAML_DEPTH else yaml.SafeLoader
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # libyaml often marks the end of the stream; point at the block's last line instead.
        line = first_line + min(mark.line if mark else 0, max(text.count("\n"), 0))
        raise DocError(line, f"YAML 格式错误: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise DocError(first_line, f"YAML 格式错误: {exc}") from None
    except RecursionError:
        raise DocError(first_line, f"YAML 格式错误: 嵌套超过 {MAX_YAML_DEPTH} 层") from None
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. an integer of 5,000 digits, a year 0 date
        raise DocError(first_line, f"YAML 格式错误: {exc}") from None
    problem = _structure_problem(data)
    if problem:
        raise DocError(first_line, f"YAML 格式错误: {problem}")
    return data


def parse_document(text: str) -> Document:
    lines = text.split("\n")
    errors: list[DocError] = []
    front: dict[str, Any] = {}
    front_line = 1
    i = 0
    if lines and lines[0].strip() == "---":
        end = next((j for j in range(1, len(lines)) if lines[j].strip() in ("---", "...")), None)
        if end is None:
            errors.append(DocError(1, "front matter 没有结束的 '---'"))
            return Document({}, 1, [], errors)
        try:
            loaded = load_yaml("\n".join(lines[1:end]), 2)
            if loaded is None:
                loaded = {}
            if not isinstance(loaded, dict):
                raise DocError(2, "front matter 应该是 key: value 的映射")
            front = loaded
        except DocError as exc:
            errors.append(exc)
        i = end + 1
    else:
        errors.append(DocError(1, "文件开头缺少 front matter（以 '---' 开始的 yaml 段）"))

    blocks: list[Block] = []
    fence: str | None = None
    current: Block | None = None
    # state for the metadata block of the current ## heading
    awaiting_meta = False
    meta_lines: list[str] | None = None
    for idx in range(i, len(lines)):
        raw = lines[idx]
        lineno = idx + 1
        if "\x00" in raw:
            errors.append(DocError(lineno, "包含 NUL 字符"))
            raw = raw.replace("\x00", "")
        fm = FENCE_RE.match(raw)
        if meta_lines is not None:  # inside the yaml metadata block
            if fm and fence and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence) and not fm.group(2):
                assert current is not None
                current.meta_text = "\n".join(meta_lines)
                current.meta_closed = True
                meta_lines = None
                fence = None
            else:
                meta_lines.append(raw)
            continue
        if fence is not None:
            if fm and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence) and not fm.group(2):
                fence = None
            _append(current, raw)
            continue
        if fm:
            if awaiting_meta and fm.group(2).lower() in ("yaml", "yml"):
                assert current is not None
                fence = fm.group(1)
                current.meta_line = lineno
                meta_lines = []
                awaiting_meta = False
                continue
            fence = fm.group(1)
            awaiting_meta = False
            _append(current, raw)
            continue
        hm = HEADING_RE.match(raw)
        if hm and len(hm.group(1)) == 2:
            if current is not None and not current.meta_line:
                errors.append(DocError(current.line, f"「{current.heading}」后面缺少 ```yaml 元数据块"))
            current = Block(heading=hm.group(2), line=lineno)
            blocks.append(current)
            awaiting_meta = True
            continue
        if hm and len(hm.group(1)) == 3 and current is not None:
            current.sections.append(Section(title=hm.group(2), line=lineno))
            awaiting_meta = False
            continue
        if awaiting_meta and raw.strip():
            awaiting_meta = False
        _append(current, raw)
    if meta_lines is not None and current is not None:
        errors.append(DocError(current.meta_line, "yaml 元数据块没有结束的 ```"))
    elif fence is not None:
        errors.append(DocError(len(lines), "代码块没有结束的围栏"))
    if current is not None and not current.meta_line:
        errors.append(DocError(current.line, f"「{current.heading}」后面缺少 ```yaml 元数据块"))
    _load_metas([b for b in blocks if b.meta_closed], errors)
    return Document(front, front_line, blocks, errors)


_DOC_MARKER_RE = re.compile(r"^(---|\.\.\.)", re.MULTILINE)


def _load_json_metas(blocks: list[Block]) -> list[Block]:
    """Read the metadata blocks written as one JSON object (JSON is YAML: the bank writer writes them so,
    app/formats/bank_writer.py) with json, ten times faster than constructing them through PyYAML; the
    blocks left, for the yaml reader: every other block, and any whose JSON does not read."""
    rest = []
    for block in blocks:
        if block.meta_text.lstrip().startswith("{"):
            try:
                meta = json.loads(block.meta_text)
            except (ValueError, RecursionError):
                meta = None
            # JSON has no aliases; it nests no deeper than its brackets, so most blocks need no walk
            deep = block.meta_text.count("[") + block.meta_text.count("{") > MAX_YAML_DEPTH
            if isinstance(meta, dict) and not (deep and _structure_problem(meta)):
                block.meta = meta
                continue
        rest.append(block)
    return rest


def _load_metas(blocks: list[Block], errors: list[DocError]) -> None:
    """Parse every metadata block; one yaml stream for the whole file when possible.

    One libyaml call per file instead of per question is most of what keeps a 10,000-question load
    under a second. A block that could confuse the stream (document markers, deep nesting) or any
    error sends that file back to block-by-block parsing, which gives each error its exact line.
    """
    blocks = _load_json_metas(blocks)
    fast = [b for b in blocks if not _DOC_MARKER_RE.search(b.meta_text) and _nesting_bound(b.meta_text) <= MAX_YAML_DEPTH]
    docs: list[Any] | None = None
    if fast and len(fast) == len(blocks):
        try:
            docs = list(yaml.load_all("\n---\n".join(b.meta_text for b in blocks), Loader=_Loader))  # noqa: S506
        except (yaml.YAMLError, ValueError, OverflowError, TypeError, RecursionError):
            docs = None
        if docs is not None and len(docs) != len(blocks):
            docs = None
    for k, block in enumerate(blocks):
        try:
            if docs is None:
                meta = load_yaml(block.meta_text, block.meta_line + 1)
            else:
                meta = docs[k]
                # Fast-path blocks are shallow by construction; only anchors and aliases remain to refuse.
                problem = _structure_problem(meta) if "&" in block.meta_text or "*" in block.meta_text else None
                if problem:
                    raise DocError(block.meta_line + 1, f"YAML 格式错误: {problem}")
            if meta is None:
                meta = {}
            if not isinstance(meta, dict):
                raise DocError(block.meta_line, "元数据块应该是 key: value 的映射")
            block.meta = meta
        except DocError as exc:
            errors.append(exc)


def _append(block: Block | None, raw: str) -> None:
    if block is None:
        return
    if block.sections:
        block.sections[-1].lines.append(raw)
    else:
        block.intro.append(raw)
