"""The server's storage, opened on one database: each owner with its own records.

    open_store(url, keys) -> Store
        .traces     Vault (reasoning/vault/): sealed traces, audited raw reads, deletion,
                    retention, rotation
        .api_keys   ApiKeys (reasoning/accounts/): hashed keys with roles and budgets
        .ledger     Ledger (reasoning/accounts/): spend per key and period, reservations
        .rates      RateLimits (reasoning/accounts/): requests and tokens per minute per key
        .responses  StoredResponses: Responses API objects kept with `store: true`

They share the persistence mechanism of reasoning/store/: the database the URL names
(`sqlite:///path` or `postgresql://…`), migrated on open.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from reasoning.accounts.api_keys import ApiKeys
from reasoning.accounts.ledger import Ledger
from reasoning.accounts.rate_limits import RateLimits
from reasoning.durations import DAY
from reasoning.errors import ReasoningError
from reasoning.store import open_database
from reasoning.store.db import Database
from reasoning.store.guard import ErrorHook
from reasoning.store.schema import migrate
from reasoning.stored_responses import StoredResponses
from reasoning.vault.crypto import KeySource
from reasoning.vault.sealing import TraceSealer
from reasoning.vault.traces import Vault, plaintext_sealing

log = logging.getLogger(__name__)


@dataclass
class Store:
    db: Database
    traces: Vault
    api_keys: ApiKeys
    ledger: Ledger
    rates: RateLimits
    responses: StoredResponses

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
        await migrate(db, {2: plaintext_sealing(sealer)})
    except BaseException:
        await db.close()
        raise
    return Store(
        db=db,
        traces=Vault(db, sealer, retention_seconds, on_error, clock),
        api_keys=ApiKeys(db, on_error, clock),
        ledger=Ledger(db, on_error, clock),
        rates=RateLimits(db, on_error, clock),
        responses=StoredResponses(db, retention_seconds, on_error, clock),
    )
