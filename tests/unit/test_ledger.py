"""The spend ledger and API keys, on SQLite and on PostgreSQL: reservations never promise
more than the budget, even raced; settlement is exact; spending outlives the process."""

from __future__ import annotations

import asyncio
import sqlite3

import psycopg
import pytest

from reasoning.durations import parse_duration
from reasoning.errors import QuotaExceeded
from reasoning.pricing import Money
from reasoning.storage import open_store
from reasoning.vault.crypto import KeyRing, new_key

RING = KeyRing(dict([new_key()]))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(store_url, clock):
    opened = await open_store(store_url, lambda: RING, clock=clock)
    yield opened
    await opened.close()


async def test_money_is_exact_nanodollars():
    assert Money.at_least(0.0000491).nanos == 49_100 and Money.at_least("0.1").nanos == 10**8
    assert Money.at_least(1e-10).nanos == 1  # rounded up: a charge never falls short
    assert str(Money(1500)) == "0.0000015" and str(Money(2 * 10**9)) == "2" and str(Money(0)) == "0"
    assert parse_duration("30d") == 30 * 86_400 and parse_duration("90m") == 5400 and parse_duration("15") == 15
    for bad in ("", "0", "-1d", "3 weeks", "1y"):
        with pytest.raises(ValueError):
            parse_duration(bad)


async def test_reserve_settle_release(store):
    key, _ = await store.api_keys.create("user", "k", budget_nanos=1000, period_seconds=3600)
    first, standing = await store.ledger.reserve(key, 600, ttl_seconds=60)
    assert (standing.spent_nanos, standing.held_nanos, standing.remaining_nanos) == (0, 600, 400)
    with pytest.raises(QuotaExceeded) as refused:
        await store.ledger.reserve(key, 401, ttl_seconds=60)
    assert refused.value.code == "insufficient_quota" and "0.0000004 USD left" in refused.value.message
    settled = await store.ledger.settle(key, first, 250)  # the exact cost; the rest is released
    assert (settled.spent_nanos, settled.held_nanos, settled.remaining_nanos) == (250, 0, 750)
    second, _ = await store.ledger.reserve(key, 750, ttl_seconds=60)
    await store.ledger.release(second)  # did not complete: nothing charged
    assert (await store.ledger.standing(key)).remaining_nanos == 750
    over, _ = await store.ledger.reserve(key, 100, ttl_seconds=60)
    assert (await store.ledger.settle(key, over, 10**6)).spent_nanos == 350  # never more than reserved


async def test_concurrent_reservations_never_exceed_the_budget(store):
    key, _ = await store.api_keys.create("user", "k", budget_nanos=10_000, period_seconds=3600)

    async def attempt():
        try:
            reservation, _ = await store.ledger.reserve(key, 3_000, ttl_seconds=60)
        except QuotaExceeded:
            return None
        await asyncio.sleep(0.01)
        await store.ledger.settle(key, reservation, 3_000)
        return reservation

    results = await asyncio.gather(*(attempt() for _ in range(12)))
    assert sum(r is not None for r in results) == 3  # 3 x 3000 fit in 10000, a 4th never does
    assert (await store.ledger.standing(key)).spent_nanos == 9_000


async def test_reservations_race_across_separate_connections(store_url, clock):
    """Two store instances (as two replicas, or two processes) share one budget."""
    a = await open_store(store_url, lambda: RING, clock=clock)
    b = await open_store(store_url, lambda: RING, clock=clock)
    key, _ = await a.api_keys.create("user", "k", budget_nanos=5_000, period_seconds=3600)

    async def attempt(store):
        try:
            return (await store.ledger.reserve(key, 1_000, ttl_seconds=60))[0]
        except QuotaExceeded:
            return None

    results = await asyncio.gather(*(attempt(s) for s in [a, b] * 8))
    assert sum(r is not None for r in results) == 5
    assert (await b.ledger.standing(key)).held_nanos == 5_000
    await a.close()
    await b.close()


async def test_spend_survives_a_restart_and_lapsed_reservations_free_the_budget(store_url, clock):
    first = await open_store(store_url, lambda: RING, clock=clock)
    key, _ = await first.api_keys.create("user", "k", budget_nanos=1_000, period_seconds=3600)
    done, _ = await first.ledger.reserve(key, 400, ttl_seconds=60)
    await first.ledger.settle(key, done, 300)
    await first.ledger.reserve(key, 500, ttl_seconds=60)  # its process "dies" before settling
    await first.close()
    again = await open_store(store_url, lambda: RING, clock=clock)
    standing = await again.ledger.standing(key)
    assert (standing.spent_nanos, standing.held_nanos) == (300, 500)
    clock.now += 61
    assert (await again.ledger.standing(key)).held_nanos == 0  # lapsed: not counted any more
    assert await again.ledger.expire() == 1
    await again.close()


async def test_a_new_period_starts_from_zero(store, clock):
    key, _ = await store.api_keys.create("user", "k", budget_nanos=1_000, period_seconds=3600)
    reservation, _ = await store.ledger.reserve(key, 1_000, ttl_seconds=60)
    await store.ledger.settle(key, reservation, 1_000)
    with pytest.raises(QuotaExceeded):
        await store.ledger.reserve(key, 1, ttl_seconds=60)
    clock.now += 3600
    standing = await store.ledger.standing(key)
    assert standing.spent_nanos == 0 and standing.period_end == key.created_at + 7200


async def test_api_keys_are_stored_hashed_found_and_revoked(store, store_url):
    assert not await store.api_keys.configured()
    key, secret = await store.api_keys.create("admin", "ops")
    assert secret.startswith("rsk_") and len(secret) > 40 and key.id.startswith("key_")
    assert await store.api_keys.configured()
    assert await store.api_keys.find(secret) == key
    assert await store.api_keys.find(secret + "x") is None
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            stored = repr(db.execute("SELECT * FROM api_keys").fetchall())
    else:
        async with await psycopg.AsyncConnection.connect(store_url) as db:
            stored = repr(await (await db.execute("SELECT * FROM api_keys")).fetchall())
    assert secret not in stored and secret.removeprefix("rsk_") not in stored
    assert await store.api_keys.revoke(key.id) and not await store.api_keys.revoke(key.id)
    assert await store.api_keys.find(secret) is None
    assert await store.api_keys.configured()  # a revoked last key does not reopen the server
    assert [k.id for k in await store.api_keys.all()] == [key.id]
    with pytest.raises(ValueError):
        await store.api_keys.create("root")
