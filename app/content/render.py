"""Markdown to HTML for prompts and explanations: raw HTML off, math left for KaTeX in the browser."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

# "commonmark" with html=False escapes any <script> or other raw HTML a bank or an answer contains.
_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
    # Math becomes <span class="math inline"> / <div class="math block"> with escaped TeX; static/app.js
    # hands those to the vendored KaTeX.
    .use(dollarmath_plugin, allow_space=True, double_inline=True)
)


@lru_cache(maxsize=50_000)
def render_markdown(text: str) -> str:
    """Cached: questions are immutable and rendered on every view."""
    return _md.render(text)


def render_note(text: str) -> str:
    """A candidate's own note, by the same renderer (raw HTML escaped, math for KaTeX). Not cached: notes
    are private and change, and the cache above holds content that everyone reads."""
    return _md.render(text)
