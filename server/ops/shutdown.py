"""Graceful shutdown: stop admitting, let the requests in flight finish, abort the rest, exit.

    SIGTERM / SIGINT   uvicorn's own handling would close the listening socket at once (new
        │              clients get "connection refused") and wait for open connections with no
        │              bound. `DrainingServer` catches the first signal and drains instead:
        ├─ draining    the socket stays open; new API requests get 503 `shutting_down`
        │              (OpenAI's shape) and /ready answers 503, so balancers move on
        ├─ grace       requests in flight run to their end, for `shutdown_grace_seconds`
        ├─ abort       what still runs is stopped: its engine work is aborted, a waiting client
        │              gets a 503 `shutting_down`, a stream gets that error as an event and ends
        └─ exit        only then uvicorn's shutdown: it closes the socket and idle connections,
                       waits at most `timeout_graceful_shutdown` (BACKSTOP_SECONDS: by now only a
                       client that reads nothing can hold it), and runs the lifespan's end, which
                       stops the engine and closes the trace store. The process exits with 0.
    A second signal cuts the grace short (abort now); a third is uvicorn's (SIGINT: force quit).
    A signal while the engine still loads cannot wait for the load (vLLM's start-up runs in a
    thread that nothing interrupts, tens of seconds): `abandon_loading_engine` ends its
    processes and leaves at once, after the store is closed.

Requests are stopped where they wait for their next event (`bounded`, which the serving pipeline
applies), so an abort is at once, not at the next keep-alive, and the error travels the way any
domain error does.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator
from contextlib import aclosing, suppress
from contextvars import ContextVar
from types import FrameType

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from reasoning.errors import Unavailable
from reasoning.types import Event
from server.errors import error_response

log = logging.getLogger(__name__)

ABORT_SECONDS = 5.0  # after an abort, how long aborted requests get to send their error
BACKSTOP_SECONDS = 5.0  # uvicorn's timeout_graceful_shutdown, once the drain is over
ADMITTED_PREFIX = "/v1/"  # the API; /health, /ready and /metrics answer throughout


def shutting_down() -> Unavailable:
    return Unavailable(
        "the server is shutting down and stopped this request before it finished; retry it",
        code="shutting_down",
    )


class InFlight:
    """One admitted API request, as the drain sees it."""

    __slots__ = ("cancelled", "expired", "task", "waiting")

    def __init__(self) -> None:
        self.expired = False  # the drain's grace is over for this request
        self.waiting = False  # suspended in `bounded`, waiting for its next event
        self.cancelled = False  # `expire` cancelled `task` there
        self.task: asyncio.Task | None = None

    def expire(self) -> None:
        self.expired = True
        if self.waiting and self.task is not None and not self.cancelled:
            self.cancelled = True
            self.task.cancel()


_in_flight: ContextVar[InFlight | None] = ContextVar("drain_in_flight", default=None)
_END = object()


class Drain:
    """Who is in flight, whether we still admit, and the drain sequence itself."""

    def __init__(self, grace_seconds: float = 30.0) -> None:
        self.grace_seconds = grace_seconds
        self.draining = False
        self._admitted: set[InFlight] = set()
        self._hurried = False
        self._changed = asyncio.Event()  # a request left, or the grace was cut short

    @property
    def in_flight(self) -> int:
        return len(self._admitted)

    def admit(self) -> InFlight | None:
        """The record of a new API request in flight, or None once draining."""
        if self.draining:
            return None
        admitted = InFlight()
        self._admitted.add(admitted)
        return admitted

    def release(self, admitted: InFlight) -> None:
        self._admitted.discard(admitted)
        self._changed.set()

    def hurry(self) -> None:
        """End the grace now: what is in flight is aborted."""
        self._hurried = True
        self._changed.set()

    async def run(self) -> None:
        """Stop admitting, wait out the grace, abort what remains."""
        self.draining = True
        log.info("draining", extra={"in_flight": self.in_flight, "grace_seconds": self.grace_seconds})
        if await self._settle(self.grace_seconds, hurried_ends=True):
            log.info("drained: every request in flight finished")
            return
        log.warning("grace over: aborting requests in flight", extra={"in_flight": self.in_flight})
        for admitted in list(self._admitted):
            admitted.expire()
        if not await self._settle(ABORT_SECONDS, hurried_ends=False):
            log.error("requests still running after the abort", extra={"in_flight": self.in_flight})

    async def _settle(self, seconds: float, hurried_ends: bool) -> bool:
        """Wait until nothing is in flight (True), or for `seconds` or a hurry (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self._admitted and not (hurried_ends and self._hurried) and loop.time() < deadline:
            self._changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), deadline - loop.time())
        return not self._admitted


async def bounded(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """A request's events until the drain's grace is over; then `shutting_down` is raised
    where the request waits, and the events are closed (which aborts the engine work)."""
    admitted = _in_flight.get()
    async with aclosing(events):
        if admitted is None:  # not admitted through a Drain (in-process tests): no bound
            async for event in events:
                yield event
            return
        while (event := await _next(events, admitted)) is not _END:
            yield event


async def _next(events: AsyncIterator[Event], admitted: InFlight) -> Event | object:
    if admitted.expired:
        raise shutting_down()
    admitted.task, admitted.waiting = asyncio.current_task(), True
    try:
        return await anext(events, _END)
    except asyncio.CancelledError:
        # The drain's cancel becomes the request's error, unless someone else cancelled too.
        if admitted.cancelled and admitted.task is not None and admitted.task.uncancel() == 0:
            raise shutting_down() from None
        raise
    finally:
        admitted.waiting = False


class DrainGate:
    """ASGI middleware: admits API requests while the server is not draining and tracks them."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(ADMITTED_PREFIX):
            await self.app(scope, receive, send)
            return
        admitted = self.drain.admit()
        if admitted is None:
            message = "the server is shutting down; retry the request"
            refused = error_response(503, message, None, "shutting_down", scope["path"])
            refused.headers["connection"] = "close"  # so that the retry opens a connection elsewhere
            await refused(scope, receive, send)
            return
        token = _in_flight.set(admitted)
        try:
            await self.app(scope, receive, send)
        finally:
            _in_flight.reset(token)
            self.drain.release(admitted)


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain before its shutdown (see the module's docstring)."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signals = 0
        self._draining: asyncio.Task | None = None

    async def startup(self, sockets=None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler: it runs between two steps of whatever the loop's thread was doing,
        # so it only hands the signal to the loop (a third one is uvicorn's, loop or not).
        self._signals += 1
        if self._loop is None or self._signals > 2:
            super().handle_exit(sig, frame)
        else:
            self._loop.call_soon_threadsafe(self._on_signal, signal.Signals(sig).name, self._signals)

    def _on_signal(self, name: str, count: int) -> None:
        if count == 1:
            log.info("received %s: draining", name)
            self._draining = asyncio.get_running_loop().create_task(self._drain_then_exit())
        else:
            log.warning("received %s again: aborting requests in flight", name)
            self.drain.hurry()

    async def _drain_then_exit(self) -> None:
        try:
            await self.drain.run()
        finally:
            self.should_exit = True  # uvicorn's main loop sees it within 0.1 s and shuts down


def abandon_loading_engine() -> None:
    """Exit now, with status 0, from a server stopped while its engine was still loading: end
    the engine processes started so far, then leave without joining the loading thread."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout=ABORT_SECONDS)
        if child.is_alive():
            child.kill()
    log.info("stopped while the engine was loading; its start-up abandoned")
    logging.shutdown()
    os._exit(0)
