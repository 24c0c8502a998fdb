"""The embedded trace store: one SQLite file, WAL journal, every commit synced to disk."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reasoning.types import Chain, Trace

MIGRATIONS = (
    """
    CREATE TABLE traces (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        model TEXT NOT NULL,
        request_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        budget_tokens INTEGER NOT NULL,
        chains BLOB NOT NULL
    );
    CREATE INDEX traces_owner_created ON traces (owner, created_at);
    """,
)


class SqliteTraceStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One thread owns the connection: calls are serialized without locks.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-store")
        self._db = self._executor.submit(_connect, path).result()

    async def _run(self, fn, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, self._db, *args)

    async def put(self, trace: Trace) -> None:
        await self._run(_insert, trace)

    async def get(self, trace_id: str) -> Trace | None:
        return await self._run(_select, trace_id)

    async def close(self) -> None:
        await self._run(sqlite3.Connection.close)
        self._executor.shutdown(wait=True)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # a committed trace survives power loss, not only a crash
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT version FROM schema_version").fetchone()
    current = row[0] if row else 0
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        db.executescript(
            f"BEGIN;\n{script}\nDELETE FROM schema_version;\nINSERT INTO schema_version VALUES ({version});\nCOMMIT;"
        )
    return db


def _insert(db: sqlite3.Connection, trace: Trace) -> None:
    chains = json.dumps([asdict(c) for c in trace.chains]).encode()
    db.execute(
        "INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            trace.id,
            trace.owner,
            trace.model,
            trace.request_id,
            trace.created_at,
            trace.prompt_tokens,
            trace.completion_tokens,
            trace.reasoning_tokens,
            trace.cost_usd,
            trace.budget_tokens,
            chains,
        ),
    )


def _select(db: sqlite3.Connection, trace_id: str) -> Trace | None:
    row = db.execute("SELECT * FROM traces WHERE id = ?", (trace_id,)).fetchone()
    if row is None:
        return None
    *fields, chains = row
    return Trace(*fields, chains=tuple(Chain(**c) for c in json.loads(chains)))
