"""Backpressure: admit no more work than the engine can take, queue a little, shed the rest.

    enter   a slot at once while requests in flight (and, when bounded, the tokens they may
            still generate: their worst case from the budget) are under the limits; else a
            place in a bounded FIFO queue, for at most `queue_timeout` seconds; else, or when
            the wait runs out, Overloaded (429 with Retry-After) before any engine work
    leave   the slot's release, once, when the request's events end; a request whose events
            never started (its client left before the stream began) releases it when it is
            collected, so no slot leaks

A request larger than the token bound on its own is admitted when nothing else runs, so it is
served alone rather than never. Retry-After is the recent mean time a request held its slot:
about when one frees.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from reasoning.errors import Overloaded


@dataclass(frozen=True)
class Limits:
    max_in_flight: int
    max_queued: int
    queue_timeout: float
    max_tokens_in_flight: int | None = None  # None: bounded by requests alone


@dataclass
class Slot:
    """One admitted request's share of the engine; `leave` is idempotent."""

    capacity: Capacity
    tokens: int
    entered: float = field(default_factory=time.monotonic)
    left: bool = False

    def leave(self) -> None:
        if not self.left:
            self.left = True
            self.capacity._leave(self)


@dataclass
class _Waiter:
    tokens: int
    admitted: asyncio.Future[None]


class Capacity:
    def __init__(self, limits: Limits, on_shed: Callable[[], None] | None = None) -> None:
        self.limits = limits
        self.in_flight = 0
        self.tokens = 0
        self._queue: deque[_Waiter] = deque()
        self._on_shed = on_shed
        self._held_seconds = 1.0  # a running mean of how long a slot is held

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def enter(self, tokens: int) -> Slot:
        """A slot for a request that may generate `tokens`, or Overloaded."""
        if not self._queue and self._fits(tokens):
            return self._take(tokens)
        if len(self._queue) >= self.limits.max_queued:
            raise self._shed("the server is at capacity and its queue is full; retry after the time given")
        waiter = _Waiter(tokens, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.admitted), self.limits.queue_timeout)
        except TimeoutError:
            if not waiter.admitted.done():
                self._queue.remove(waiter)
                raise self._shed("the server stayed at capacity while this request waited; retry later") from None
        except asyncio.CancelledError:  # the client left while queued
            if waiter.admitted.done():
                self._leave_unused(tokens)
            else:
                self._queue.remove(waiter)
                self._admit_waiting()
            raise
        return Slot(self, tokens)

    def _fits(self, tokens: int) -> bool:
        if self.in_flight >= self.limits.max_in_flight:
            return False
        bound = self.limits.max_tokens_in_flight
        return bound is None or self.in_flight == 0 or self.tokens + tokens <= bound

    def _take(self, tokens: int) -> Slot:
        self.in_flight += 1
        self.tokens += tokens
        return Slot(self, tokens)

    def _leave(self, slot: Slot) -> None:
        held = time.monotonic() - slot.entered
        self._held_seconds += 0.1 * (held - self._held_seconds)
        self._leave_unused(slot.tokens)

    def _leave_unused(self, tokens: int) -> None:
        self.in_flight -= 1
        self.tokens -= tokens
        self._admit_waiting()

    def _admit_waiting(self) -> None:
        """Wake waiters in order while the head fits (first come, first served)."""
        while self._queue and self._fits(self._queue[0].tokens):
            waiter = self._queue.popleft()
            self.in_flight += 1
            self.tokens += waiter.tokens
            waiter.admitted.set_result(None)

    def _shed(self, message: str) -> Overloaded:
        if self._on_shed is not None:
            self._on_shed()
        return Overloaded(message, retry_after=max(1, math.ceil(self._held_seconds)))
