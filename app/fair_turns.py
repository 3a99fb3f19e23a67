"""Fair turns: a worker serves at most `concurrency` requests at once; those that wait are taken first from
the callers that keep it least busy.

Quotas bound what a caller may store; they do not bound the server time it takes within them. A caller that
sends its next request the moment the last is answered (an abuser in a closed loop, within every quota)
would otherwise queue beside everyone, and a candidate who sends one autosave a second would wait behind
the whole queue (measured: candidates' p99 2.5-70x their p99 alone beside 10-200 such clients,
docs/benchmarks.md).

Each caller is a flow: its session token (bearer or cookie) when it sends one, else its address. A flow's
duty is the share of the recent past (decaying over MEMORY_S) in which it had a request in the worker,
waiting or running: a person who reads and types between requests has a duty of a few percent, a client
in a closed loop of 1, however slow the worker makes it. A waiting request's place is its arrival time
plus its flow's duty times AGING_S: a closed loop's request waits behind every request of a person that
arrives within AGING_S after it, and nobody waits for ever (it is served in the order of those places).

Measures tried first and dropped (docs/benchmarks.md): per-flow fairness (start-time fair queueing) and a
reserved rate per flow (Virtual Clock). Under overload both see every flow slowed to the same rate by the
queue itself, so 200 abusive accounts take two thirds of the worker from 100 candidates; the duty does not
depend on the rate the worker grants, so it still tells a closed loop from a person.

One instance per worker process (app.state.fair_turns), used only on its event loop: no lock. It is taken
by a dependency of every route after the body has arrived (FastAPI reads a body before it solves
dependencies), so a slow client never holds a turn.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

MEMORY_S = 10.0  # how long a flow's past busyness counts (the time constant of its decay)
AGING_S = 10.0  # the longest a request of a fully busy flow waits behind those of idle flows
MAX_FLOWS = 10_000  # flows remembered before those idle long enough to have no duty left are forgotten


def flow_of(token: str | None, address: str) -> str:
    """The flow a request belongs to: its session token, hashed (so no token is kept in memory), else its
    client address."""
    if token:
        return "t:" + hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return "a:" + address


@dataclass
class _Flow:
    inside: int = 0  # its requests in the worker, waiting or running
    busy: float = 0.0  # seconds it had one inside, decayed over MEMORY_S
    at: float = 0.0  # when `busy` was last brought up to date

    def update(self, now: float) -> float:
        """Bring `busy` to now and return the duty (0..1)."""
        decay = math.exp(-(now - self.at) / MEMORY_S)
        self.busy = self.busy * decay + (MEMORY_S * (1 - decay) if self.inside else 0.0)
        self.at = now
        return self.busy / MEMORY_S


class FairTurns:
    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._running = 0
        self._flows: dict[str, _Flow] = {}
        self._queue: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for _p, _n, f in self._queue if not f.done())

    def duty(self, flow: str) -> float:
        known = self._flows.get(flow)
        return known.update(time.monotonic()) if known else 0.0

    @asynccontextmanager
    async def turn(self, flow: str) -> AsyncIterator[None]:
        if self.concurrency <= 0:  # switched off
            yield
            return
        now = time.monotonic()
        state = self._flows.get(flow)
        if state is None:
            state = self._flows[flow] = _Flow(at=now)
        place = now + state.update(now) * AGING_S
        state.inside += 1
        try:
            if self._running < self.concurrency and not self._queue:
                self._running += 1
            else:
                granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                heapq.heappush(self._queue, (place, next(self._seq), granted))
                try:
                    await granted
                except asyncio.CancelledError:
                    if granted.done() and not granted.cancelled():  # given a turn just as it was cancelled
                        self._release()
                    else:
                        granted.cancel()
                    raise
            try:
                yield
            finally:
                self._release()
        finally:
            state.update(time.monotonic())
            state.inside -= 1
            if len(self._flows) > MAX_FLOWS:
                self._forget_idle()

    def _release(self) -> None:
        self._running -= 1
        while self._queue and self._running < self.concurrency:
            _place, _seq, granted = heapq.heappop(self._queue)
            if granted.done():  # cancelled while it waited
                continue
            self._running += 1
            granted.set_result(None)

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for flow in [f for f, s in self._flows.items() if not s.inside and s.update(now) < 0.001]:
            del self._flows[flow]
