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


ASSET_PREFIX = "assets/"  # a bank's own files, written relative to the bank file (app/runtime/imports.py)
ASSET_URL = "/content/"  # where app/web/content_assets.py serves banks/assets/


def _asset_urls(state) -> None:
    """Images a bank names as `assets/<bank>/<file>` are served from /content/assets/<bank>/<file>."""
    for token in state.tokens:
        for child in token.children or ():
            src = child.attrGet("src") if child.type == "image" else None
            if isinstance(src, str) and src.startswith(ASSET_PREFIX):
                child.attrSet("src", ASSET_URL + src)


_md.core.ruler.push("asset_urls", _asset_urls)


@lru_cache(maxsize=50_000)
def render_markdown(text: str) -> str:
    """Cached: questions are immutable and rendered on every view."""
    return _md.render(text)


def render_note(text: str) -> str:
    """A candidate's own note, by the same renderer (raw HTML escaped, math for KaTeX). Not cached: notes
    are private and change, and the cache above holds content that everyone reads."""
    return _md.render(text)
