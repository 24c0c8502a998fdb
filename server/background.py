"""Background responses (`background: true`): answered at once as `queued`, run as tasks of
this replica, their every state written to the store, where any replica reads it.

    queued -> in_progress -> completed | incomplete | failed | cancelled

While a response is unfinished its runner holds a lease on it in the store, renewed every
third of the lease. A cancel on another replica clears the lease, and the runner stops the
work at its next renewal; a runner that died (kill -9) stops renewing, and the next sweep
of any replica marks its responses failed. A server shutting down fails its own at once.

A streamed background response keeps its numbered SSE frames in the store; `replay` tails
them from any replica, from the frame after `starting_after`, until the response is final.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from reasoning.errors import ReasoningError
from reasoning.stored_responses import StoredResponses
from reasoning.types import Done, Event, Outcome
from server import sse
from server.ops.metrics import Metrics
from server.serving import outcome_of

log = logging.getLogger(__name__)
UNFINISHED = ("queued", "in_progress")
FLUSH_SECONDS = 0.1  # a streamed response's events are written in batches this far apart
Streaming = Callable[[AsyncIterator[Event]], AsyncIterator[bytes]]  # events -> numbered SSE frames
LOST = {"code": "server_error", "message": "the server running this background response stopped before it finished"}
SHUT_DOWN = {"code": "server_shutdown", "message": "the server shut down before this background response finished"}


class Envelope(Protocol):
    """What a response object says in each state (server/responses/render.py's Envelope)."""

    id: str

    def response(self, status: str, output: list[dict], **rest: Any) -> dict: ...

    def finished(self, outcome: Outcome) -> dict: ...


class BackgroundRunner:
    def __init__(self, responses: StoredResponses, metrics: Metrics, most: int, lease_seconds: float) -> None:
        self._responses = responses
        self._metrics = metrics
        self.most = most
        self.lease = lease_seconds
        self._tasks: dict[str, asyncio.Task] = {}
        self._cancelled: set[str] = set()  # asked to cancel, as opposed to stopped by a shutdown

    async def admit(self, envelope: Envelope, owner: str, items: list[dict]) -> dict | None:
        """Store the response as queued; None when `most` are unfinished already."""
        queued = envelope.response("queued", [])
        if not await self._responses.put_background(envelope.id, owner, queued, items, self.lease, self.most):
            return None
        self._metrics.background_moved(None, "queued")
        return queued

    def start(self, envelope: Envelope, events: AsyncIterator[Event], stream: Streaming | None = None) -> None:
        """Run the response on; with `stream`, its events are kept for streams to replay."""
        task = asyncio.create_task(self._run(envelope, events, stream))
        self._tasks[envelope.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(envelope.id, None))

    async def cancel(self, response_id: str) -> bool:
        """Stop a response this replica runs, and wait until it is stored as cancelled."""
        task = self._tasks.get(response_id)
        if task is None:
            return False
        self._cancelled.add(response_id)
        task.cancel()
        await asyncio.wait({task})
        return True

    async def _run(self, envelope: Envelope, events: AsyncIterator[Event], stream: Streaming | None) -> None:
        state = "queued"
        try:
            await self._responses.advance(envelope.id, envelope.response("in_progress", []), self.lease)
            self._metrics.background_moved(state, state := "in_progress")
            outcome = await (outcome_of(events) if stream is None else self._recorded(envelope.id, events, stream))
            final = envelope.finished(outcome)
        except asyncio.CancelledError:
            cancelled = envelope.id in self._cancelled
            final = (
                envelope.response("cancelled", []) if cancelled else envelope.response("failed", [], error=SHUT_DOWN)
            )
            await self._end(envelope.id, final, state)
            raise
        except ReasoningError as exc:  # the message is meant for clients, and never holds reasoning
            final = envelope.response("failed", [], error={"code": exc.code, "message": exc.message})
        except Exception:
            log.exception("a background response failed")
            final = envelope.response("failed", [], error={"code": "server_error", "message": "internal server error"})
        await self._end(envelope.id, final, state)

    async def _recorded(self, response_id: str, events: AsyncIterator[Event], stream: Streaming) -> Outcome:
        """Stream the events, keeping each numbered frame in the store (in batches); the outcome."""
        outcome: Outcome | None = None
        error: ReasoningError | None = None

        async def watched() -> AsyncIterator[Event]:
            nonlocal outcome, error
            try:
                async for event in events:
                    if isinstance(event, Done):
                        outcome = event.outcome
                    yield event
            except ReasoningError as exc:  # the stream tells it as events; the body says it too
                error = exc
                raise

        batch: list[tuple[int, bytes]] = []
        numbered, flushed = 0, time.monotonic()
        async for frame in stream(watched()):
            if frame != sse.KEEPALIVE:  # every other frame carries the next sequence_number
                batch.append((numbered, frame))
                numbered += 1
            if batch and time.monotonic() - flushed >= FLUSH_SECONDS:
                await self._responses.append_events(response_id, batch)
                batch, flushed = [], time.monotonic()
        await self._responses.append_events(response_id, batch)
        if outcome is None:
            raise error or RuntimeError("the reasoner ended without an outcome")
        return outcome

    async def _end(self, response_id: str, final: dict, state: str) -> None:
        self._cancelled.discard(response_id)
        self._metrics.background_moved(state, None)
        if await self._responses.advance(response_id, final, None):
            self._metrics.background_finished(final["status"])

    async def maintain_forever(self) -> None:
        """Renew this replica's leases, stop the work of responses cancelled elsewhere, and
        fail responses whose runner is gone: now and every third of the lease."""
        while True:
            with contextlib.suppress(ReasoningError):  # the store logged it; retried next time
                mine = list(self._tasks)
                unfinished = await self._responses.renew(mine, self.lease)
                for response_id in set(mine) - unfinished:
                    if (task := self._tasks.get(response_id)) is not None:
                        self._cancelled.add(response_id)
                        task.cancel()
                for _ in await self._responses.fail_lapsed(LOST):
                    self._metrics.background_finished("failed")
            await asyncio.sleep(self.lease / 3)

    async def replay(self, response_id: str, after: int, keepalive_seconds: float) -> AsyncIterator[bytes]:
        """The kept frames numbered above `after`, then the new ones as they are kept, until
        the response is final (a keep-alive comment through silences)."""
        quiet_since = time.monotonic()
        while True:
            found = await self._responses.find(response_id)  # before the frames: none is missed
            final = found is None or found.body is None or found.body.get("status") not in UNFINISHED
            for seq, frame in await self._responses.events_after(response_id, after):
                after, quiet_since = seq, time.monotonic()
                yield frame
            if final:
                return
            if time.monotonic() - quiet_since >= keepalive_seconds:
                quiet_since = time.monotonic()
                yield sse.KEEPALIVE
            await asyncio.sleep(FLUSH_SECONDS)

    async def stop(self) -> None:
        """At shutdown: fail what is still running here, and say so in the store."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
