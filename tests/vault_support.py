"""What the tests need of a store: its stored traces (read back as an audited admin read, or
from a data directory with its key file, as devtools.vault does) and API keys created in it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from devtools.vault import trace_row
from reasoning.durations import parse_duration
from reasoning.pricing import Money
from reasoning.storage import Store, open_store
from reasoning.types import Trace
from reasoning.vault.audit import Access
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
OPERATOR_READ = Access(
    actor="key_tests", role="admin", request_id="req_tests", reason="a test reads back what it stored"
)


async def read_back(store: Store, trace_id: str) -> Trace | None:
    """A stored trace, whole and decrypted, as an admin's audited raw read."""
    return await store.traces.read(trace_id, OPERATOR_READ)


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
        budget = Money.at_least(budget_usd).nanos if budget_usd is not None else None
        return await store.api_keys.create(role, name, budget, int(parse_duration(period)))
    finally:
        await store.close()


def add_key(data_dir: Path, role: str, name: str = "", budget_usd: float | None = None, period: str = "30d"):
    """`create_key` for tests that run outside an event loop."""
    return asyncio.run(create_key(data_dir, role, name, budget_usd, period))


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}
