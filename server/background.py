"""Background responses (`background: true`): answered at once as `queued`, run as tasks of
this replica, their every state written to the store, where any replica reads it.

    queued -> in_progress -> completed | incomplete | failed | cancelled

While a response is unfinished its runner holds a lease on it in the store, renewed every
third of the lease. A cancel on another replica clears the lease, and the runner stops the
work at its next renewal; a runner that died (kill -9) stops renewing, and the next sweep
of any replica marks its responses failed. A server shutting down fails its own at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from reasoning.errors import ReasoningError
from reasoning.stored_responses import StoredResponses
from reasoning.types import Event, Outcome
from server.ops.metrics import Metrics
from server.serving import outcome_of

log = logging.getLogger(__name__)
UNFINISHED = ("queued", "in_progress")
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

    def start(self, envelope: Envelope, events: AsyncIterator[Event]) -> None:
        task = asyncio.create_task(self._run(envelope, events))
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

    async def _run(self, envelope: Envelope, events: AsyncIterator[Event]) -> None:
        state = "queued"
        try:
            await self._responses.advance(envelope.id, envelope.response("in_progress", []), self.lease)
            self._metrics.background_moved(state, state := "in_progress")
            final = envelope.finished(await outcome_of(events))
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

    async def stop(self) -> None:
        """At shutdown: fail what is still running here, and say so in the store."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
