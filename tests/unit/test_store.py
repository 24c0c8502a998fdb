"""The trace store, the same suite on SQLite and on a real PostgreSQL: durable, migrated on
open, sealed at rest, audited, deleted for good, expired by retention."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from reasoning.errors import StoreFailure, TraceUnreadable
from reasoning.storage import open_store
from reasoning.store.db import SQLITE
from reasoning.store.schema import LATEST, MIGRATIONS
from reasoning.store.sqlite import SqliteDatabase
from reasoning.types import Chain, Trace
from reasoning.vault.audit import Access
from reasoning.vault.crypto import KeyRing, new_key
from tests.vault_support import read_back

SECRET = "7*9=63, carry the six, SECRET-STEP"
ADMIN_READ = Access(actor="key_admin", role="admin", request_id="req_a", reason="incident 42")


def trace(trace_id: str = "rs_1", owner: str = "key_user", created_at: float = 1_000.0) -> Trace:
    return Trace(
        id=trace_id,
        owner=owner,
        model="tiny-reasoner",
        request_id="req_1",
        created_at=created_at,
        prompt_tokens=20,
        completion_tokens=50,
        reasoning_tokens=30,
        cost_usd=0.000022,
        budget_tokens=192,
        chains=(Chain(0, SECRET, "The answer is 63.", 30, 50, "stop"), Chain(1, "second", "63", 3, 5, "length")),
    )


class Clock:
    def __init__(self, now: float = 2_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(dict([new_key()]))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(store_url, ring, clock):
    opened = await open_store(store_url, lambda: ring, retention_seconds=86_400, clock=clock)
    yield opened
    await opened.close()


async def raw_rows(store_url: str) -> list[bytes]:
    """Every stored byte of the trace tables, as the database hands them out."""
    rows = []
    for table in ("traces", "trace_keys", "trace_audit"):
        if store_url.startswith("sqlite"):
            with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
                rows += [_bytes(row) for row in db.execute(f"SELECT * FROM {table}")]
        else:
            async with await psycopg.AsyncConnection.connect(store_url) as db:
                rows += [_bytes(row) for row in await (await db.execute(f"SELECT * FROM {table}")).fetchall()]
    return rows


def _bytes(row: tuple) -> bytes:
    return repr(row).encode() + b"".join(bytes(c) for c in row if isinstance(c, bytes | memoryview))


async def corrupt(store_url: str, sql: str) -> None:
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            db.execute(sql)
    else:
        async with await psycopg.AsyncConnection.connect(store_url, autocommit=True) as db:
            await db.execute(sql)


async def test_put_then_get_round_trips_every_field(store):
    await store.traces.put(trace())
    assert await read_back(store, "rs_1") == trace()
    assert await read_back(store, "rs_missing") is None
    assert await store.traces.info("rs_1") == replace(trace(), chains=())


async def test_reopening_keeps_data_at_the_latest_schema_version(store_url, ring):
    first = await open_store(store_url, lambda: ring, retention_seconds=10**10)
    await first.traces.put(trace())
    await first.close()
    again = await open_store(store_url, lambda: ring, retention_seconds=10**10)
    assert (await read_back(again, "rs_1")).chains[0].reasoning == SECRET
    async with again.db.transaction() as tx:
        assert await tx.all("SELECT version FROM schema_version") == [(LATEST,)]
    await again.close()


async def test_stored_bytes_hold_no_plaintext_reasoning_or_answer(store, store_url):
    await store.traces.put(trace())
    await store.traces.read("rs_1", ADMIN_READ)
    stored = b"".join(await raw_rows(store_url))
    assert b"rs_1" in stored  # the dump did see the rows
    assert SECRET.encode() not in stored and b"carry the six" not in stored
    assert b"The answer is 63" not in stored


@pytest.mark.parametrize("column", ["chains", "wrapped"])
async def test_a_flipped_byte_is_an_error_never_plaintext(store, store_url, column):
    await store.traces.put(trace())
    table, key = ("traces", "id") if column == "chains" else ("trace_keys", "trace_id")
    # Flip one bit in the middle of the sealed value (the ciphertext, past the header).
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            value = bytearray(db.execute(f"SELECT {column} FROM {table} WHERE {key} = 'rs_1'").fetchone()[0])
            value[30] ^= 1
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = 'rs_1'", (bytes(value),))
    else:
        flip = f"set_byte({column}, 30, get_byte({column}, 30) # 1)"
        await corrupt(store_url, f"UPDATE {table} SET {column} = {flip} WHERE {key} = 'rs_1'")
    with pytest.raises(TraceUnreadable) as caught:
        await read_back(store, "rs_1")
    assert SECRET not in str(caught.value) and caught.value.code == "trace_unreadable"


async def test_a_row_moved_to_another_owner_does_not_open(store, store_url):
    await store.traces.put(trace())
    await corrupt(store_url, "UPDATE traces SET owner = 'key_thief' WHERE id = 'rs_1'")
    with pytest.raises(TraceUnreadable):
        await read_back(store, "rs_1")


async def test_a_wrong_key_is_an_error(store_url, ring):
    first = await open_store(store_url, lambda: ring)
    await first.traces.put(trace(created_at=10**10))
    await first.close()
    same_id_other_bytes = KeyRing({ring.current: new_key()[1]})
    for wrong in (same_id_other_bytes, KeyRing(dict([new_key()]))):
        other = await open_store(store_url, lambda wrong=wrong: wrong)
        with pytest.raises(TraceUnreadable):
            await read_back(other, "rs_1")
        await other.close()


async def test_rotation_rewraps_old_rows_which_stay_readable_throughout(store_url):
    old = dict([new_key()])
    ring = KeyRing(old)
    store = await open_store(store_url, lambda: ring, retention_seconds=10**10)
    for i in range(5):
        await store.traces.put(trace(f"rs_{i}"))
    ring = KeyRing({**old, **dict([new_key()])})  # a new newest key
    assert (await read_back(store, "rs_0")).chains == trace().chains  # old rows readable before rotating
    await store.traces.put(trace("rs_new"))
    usage = await store.traces.key_usage()
    assert usage == {next(iter(old)): 5, ring.current: 1}
    rotation = await store.traces.rotate(batch=2)  # several batches
    assert (rotation.rewrapped, rotation.unreadable) == (5, 0)
    assert await store.traces.key_usage() == {ring.current: 6}
    ring = KeyRing({ring.current: ring.keys[ring.current]})  # the old key retired
    for i in [*range(5), "new"]:
        assert (await read_back(store, f"rs_{i}")).chains[0].reasoning == SECRET
    await store.close()


async def test_raw_read_commits_its_audit_record_before_decrypting(store, store_url):
    await store.traces.put(trace())
    await corrupt(store_url, "DELETE FROM trace_keys")  # the read will fail after the audit step
    with pytest.raises(TraceUnreadable):
        await store.traces.read("rs_1", ADMIN_READ)
    [record] = await store.traces.audit_log("rs_1")
    assert (record.actor, record.role, record.action, record.reason, record.request_id) == (
        "key_admin", "admin", "read", "incident 42", "req_a",
    )  # fmt: skip
    assert record.trace_owner == "key_user"


async def test_no_audit_record_means_no_read(store, store_url):
    await store.traces.put(trace())
    await corrupt(store_url, "DROP TABLE trace_audit")
    errors = []
    store.traces._guard._on_error = errors.append
    with pytest.raises(StoreFailure) as caught:
        await store.traces.read("rs_1", ADMIN_READ)
    assert not isinstance(caught.value, TraceUnreadable) and SECRET not in str(caught.value)
    assert errors == ["read"]


async def test_reads_of_missing_traces_leave_no_record(store):
    assert await store.traces.read("rs_nope", ADMIN_READ) is None
    assert await store.traces.audit_log("rs_nope") == []


async def test_delete_destroys_the_trace_and_its_data_key(store, store_url):
    await store.traces.put(trace())
    await store.traces.put(trace("rs_2"))
    async with store.db.transaction() as tx:
        lingering = await tx.one("SELECT chains FROM traces WHERE id = 'rs_1'")  # a copy, as a backup would keep
    assert await store.traces.delete("rs_1", Access("key_user", "user", "req_d"))
    assert await read_back(store, "rs_1") is None and await store.traces.info("rs_1") is None
    assert not await store.traces.delete("rs_1", Access("key_user", "user", "req_d"))
    assert [r.action for r in await store.traces.audit_log("rs_1")] == ["delete"]
    async with store.db.transaction() as tx:
        assert await tx.all("SELECT * FROM trace_keys WHERE trace_id = 'rs_1'") == []
    # Crypto-shredded: with the data key gone, the lingering copy opens under no key.
    assert bytes(lingering[0]) not in b"".join(await raw_rows(store_url))
    assert (await read_back(store, "rs_2")).chains == trace().chains
    if store_url.startswith("sqlite"):
        async with store.db.transaction() as tx:
            assert await tx.one("PRAGMA secure_delete") == (1,)  # whatever SQLite's build default
        path = store_url.removeprefix("sqlite:///")
        files = Path(path).read_bytes() + Path(path + "-wal").read_bytes()  # noqa: ASYNC240
        assert bytes(lingering[0])[20:60] not in files  # overwritten in place, WAL truncated


async def test_retention_hides_then_purges_expired_traces(store, clock):
    clock.now = 100_000.0
    await store.traces.put(trace("rs_old", created_at=100_000.0 - 86_400 - 1))
    await store.traces.put(trace("rs_new", created_at=100_000.0 - 10))
    await store.traces.read("rs_new", ADMIN_READ)
    assert await read_back(store, "rs_old") is None  # expired: invisible before any purge
    assert [t.id for t in await store.traces.list()] == ["rs_new"]
    assert await store.traces.purge() == 1
    async with store.db.transaction() as tx:
        assert await tx.all("SELECT id FROM traces") == [("rs_new",)]
        assert await tx.all("SELECT trace_id FROM trace_keys") == [("rs_new",)]
    clock.now += 86_400 + 20
    assert await store.traces.purge() == 1
    assert await store.traces.audit_log("rs_new") == []  # audit records expire too


async def test_list_filters_by_owner_and_time_newest_first(store, clock):
    clock.now = 10_000.0
    for i, (owner, at) in enumerate([("a", 9_000.0), ("b", 9_100.0), ("a", 9_200.0), ("a", 9_300.0)]):
        await store.traces.put(trace(f"rs_{i}", owner=owner, created_at=at))
    assert [t.id for t in await store.traces.list(owner="a")] == ["rs_3", "rs_2", "rs_0"]
    assert [t.id for t in await store.traces.list(since=9_100.0, until=9_300.0)] == ["rs_2", "rs_1"]
    assert [t.id for t in await store.traces.list(limit=2)] == ["rs_3", "rs_2"]
    assert all(t.chains == () for t in await store.traces.list())


async def test_version_one_plaintext_rows_are_sealed_by_the_migration(tmp_path, ring):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for statement in MIGRATIONS[0].statements:
            db.execute(SQLITE.ddl(statement))
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (1)")
        chain = {"index": 0, "reasoning": SECRET, "answer": "a", "reasoning_tokens": 1, "completion_tokens": 2}
        chains = json.dumps([{**chain, "finish_reason": "stop"}]).encode()
        db.execute("INSERT INTO traces VALUES ('rs_v1', 'local', 'm', 'r', 1e10, 1, 2, 1, 0.1, 9, ?)", (chains,))
    store = await open_store(f"sqlite:///{path}", lambda: ring)
    assert (await read_back(store, "rs_v1")).chains[0].reasoning == SECRET
    await store.close()
    with sqlite3.connect(path) as db:
        assert SECRET.encode() not in db.execute("SELECT chains FROM traces").fetchone()[0]


async def test_replicas_opening_one_fresh_store_at_once_migrate_it_once(store_url, ring):
    opened = await asyncio.gather(*(open_store(store_url, lambda: ring) for _ in range(4)))
    await opened[0].traces.put(trace(created_at=10**10))
    for store in opened:
        assert (await read_back(store, "rs_1")).chains == trace().chains
        await store.close()


async def test_an_unreachable_postgresql_fails_clearly_without_its_password(monkeypatch, ring):
    import reasoning.store.postgres as backend

    monkeypatch.setattr(backend, "CONNECT_TIMEOUT_SECONDS", 1)
    with pytest.raises(StoreFailure) as caught:
        await open_store("postgresql://user:hunter2@127.0.0.1:1/traces", lambda: ring)
    assert "127.0.0.1:1/traces" in str(caught.value) and "hunter2" not in str(caught.value)


async def test_clients_that_leave_mid_transaction_never_leave_one_open(store):
    # A request cancelled while its BEGIN ran on the store's thread left the transaction open,
    # and every later one failed ("cannot start a transaction within a transaction"): found by
    # the fuzz run. Cancel at every point of many transactions, then the store must still work.
    for turn in range(300):
        task = asyncio.create_task(store.api_keys.find("rsk_nobody"))
        for _ in range(turn % 7):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    key, secret = await store.api_keys.create("user")
    assert (await store.api_keys.find(secret)).id == key.id


async def test_a_commit_dropped_by_a_cancelled_caller_still_ends_its_transaction(tmp_path):
    # When the store's thread was busy, a caller cancelled while its COMMIT waited in the queue
    # dropped the COMMIT: the transaction stayed open and every later BEGIN failed (fuzz run).
    db = await SqliteDatabase.open(tmp_path / "store.db")
    busy, queued = threading.Event(), asyncio.Event()

    async def write() -> None:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (x INTEGER)", ())
            db._executor.submit(busy.wait)  # the thread is busy when the COMMIT is queued
            queued.set()

    task = asyncio.create_task(write())
    await queued.wait()  # the task went on to queue its COMMIT in the same step
    task.cancel()
    busy.set()
    await asyncio.gather(task, return_exceptions=True)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO t VALUES (1)", ())
    async with db.transaction() as tx:
        assert [tuple(row) for row in await tx.all("SELECT x FROM t", ())] == [(1,)]
    await db.close()
