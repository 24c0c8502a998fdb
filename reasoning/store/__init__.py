"""The persistence the vault, the accounts and stored responses share: transactions of
parameterized SQL (db.py) over two backends chosen by URL, `sqlite:///path` (sqlite.py, the
embedded default) and `postgresql://…` (postgres.py, several replicas, one database); the
schema and its migrations (schema.py); and where database failures become domain errors
(guard.py). It knows no records of its own: their owners do (reasoning/storage.py opens them).
"""

from __future__ import annotations

from pathlib import Path

from reasoning.store.db import Database


async def open_database(url: str) -> Database:
    if url.startswith("sqlite:///"):
        from reasoning.store.sqlite import SqliteDatabase

        return await SqliteDatabase.open(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        from reasoning.store.postgres import PostgresDatabase  # psycopg: the `postgres` extra

        return await PostgresDatabase.open(url)
    raise ValueError(f"unsupported store URL scheme: {url.split(':', 1)[0]} (use sqlite:/// or postgresql://)")
