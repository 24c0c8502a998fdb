"""Backpressure (server/capacity.py): slots, a bounded FIFO queue with a timeout, shedding."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from reasoning.errors import Overloaded
from server.app import create_app
from server.capacity import Capacity, Limits
from server.settings import Settings
from tests.unit.doubles import ScriptedEngine, scripted_factory
from tests.unit.test_lifecycle import CHAT, body, until


async def settle() -> None:
    """Let woken waiters run (a wait goes through wait_for and shield: a few loop turns)."""
    for _ in range(5):
        await asyncio.sleep(0)


def capacity(in_flight=2, queued=2, timeout=5.0, tokens=None, shed=None) -> Capacity:
    return Capacity(Limits(in_flight, queued, timeout, tokens), on_shed=shed)


async def test_slots_up_to_the_limit_then_a_fifo_queue():
    gate = capacity(in_flight=2, queued=2)
    first, second = await gate.enter(10), await gate.enter(10)
    third = asyncio.ensure_future(gate.enter(10))
    fourth = asyncio.ensure_future(gate.enter(10))
    await settle()
    assert gate.in_flight == 2 and gate.queued == 2 and not third.done()
    first.leave()
    first.leave()  # leaving twice frees one slot
    await settle()
    assert third.done() and not fourth.done() and gate.in_flight == 2
    second.leave()
    (await third).leave()
    (await fourth).leave()
    assert gate.in_flight == 0 and gate.tokens == 0 and gate.queued == 0


async def test_a_full_queue_sheds_at_once_with_a_retry_after():
    shed = []
    gate = capacity(in_flight=1, queued=1, shed=lambda: shed.append(1))
    held = await gate.enter(1)
    waiting = asyncio.ensure_future(gate.enter(1))
    await settle()
    with pytest.raises(Overloaded) as refused:
        await asyncio.wait_for(gate.enter(1), 0.5)  # at once, not after the queue's timeout
    assert refused.value.retry_after >= 1 and refused.value.code == "server_overloaded"
    assert shed == [1]
    held.leave()
    (await waiting).leave()


async def test_a_wait_that_runs_out_is_shed_and_leaves_the_queue():
    gate = capacity(in_flight=1, queued=4, timeout=0.05)
    held = await gate.enter(1)
    with pytest.raises(Overloaded):
        await gate.enter(1)
    assert gate.queued == 0
    held.leave()
    (await gate.enter(1)).leave()
    assert gate.in_flight == 0


async def test_a_client_that_leaves_the_queue_frees_its_place():
    gate = capacity(in_flight=1, queued=1)
    held = await gate.enter(1)
    waiting = asyncio.ensure_future(gate.enter(1))
    await settle()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert gate.queued == 0
    held.leave()
    assert gate.in_flight == 0


async def test_the_token_bound_admits_what_fits_and_a_large_request_alone():
    gate = capacity(in_flight=10, queued=4, tokens=100)
    small = await gate.enter(60)
    large = asyncio.ensure_future(gate.enter(500))  # larger than the bound on its own
    await settle()
    assert not large.done()
    small.leave()
    await settle()
    alone = await large
    assert gate.tokens == 500
    after = asyncio.ensure_future(gate.enter(1))
    await settle()
    assert not after.done()  # nothing joins a request that is over the bound
    alone.leave()
    (await after).leave()
    assert gate.tokens == 0 and gate.in_flight == 0


async def test_over_capacity_the_api_answers_429_with_retry_after_and_frees_every_slot(tmp_path):
    engine = ScriptedEngine(script="1+1=2, and carry nothing\n</think>\nThe answer is 2.", delay=0.01)
    settings = Settings(data_dir=tmp_path, keepalive_seconds=0.05, max_in_flight=2, max_queued=1)
    app = create_app(settings, engine_factory=scripted_factory(engine))
    async with app.router.lifespan_context(app):
        await until(lambda: app.state.services.reasoner is not None)
        gate = app.state.services.serving.capacity
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
            bodies = [body(stream=i % 2 == 0) for i in range(8)]
            replies = await asyncio.gather(*(client.post(CHAT, json=b) for b in bodies))
        served = [r for r in replies if r.status_code == 200]
        shed = [r for r in replies if r.status_code == 429]
        assert len(served) >= 3 and len(served) + len(shed) == 8 and shed
        for reply in shed:
            assert int(reply.headers["retry-after"]) >= 1
            assert reply.json()["error"]["code"] == "server_overloaded"
        assert engine.calls and len(engine.calls) == len(served)  # the shed ran nothing
        assert gate.in_flight == 0 and gate.queued == 0 and gate.tokens == 0
        assert b"reasoning_requests_shed_total " + str(float(len(shed))).encode() in app.state.services.metrics.render()
