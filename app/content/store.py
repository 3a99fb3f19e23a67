"""The live Content of one process: readers take a reference, a reload swaps it in one assignment."""

from __future__ import annotations

import threading

from app.content.loader import Content, load_content


class ContentStore:
    def __init__(self, content: Content) -> None:
        self._content = content
        self._reload_lock = threading.Lock()  # one reload at a time; readers never wait on it
        self.last_followed: str | None = None  # the published version this worker last tried to follow

    @property
    def current(self) -> Content:
        return self._content

    def swap(self, content: Content) -> Content:
        """Publish `content`; requests that already hold the old one finish with it (no mixing)."""
        previous = self._content
        self._content = content
        return previous

    def reload_from(self, directory) -> tuple[Content, Content]:
        """Parse off to the side, then swap; raises ContentInvalid and leaves the live content alone."""
        with self._reload_lock:
            new = load_content(directory)
            return self.swap(new), new
