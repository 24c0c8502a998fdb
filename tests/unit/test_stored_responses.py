"""Stored responses on both backends: conversations' context, store:false notes, deletion,
and background responses' bound, states and leases."""

from __future__ import annotations

import pytest

from reasoning.storage import open_store
from reasoning.vault.crypto import KeyRing, new_key
from tests.unit.test_store import Clock

QUEUED = {"id": "resp_a", "object": "response", "status": "queued", "output": []}
LOST = {"code": "server_error", "message": "lost"}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def responses(store_url, clock):
    ring = KeyRing(dict([new_key()]))
    store = await open_store(store_url, lambda: ring, retention_seconds=600, clock=clock)
    yield store.responses
    await store.close()


async def test_kept_unkept_and_deleted(responses):
    context = [{"id": "msg_1", "type": "message", "role": "user", "content": []}]
    await responses.put("resp_kept", "key_a", {"output": [{"type": "reasoning", "id": "rs_1"}]}, context)
    await responses.put_unkept("resp_unkept", "key_a")
    kept, unkept = await responses.find("resp_kept"), await responses.find("resp_unkept")
    assert kept.context == context and kept.trace_id == "rs_1" and kept.owner == "key_a"
    assert unkept.body is None and unkept.trace_id is None
    assert await responses.get("resp_kept", "key_b") is None
    assert await responses.delete("resp_kept") and not await responses.delete("resp_kept")
    assert await responses.find("resp_kept") is None


async def test_background_bound_states_and_leases(responses, clock):
    assert await responses.put_background("resp_a", "key_a", QUEUED, [], 30, most=2)
    assert await responses.put_background("resp_b", "key_a", QUEUED, [], 30, most=2)
    assert not await responses.put_background("resp_c", "key_a", QUEUED, [], 30, most=2)  # the bound
    assert await responses.advance("resp_a", {**QUEUED, "status": "completed"}, None)  # final
    assert not await responses.advance("resp_a", {**QUEUED, "status": "cancelled"}, None)  # final stays final
    assert (await responses.find("resp_a")).body["status"] == "completed"
    assert await responses.put_background("resp_c", "key_a", QUEUED, [], 30, most=2)  # room again
    clock.now += 20
    assert await responses.renew(["resp_b", "resp_a"], 30) == {"resp_b"}  # a is final: not renewed
    clock.now += 20  # c's lease lapsed; b's was renewed
    assert await responses.fail_lapsed(LOST) == ["resp_c"]
    failed = (await responses.find("resp_c")).body
    assert failed["status"] == "failed" and failed["error"] == LOST
    assert (await responses.find("resp_b")).body["status"] == "queued"
