"""Per-key rate limits: token buckets in the store (SQLite and PostgreSQL, so replicas share
them), and through the HTTP face: OpenAI's x-ratelimit-* headers on every response, 429
rate_limit_exceeded with Retry-After beyond them, before any engine work."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from reasoning.accounts.rate_limits import Bucket, RateState
from reasoning.errors import RateLimited
from reasoning.storage import open_store
from server.headers import rate_headers
from tests.unit.doubles import ScriptedEngine
from tests.unit.test_ledger import RING, Clock
from tests.unit.test_ledger_http import BODY, CHAT, serving
from tests.vault_support import bearer, create_key


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(store_url, clock):
    opened = await open_store(store_url, lambda: RING, clock=clock)
    yield opened
    await opened.close()


async def test_requests_per_minute_refill_continuously(store, clock):
    key, _ = await store.api_keys.create("user", rpm=2)
    first = await store.rates.admit(key, 10)
    assert first.requests.remaining == 1 and first.tokens is None
    await store.rates.admit(key, 10)
    with pytest.raises(RateLimited) as refused:
        await store.rates.admit(key, 10)
    assert refused.value.retry_after == 30  # one request comes back every 30 s at 2 per minute
    assert refused.value.state.requests.remaining == 0
    clock.now += 30
    assert (await store.rates.admit(key, 10)).requests.remaining == 0
    clock.now += 600  # never above the limit, however long idle
    assert (await store.rates.admit(key, 10)).requests.remaining == 1


async def test_tokens_per_minute_count_the_prompt_then_what_was_generated(store, clock):
    key, _ = await store.api_keys.create("user", tpm=1000)
    assert (await store.rates.admit(key, 100)).tokens.remaining == 900
    await store.rates.spend(key, 1200)  # a request may end over: the bucket goes below zero
    with pytest.raises(RateLimited) as refused:
        await store.rates.admit(key, 50)
    assert refused.value.retry_after == 21  # (50 - -300) tokens at 1000 a minute
    clock.now += 21
    assert (await store.rates.admit(key, 50)).tokens.remaining == 0
    big, _ = await store.api_keys.create("user", tpm=100)
    assert (await store.rates.admit(big, 5000)).tokens is not None  # larger than the limit: admitted when full


async def test_one_limit_however_many_replicas_race_for_it(store_url, clock):
    stores = [await open_store(store_url, lambda: RING, clock=clock) for _ in range(3)]
    try:
        key, _ = await stores[0].api_keys.create("user", rpm=5)
        results = await asyncio.gather(
            *(s.rates.admit(key, 1) for s in stores for _ in range(4)), return_exceptions=True
        )
        assert sum(not isinstance(r, Exception) for r in results) == 5
        assert all(isinstance(r, RateLimited) for r in results if isinstance(r, Exception))
    finally:
        for s in stores:
            await s.close()


async def test_limits_are_editable_and_none_is_unlimited(store, clock):
    key, _ = await store.api_keys.create("user", rpm=1)
    await store.rates.admit(key, 1)
    assert await store.api_keys.set_rates(key.id, None, 500)
    edited = await store.api_keys.get(key.id)
    assert (edited.rpm, edited.tpm) == (None, 500)
    assert (await store.rates.admit(edited, 1)).requests is None
    assert await store.rates.admit(dataclasses.replace(edited, tpm=None), 1) is None
    with pytest.raises(ValueError):
        await store.api_keys.create("user", rpm=0)


def test_headers_in_openai_form():
    assert rate_headers(None) == {}
    headers = rate_headers(RateState(Bucket(60, 59.0), Bucket(1000, 250.5)))
    assert headers == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "250",
        "x-ratelimit-reset-tokens": "44.97s",
    }
    assert rate_headers(RateState(Bucket(1, -9.0), None))["x-ratelimit-reset-requests"] == "10m0s"


async def test_the_api_sends_the_headers_and_refuses_beyond_the_limit_before_any_work(tmp_path):
    key, secret = await create_key(tmp_path, "user")
    engine = ScriptedEngine()
    async with serving(tmp_path, engine) as (client, app):
        await app.state.services.store.api_keys.set_rates(key.id, 3, 10_000)
        replies = [await client.post(CHAT, json={**BODY, "stream": i == 1}, headers=bearer(secret)) for i in range(3)]
        assert [r.headers["x-ratelimit-remaining-requests"] for r in replies] == ["2", "1", "0"]
        assert all(r.status_code == 200 and r.headers["x-ratelimit-limit-tokens"] == "10000" for r in replies)
        calls = len(engine.calls)
        refused = await client.post(CHAT, json=BODY, headers=bearer(secret))
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused.headers["retry-after"] == "20" and refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert len(engine.calls) == calls  # nothing ran
        tokens_only = dataclasses.replace(key, rpm=None, tpm=10_000)
        standing = await app.state.services.store.rates.admit(tokens_only, 0)
        used = sum(r.json()["usage"]["total_tokens"] for r in (replies[0], replies[2]))
        assert 10_000 - standing.tokens.level >= used  # prompts and generated tokens were counted
