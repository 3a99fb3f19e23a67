"""Fair turns: a worker serves at most `concurrency` requests at once; those that wait are taken first from
the callers that keep it least busy.

Quotas bound what a caller may store; they do not bound the server time it takes within them. A caller that
sends its next request the moment the last is answered (an abuser in a closed loop, within every quota)
would otherwise queue beside everyone, and a candidate who sends one autosave a second would wait behind
the whole queue (measured: candidates' p99 2.5-70x their p99 alone beside 10-200 such clients,
docs/benchmarks.md).

Each caller is a flow: its session token (bearer or cookie) when it sends one, else its address. What
tells a person from a closed loop is the pause between an answer and the caller's next request: a person
reads and types, a closed loop sends at once, however slow the worker is. That pause does not depend on how
long the worker made the caller wait, which is why the measures tried first failed (docs/benchmarks.md:
per-flow fairness, a reserved rate per flow, and the share of time a flow had a request inside all see
every caller slowed alike by the queue under overload). A request is *quick* when it arrives within
QUICK_S of the flow's last answer (or while another of the flow's requests is inside); a flow's quick share
is a moving average over its requests (QUICK_WEIGHT for the newest). A waiting request's place is its
arrival time plus AGING_S × how far the share is above QUICK_SHARE (0 at it, 1 at all quick). A person's
share stays near the few per cent of their pauses that are that short, and a burst of clicks (up to six
requests back to back) does not lift it past QUICK_SHARE; a closed loop's is all quick. So a
person's request waits only for the turns running and for earlier such requests; a closed loop's waits
behind every such request that arrives within AGING_S after it, and nobody waits for ever (places are
served in order). A mean of the pauses themselves was tried first: a person's mean dips below any
threshold now and then, and those requests waited seconds (candidates' p99 beside 200 abusers 5.5× alone).
A new flow starts at START_SHARE: its first request waits half as long as a closed loop's, and the share
falls below QUICK_SHARE at the first pause of a person. A client that pauses like a person to get ahead
sends at most a person's rate per account, which is what the quotas and the guest limits then bound.

One instance per worker process (app.state.fair_turns), used only on its event loop: no lock. It is taken
by a dependency of every route after the body has arrived (FastAPI reads a body before it solves
dependencies), so a slow client never holds a turn.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

QUICK_S = 0.1  # a request this soon after the flow's last answer is quick: a program's pace, rarely a person's
QUICK_WEIGHT = 0.2  # of the newest request in a flow's quick share
QUICK_SHARE = 0.8  # a flow whose quick share is above this waits behind people
START_SHARE = 0.9  # a new flow's quick share
AGING_S = 10.0  # the longest a request of a closed loop waits behind those of people
FORGET_S = 600.0  # flows without a request for this long are forgotten once MAX_FLOWS are remembered
MAX_FLOWS = 10_000


def flow_of(token: str | None, address: str) -> str:
    """The flow a request belongs to: its session token, hashed (so no token is kept in memory), else its
    client address."""
    if token:
        return "t:" + hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return "a:" + address


@dataclass
class _Flow:
    inside: int = 0  # its requests in the worker, waiting or running
    quick: float = START_SHARE  # the moving share of its requests that came quick
    left: float = 0.0  # when its last request ended (0: none yet)

    def arrive(self, now: float) -> float:
        """Note a request's arrival; its place's delay (s)."""
        if self.inside or self.left:
            quick = 1.0 if self.inside or now - self.left < QUICK_S else 0.0
            self.quick += QUICK_WEIGHT * (quick - self.quick)
        self.inside += 1
        return AGING_S * max(0.0, (self.quick - QUICK_SHARE) / (1.0 - QUICK_SHARE))


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

    def quick_share(self, flow: str) -> float | None:
        known = self._flows.get(flow)
        return known.quick if known else None

    @asynccontextmanager
    async def turn(self, flow: str) -> AsyncIterator[None]:
        if self.concurrency <= 0:  # switched off
            yield
            return
        now = time.monotonic()
        state = self._flows.get(flow)
        if state is None:
            state = self._flows[flow] = _Flow()
        place = now + state.arrive(now)
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
            state.left = time.monotonic()
            state.inside -= 1
            if len(self._flows) > MAX_FLOWS:
                self._forget_idle()

    def lend(self) -> None:
        """Give the calling request's turn back while it waits for something that is not this worker (the code
        judge's verdict): the worker serves others meanwhile. take_back() must follow."""
        if self.concurrency > 0:
            self._release()

    async def take_back(self) -> None:
        """Take a turn again after lend(), ahead of every waiting request (this one had its place already)."""
        if self.concurrency <= 0:
            return
        if self._running < self.concurrency and not self._queue:
            self._running += 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (0.0, next(self._seq), granted))
        await granted  # called from the route's thread (app.api.deps.outside_turn): nothing cancels it

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
        for flow in [f for f, s in self._flows.items() if not s.inside and s.left < now - FORGET_S]:
            del self._flows[flow]
