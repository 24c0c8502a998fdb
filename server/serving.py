"""The one pipeline every generating endpoint goes through, composed once:

    enter    a slot in the engine's capacity (server/capacity.py), or a short wait for one:
             429 server_overloaded with Retry-After when there is none, and nothing runs
    admit    take a request and the prompt's tokens from the key's per-minute limits (429
             rate_limit_exceeded beyond them), and reserve the plan's worst case (Plan.worst_case,
             from its Budget) against its budget: 429 insufficient_quota when it cannot; nothing runs
    bound    the shutdown drain's grace (ops/shutdown.bounded)
    observe  metrics and the access log, from one observer, through Metrics' methods
    run      the Reasoner's events
    settle   charge the outcome's cost when it passes, before the client hears of it; when
             the events end without one (a cancel, a client that left, an error), charge
             what was generated, and release the rest; the generated tokens count against
             the key's tokens per minute; the slot is left
    answer   SSE as the events come, or JSON once the outcome is in; a client that leaves
             first cancels the work, which aborts its engine requests

A route only parses and renders: it builds a ReasoningRequest, asks `prepare` (every 4xx),
and hands `respond` a `Rendering`. The remaining-budget header is the value the reservation,
then the settlement, returned.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from reasoning.accounts.api_keys import ApiKey
from reasoning.accounts.ledger import Ledger, Reservation
from reasoning.accounts.rate_limits import RateLimits, RateState
from reasoning.errors import ReasoningError
from reasoning.pricing import Money
from reasoning.reasoner import Plan, Reasoner
from reasoning.types import AnswerDelta, Done, Event, Outcome, ReasoningRequest
from server import sse
from server.capacity import Capacity, Slot
from server.errors import ClientGone
from server.headers import budget_header, rate_headers
from server.ops import logs, shutdown
from server.ops.metrics import Metrics


@dataclass(frozen=True)
class Rendering:
    """How a route answers: its endpoint's name, and what it makes of the events or outcome."""

    endpoint: str  # chat | responses | messages: the metrics label
    whole: Callable[[Outcome], dict]  # the JSON body of a response that is not streamed
    stream: Callable[[AsyncIterator[Event]], AsyncIterator[bytes]] | None = None  # None: not streamed
    keep: Callable[[Outcome], Awaitable[None]] | None = None  # runs before the client hears of the outcome


class Hold:
    """One admitted request's hold on its key: its budget reservation (none for an unbudgeted
    key, or in open local mode) and its rate limits' standing. `remaining` is the key's
    remaining budget as the reservation, then the settlement, returned it; None when there is
    no budget to show."""

    def __init__(
        self,
        ledger: Ledger,
        rates: RateLimits,
        metrics: Metrics,
        key: ApiKey | None = None,
        held: Reservation | None = None,
        remaining: Money | None = None,
        rate: RateState | None = None,
    ) -> None:
        self._ledger = ledger
        self._rates = rates
        self._metrics = metrics
        self._key = key
        self._held = held
        self.remaining = remaining
        self.rate = rate

    @property
    def headers(self) -> dict[str, str]:
        return {**budget_header(self.remaining), **rate_headers(self.rate)}

    async def settle(self, cost: Money, generated_tokens: int) -> None:
        """Charge the exact cost and release the rest of the reservation; count the generated
        tokens against the key's tokens per minute."""
        key, self._key = self._key, None
        if key is None:  # settled already, or open local mode
            return
        if self.rate is not None:
            await self._rates.spend(key, generated_tokens)
        if self._held is None:
            return
        reservation, self._held = self._held, None
        standing = await self._ledger.settle(key, reservation, cost.nanos)
        self._metrics.set_key_spend(key.id, standing.spent_ratio)
        self.remaining = standing.remaining

    async def release(self) -> None:
        """Give the whole reservation back, charging nothing: the request generated nothing."""
        self._key = None
        if self._held is None:
            return
        reservation, self._held = self._held, None
        await self._ledger.release(reservation)


class Serving:
    def __init__(
        self,
        reasoner: Reasoner,
        ledger: Ledger,
        rates: RateLimits,
        metrics: Metrics,
        reservation_ttl_seconds: float,
        capacity: Capacity,
    ) -> None:
        self.reasoner = reasoner
        self._ledger = ledger
        self._rates = rates
        self._metrics = metrics
        self._ttl = reservation_ttl_seconds
        self.capacity = capacity

    def prepare(self, request: ReasoningRequest) -> Plan:
        """Check, render and budget a request before any engine work: every 4xx is raised here."""
        return self.reasoner.prepare(request)

    async def respond(self, request: Request, key: ApiKey | None, plan: Plan, rendering: Rendering) -> Response:
        slot = await self.capacity.enter(plan.worst_case_tokens)
        try:
            hold = await self.admit(key, plan)
        except BaseException:
            slot.leave()
            raise
        events = self.events(plan, hold, rendering.endpoint, rendering.keep, slot)
        weakref.finalize(events, slot.leave)  # a stream whose client left before it began
        if rendering.stream is not None:  # headers go out first: the remaining budget as reserved
            return sse.EventStream(rendering.stream(events), headers=hold.headers)
        outcome = await _unless_disconnected(request, outcome_of(events))
        return JSONResponse(rendering.whole(outcome), headers=hold.headers)

    async def admit(self, key: ApiKey | None, plan: Plan) -> Hold:
        """Take the request from the key's rate limits (RateLimited, 429, beyond them) and hold
        the plan's worst case against its budget (QuotaExceeded, 429, if it cannot cover it)."""
        if key is None:
            return Hold(self._ledger, self._rates, self._metrics)
        rate = await self._rates.admit(key, len(plan.prompt.token_ids))
        if not key.budgeted:
            return Hold(self._ledger, self._rates, self._metrics, key, rate=rate)
        reservation, standing = await self._ledger.reserve(key, plan.worst_case.nanos, self._ttl)
        self._metrics.set_key_spend(key.id, standing.spent_ratio)
        return Hold(self._ledger, self._rates, self._metrics, key, reservation, standing.remaining, rate)

    async def events(
        self,
        plan: Plan,
        hold: Hold,
        endpoint: str,
        keep: Callable[[Outcome], Awaitable[None]] | None = None,
        slot: Slot | None = None,
    ) -> AsyncIterator[Event]:
        """The plan's events, bounded and observed, settled when the outcome passes (after
        `keep`, before the client sees it); charged what they generated if they end without
        one. The capacity `slot`, when given, is left as they end."""
        try:
            async with aclosing(self._observed(shutdown.bounded(self.reasoner.run(plan)), endpoint)) as events:
                async for event in events:
                    if isinstance(event, Done):
                        if keep is not None:
                            await keep(event.outcome)
                        await hold.settle(event.outcome.cost, plan.generated_tokens)
                    yield event
        finally:  # a no-op once settled
            if slot is not None:
                slot.leave()
            await (hold.settle(plan.spent, plan.generated_tokens) if plan.generated_tokens else hold.release())

    async def _observed(self, events: AsyncIterator[Event], endpoint: str) -> AsyncIterator[Event]:
        """The one observer: latency, first answer and outcome as metrics, and the outcome or
        the error that ended the request in its access line."""
        started, answered, access = time.monotonic(), False, logs.current()
        self._metrics.request_started()
        try:
            async with aclosing(events):
                async for event in events:
                    if isinstance(event, AnswerDelta) and not answered:
                        answered = True
                        self._metrics.first_answer(time.monotonic() - started)
                    elif isinstance(event, Done):
                        self._metrics.outcome(event.outcome)
                        if access is not None:
                            access.outcome = event.outcome
                    yield event
        except ReasoningError as exc:
            if access is not None:
                access.error = exc.code
            raise
        except asyncio.CancelledError:
            if access is not None:
                access.error = "cancelled"  # the client left (or, at shutdown, uvicorn gave up on it)
            raise
        finally:
            self._metrics.request_finished(endpoint, time.monotonic() - started)


async def outcome_of(events: AsyncIterator[Event]) -> Outcome:
    """Read a request's events to its outcome, for responses that are not streamed."""
    async with aclosing(events):
        async for event in events:
            if isinstance(event, Done):
                return event.outcome
    raise RuntimeError("the reasoner ended without an outcome")


async def _unless_disconnected(request: Request, work: Awaitable[Outcome]) -> Outcome:
    """Await `work`, cancelling it (and so aborting its engine requests) if the client leaves."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise ClientGone
    finally:
        watcher.cancel()
        task.cancel()


async def _disconnected(request: Request) -> None:
    # The body is already read, so the next message the server gives is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass
