"""Reading a stored trace as the tests need it: straight from a data directory's SQLite file,
decrypted with that directory's key file (the way an operator with the keys could)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

from reasoning.store import open_store
from reasoning.store.crypto import KeyFile
from reasoning.store.records import parse_duration, usd_to_nanos
from reasoning.store.sealing import TraceSealer
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def trace_row(data_dir: Path, trace_id: str) -> dict | None:
    """The trace's row, its `chains` decrypted back to JSON bytes; None if there is none."""
    with sqlite3.connect(data_dir / "reasoning.db") as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT t.*, k.wrapped FROM traces t JOIN trace_keys k ON k.trace_id = t.id WHERE t.id = ?", (trace_id,)
        ).fetchone()
    if row is None:
        return None
    sealer = TraceSealer(KeyFile(data_dir / "trace-keys").ring)
    chains = sealer.open(row["id"], row["owner"], row["chains"], row["wrapped"])
    return {**dict(row), "chains": json.dumps([asdict(c) for c in chains]).encode()}


def stored_chains(data_dir: Path, trace_id: str) -> list[dict]:
    row = trace_row(data_dir, trace_id)
    if row is None:
        raise LookupError(f"no stored trace {trace_id}")
    return json.loads(row["chains"])


async def create_key(data_dir: Path, role: str, name: str = "", budget_usd: float | None = None, period: str = "30d"):
    """Create an API key in a data directory's store, as `keys create` would: (ApiKey, secret)."""
    settings = Settings(data_dir=data_dir)
    store = await open_store(settings.resolved_store_url, settings.trace_key_source())
    try:
        budget = usd_to_nanos(budget_usd) if budget_usd is not None else None
        return await store.api_keys.create(role, name, budget, int(parse_duration(period)))
    finally:
        await store.close()


def add_key(data_dir: Path, role: str, name: str = "", budget_usd: float | None = None, period: str = "30d"):
    """`create_key` for tests that run outside an event loop."""
    return asyncio.run(create_key(data_dir, role, name, budget_usd, period))


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}
