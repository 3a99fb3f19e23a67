"""The live Content of one process: readers take a reference, a reload swaps it in one assignment."""

from __future__ import annotations

import gc
import logging
import threading

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


class ContentStore:
    def __init__(self, content: Content) -> None:
        self._content = content
        self.warm(content)
        self._reload_lock = threading.Lock()  # one reload at a time; readers never wait on it
        self.unfollowable: str | None = None  # a published version this worker could not load from disk

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
        """Parse off to the side, then swap; raises ContentInvalid and leaves the live content alone."""
        with self._reload_lock:
            new = load_content(directory)
            return self.swap(new), new
