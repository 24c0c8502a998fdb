"""The shared backend: PostgreSQL through psycopg 3's asyncio API and a connection pool, for
several replicas behind one database. Every transaction commits before the store's call
returns (synchronous_commit stays on), so an acknowledged trace is durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from reasoning.errors import StoreFailure
from reasoning.store.db import POSTGRES, Row

POOL_SIZE = 8
CONNECT_TIMEOUT_SECONDS = 30.0  # a database that is not there fails the start, with this message
MIGRATION_LOCK = 0x7265_6173  # pg_advisory_xact_lock key: replicas starting at once migrate one at a time


class PostgresDatabase:
    dialect = POSTGRES

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str) -> PostgresDatabase:
        pool = AsyncConnectionPool(
            url, min_size=1, max_size=POOL_SIZE, open=False, kwargs={"autocommit": True}, name="trace-store"
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except PoolTimeout as exc:
            await pool.close()
            where = conninfo_to_dict(url)
            place = f"{where.get('host', 'localhost')}:{where.get('port', 5432)}/{where.get('dbname', '')}"
            raise StoreFailure(
                f"could not connect to PostgreSQL at {place} in {CONNECT_TIMEOUT_SECONDS:.0f} s"
            ) from exc
        return cls(pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTx]:
        async with self._pool.connection() as conn, conn.transaction():
            yield _PostgresTx(conn)

    async def migration_lock(self, tx: _PostgresTx) -> None:
        await tx.one("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    async def scrub(self) -> None:
        # PostgreSQL keeps deleted tuples until VACUUM, and its WAL and backups keep them
        # longer: a deleted trace's sealed reasoning may linger there. Its data key, in the
        # small trace_keys table, is vacuumed at once so the space it held is reused first.
        async with self._pool.connection() as conn:
            await conn.execute("VACUUM trace_keys")

    async def close(self) -> None:
        await self._pool.close()


class _PostgresTx:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(_native(sql), params)
        return cursor.rowcount

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        cursor = await self._conn.execute(_native(sql), params)
        return await cursor.fetchone()

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = await self._conn.execute(_native(sql), params)
        return await cursor.fetchall()


def _native(sql: str) -> str:
    """The store writes `?` parameters; psycopg wants `%s` (no `%` appears in our SQL)."""
    return sql.replace("?", "%s")
