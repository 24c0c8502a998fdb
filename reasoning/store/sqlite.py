"""The embedded backend: one SQLite file, WAL journal, every commit synced to disk.

One thread owns the connection, so its calls are serialized without locks around
SQLite itself; an asyncio lock keeps one transaction open at a time. Deleted rows are
overwritten in place (secure_delete) and the WAL is truncated after deletions, so a
deleted trace does not linger in the files.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from reasoning.store.db import SQLITE, Row

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000  # another process (the `keys` command, a `vault rotate`) holds the write lock


class SqliteDatabase:
    dialect = SQLITE

    def __init__(self, executor: ThreadPoolExecutor, db: sqlite3.Connection) -> None:
        self._executor = executor
        self._db = db
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SqliteDatabase:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-store")
        db = await asyncio.get_running_loop().run_in_executor(executor, _connect, path)
        return cls(executor, db)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        # Shielded: a caller that leaves stops waiting, but what it queued still runs, in order.
        # Unshielded, a COMMIT still queued behind other work was dropped and its transaction
        # stayed open: every later BEGIN failed (found by the fuzz run).
        return await asyncio.shield(asyncio.get_running_loop().run_in_executor(self._executor, fn, self._db, *args))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTx]:
        async with self._lock:
            # IMMEDIATE takes the write lock now: a read-modify-write (a budget reservation)
            # sees no other writer between its read and its write, in this process or another.
            try:
                await self._call(_run, "BEGIN IMMEDIATE", ())
            except asyncio.CancelledError:
                self._roll_back_soon()  # a cancelled BEGIN still runs on the store's thread
                raise
            try:
                yield _SqliteTx(self)
            except BaseException:
                self._roll_back_soon()
                raise
            try:
                await self._call(_run, "COMMIT", ())
            except (sqlite3.Error, asyncio.CancelledError):
                self._roll_back_soon()  # after a COMMIT that ran, nothing is left to roll back
                raise

    def _roll_back_soon(self) -> None:
        """Queue a ROLLBACK on the store's one thread, without waiting: it runs after the statement
        a cancellation interrupted and before anything a later transaction queues, so a client
        that leaves mid-transaction can never leave one open (every later BEGIN would fail)."""
        self._executor.submit(_roll_back_quietly, self._db)

    async def migration_lock(self, tx: _SqliteTx) -> None:
        return None  # BEGIN IMMEDIATE already excludes every other writer

    async def scrub(self) -> None:
        async with self._lock:
            await self._call(_run, "PRAGMA wal_checkpoint(TRUNCATE)", ())

    async def close(self) -> None:
        await self._call(sqlite3.Connection.close)
        self._executor.shutdown(wait=True)


class _SqliteTx:
    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._database._call(_run, sql, params)

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._database._call(_one, sql, params)

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._database._call(_all, sql, params)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _enter_wal(db)
    db.execute("PRAGMA synchronous=FULL")  # a committed trace survives power loss, not only a crash
    db.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed, not left in free pages
    return db


def _enter_wal(db: sqlite3.Connection) -> None:
    """Switch a fresh file to WAL. The switch needs the file to itself, and SQLite answers
    "database is locked" at once, without its busy handler, while another connection opens
    the same fresh file (replicas starting together): wait and retry, for the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _run(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    return db.execute(sql, params).rowcount


def _one(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Row | None:
    return db.execute(sql, params).fetchone()


def _all(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    return db.execute(sql, params).fetchall()


def _roll_back_quietly(db: sqlite3.Connection) -> None:
    with suppress(sqlite3.Error):  # none open: nothing to roll back
        db.execute("ROLLBACK")
