"""Reading a request's event stream to its end, for responses that are not streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from reasoning.types import Done, Event, Outcome


async def outcome_of(events: AsyncIterator[Event]) -> Outcome:
    async for event in events:
        if isinstance(event, Done):
            return event.outcome
    raise RuntimeError("the reasoner ended without an outcome")
