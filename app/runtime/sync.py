"""Keep every worker on the published content version: a publication writes the version row, the workers
poll it (app/runtime/publishing.py decides what a worker then loads).

Polling one small row four times a second is cheap on SQLite and PostgreSQL alike and needs no extra
infrastructure; it keeps every worker within a quarter of a second of a publication. The poll is a plain
read (app.db.request_session), so autosaves never wait behind it.

A poll that fails (the database down, a table missing) is logged once, then retried with exponential
backoff up to a cap, and its recovery is logged: a broken database must not fill the log with a
traceback every quarter second, nor stop this worker following later publications.
"""

from __future__ import annotations

import asyncio
import logging
import os

from sqlalchemy.engine import Engine

from app.runtime.publishing import follow_published
from app.runtime.store import ContentStore

log = logging.getLogger("mianjing.sync")


async def follow_forever(engine: Engine, store: ContentStore, directory: str | os.PathLike[str], *,
                         poll_s: float, backoff_max_s: float) -> None:
    delay, failing_since = poll_s, 0
    while True:
        await asyncio.sleep(delay)
        try:
            await asyncio.to_thread(follow_published, engine, store, directory)
        except Exception:  # noqa: BLE001 - any failure: keep following, quietly
            failing_since += 1
            if failing_since == 1:
                log.exception("content version poll failed; retrying with backoff up to %s s, logged again "
                              "once it recovers", backoff_max_s)
            delay = min(max(delay, poll_s) * 2, backoff_max_s)
            continue
        if failing_since:
            log.warning("content version poll recovered after %d failed attempt(s)", failing_since)
            failing_since = 0
        delay = poll_s
