"""The SQLite trace store: durable, migrated on open, round-trips every field."""

from __future__ import annotations

import sqlite3

from reasoning.store import open_store
from reasoning.types import Chain, Trace


def trace(trace_id: str = "rs_1") -> Trace:
    return Trace(
        id=trace_id,
        owner="local",
        model="tiny-reasoner",
        request_id="req_1",
        created_at=1.5,
        prompt_tokens=20,
        completion_tokens=50,
        reasoning_tokens=30,
        cost_usd=0.000022,
        budget_tokens=192,
        chains=(Chain(0, "7*9=63,3", "The answer is 63.", 30, 50, "stop"),),
    )


async def test_put_then_get_round_trips(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    await store.put(trace())
    assert await store.get("rs_1") == trace()
    assert await store.get("rs_missing") is None
    await store.close()


async def test_reopening_keeps_data_and_schema_version(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    await store.put(trace())
    await store.close()
    again = open_store(f"sqlite:///{tmp_path}/r.db")
    assert (await again.get("rs_1")).chains[0].reasoning == "7*9=63,3"
    await again.close()
    with sqlite3.connect(tmp_path / "r.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
