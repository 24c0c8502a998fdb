"""The store: where raw reasoning lives, apart from everything a client sees, and the API
keys and spending that decide who may use the server.

    open_store(url, keys) -> Store
        .traces     Vault: sealed traces, audited raw reads, deletion, retention, rotation
        .api_keys   ApiKeys: hashed keys with roles and budgets
        .ledger     Ledger: spending per key and period, reservations of running requests
        .responses  StoredResponses: Responses API objects kept with `store: true`

One implementation of each over two backends, chosen by the URL: `sqlite:///path` (the
embedded default) and `postgresql://…` (several replicas, one database). The schema is
migrated on open (schema.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reasoning.errors import ReasoningError
from reasoning.store.apikeys import ApiKeys
from reasoning.store.crypto import KeySource
from reasoning.store.db import Database
from reasoning.store.guard import ErrorHook, Guard
from reasoning.store.ledger import Ledger
from reasoning.store.records import DAY
from reasoning.store.responses import StoredResponses
from reasoning.store.schema import migrate
from reasoning.store.sealing import TraceSealer
from reasoning.store.vault import Vault
from reasoning.types import Trace

log = logging.getLogger(__name__)


class TraceStore(Protocol):
    """What the Reasoner needs of the store."""

    async def put(self, trace: Trace) -> None:
        """Durably store a trace; returns only once it is committed."""


@dataclass
class Store:
    db: Database
    traces: Vault
    api_keys: ApiKeys
    ledger: Ledger
    responses: StoredResponses

    async def put(self, trace: Trace) -> None:
        await self.traces.put(trace)

    async def get(self, trace_id: str) -> Trace | None:
        return await self.traces.get(trace_id)

    async def maintain_forever(self, interval_seconds: float) -> None:
        """The background task: purge expired traces and lapsed reservations, now and every
        `interval_seconds`, until cancelled. A failure is logged and retried next time."""
        while True:
            try:
                purged = await self.traces.purge()
                if purged:
                    log.info("retention: purged %d expired traces", purged)
                await self.responses.purge()
                await self.ledger.expire()
            except ReasoningError:
                log.warning("store maintenance failed; retrying in %s s", interval_seconds)
            await asyncio.sleep(interval_seconds)

    async def close(self) -> None:
        await self.db.close()


async def open_database(url: str) -> Database:
    if url.startswith("sqlite:///"):
        from reasoning.store.sqlite import SqliteDatabase

        return await SqliteDatabase.open(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        from reasoning.store.postgres import PostgresDatabase  # psycopg: the `postgres` extra

        return await PostgresDatabase.open(url)
    raise ValueError(f"unsupported store URL scheme: {url.split(':', 1)[0]} (use sqlite:/// or postgresql://)")


async def open_store(
    url: str,
    keys: KeySource,
    *,
    retention_seconds: float = 30 * DAY,
    on_error: ErrorHook | None = None,
    clock: Callable[[], float] = time.time,
) -> Store:
    """Open (and migrate) the store at `url`; `keys` gives the current key ring."""
    db = await open_database(url)
    sealer = TraceSealer(keys)
    try:
        await migrate(db, sealer)
    except BaseException:
        await db.close()
        raise
    guard = Guard(on_error)
    return Store(
        db=db,
        traces=Vault(db, sealer, retention_seconds, guard, clock),
        api_keys=ApiKeys(db, guard, clock),
        ledger=Ledger(db, guard, clock),
        responses=StoredResponses(db, retention_seconds, guard, clock),
    )
