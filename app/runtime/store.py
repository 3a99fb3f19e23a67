"""The live Content of one process: readers take a reference, a reload swaps it in one assignment."""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from app.content.loader import Content, load_content
from app.scoring.keypoints import get_tokenizer

log = logging.getLogger("mianjing.content")


def warm_up(content: Content) -> None:
    """Work that would otherwise land on the first requests after a load: the search postings and
    jieba's dictionary. Then freeze the long-lived content objects out of the cyclic GC: with 10,000
    questions in memory a full collection otherwise stalls every request for 100-200 ms."""
    try:
        content.search_index.build()
        get_tokenizer()
    except Exception:  # a warm-up failure only costs speed; the request path builds these on demand
        log.exception("content warm-up failed")
    # No gc.collect() first: a full collection over the content is exactly the stall this avoids.
    gc.freeze()


@dataclass(frozen=True)
class HeldBack:
    """A publication this worker did not follow: its folder holds another version (or does not load)."""

    published: str
    at: datetime
    on_disk: str | None  # the folder's version; None when it does not load
    reason: str


class ContentStore:
    def __init__(self, content: Content) -> None:
        self._content = content
        self.warm(content)
        self.publish_lock = threading.Lock()  # one load of the folder at a time; readers never wait on it
        # Set by app.runtime.publishing when the published version is not what the folder holds; /readyz says so.
        self.held_back: HeldBack | None = None

    @property
    def current(self) -> Content:
        return self._content

    def swap(self, content: Content) -> Content:
        """Publish `content`; requests that already hold the old one finish with it (no mixing)."""
        previous = self._content
        self._content = content
        self.warm(content)
        return previous

    @staticmethod
    def warm(content: Content) -> threading.Thread:
        thread = threading.Thread(target=warm_up, args=(content,), name="content-warm-up", daemon=True)
        thread.start()
        return thread

    def reload_from(self, directory) -> tuple[Content, Content]:
        """Parse off to the side, then swap, without publishing (tests); raises ContentInvalid and leaves the
        live content alone. A server publishes through app.runtime.publishing instead."""
        with self.publish_lock:
            new = load_content(directory)
            return self.swap(new), new
