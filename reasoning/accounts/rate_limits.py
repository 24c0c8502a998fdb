"""Per-key rate limits, requests and tokens per minute, as token buckets kept in the store, so
every replica that shares the store enforces one limit per key, not one each.

A limited key has a `requests` bucket (holding up to its rpm) and a `tokens` bucket (up to its
tpm), each refilled continuously, its whole capacity per minute. Admission takes one request
and the prompt's tokens, in one transaction under a lock on the key's bucket rows; the tokens a
request generated are taken when it ends, so a bucket may go below zero and the key's next
requests wait until it has refilled. A request finds room when the requests bucket holds one
and the tokens bucket holds its prompt (or is full: a prompt larger than the whole limit is
served once a minute rather than never). Beyond: RateLimited, with the seconds until there is
room, before any engine work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from reasoning.accounts.api_keys import ApiKey
from reasoning.errors import RateLimited
from reasoning.store.db import Database, Tx
from reasoning.store.guard import ErrorHook, Guard

MINUTE = 60.0


@dataclass(frozen=True)
class Bucket:
    limit: int  # per minute
    level: float  # what is left now

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.level))

    @property
    def reset_seconds(self) -> float:
        """Until the bucket is full again."""
        return max(0.0, (self.limit - self.level) * MINUTE / self.limit)

    def seconds_until(self, amount: float) -> float:
        return max(0.0, (amount - self.level) * MINUTE / self.limit)


@dataclass(frozen=True)
class RateState:
    """A limited key's buckets after its request was admitted (or refused)."""

    requests: Bucket | None
    tokens: Bucket | None


class RateLimits:
    def __init__(self, db: Database, on_error: ErrorHook | None = None, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._guard = Guard(on_error)
        self._clock = clock

    async def admit(self, key: ApiKey, prompt_tokens: int) -> RateState | None:
        """Take one request and the prompt's tokens, or raise RateLimited and take nothing;
        None for a key without limits."""
        if key.rpm is None and key.tpm is None:
            return None
        async with self._guard("rate_limits"), self.db.transaction() as tx:
            requests = await self._bucket(tx, key.id, "requests", key.rpm)
            tokens = await self._bucket(tx, key.id, "tokens", key.tpm)
            need = min(prompt_tokens, tokens.limit) if tokens else 0
            wait = max(
                requests.seconds_until(1) if requests else 0.0,
                tokens.seconds_until(need) if tokens else 0.0,
            )
            if wait > 0:
                which = "requests" if requests and requests.level < 1 else "tokens"
                raise RateLimited(
                    f"this API key is over its {which} per minute; retry after the time given",
                    retry_after=max(1, math.ceil(wait)),
                    state=RateState(requests, tokens),
                )
            if requests:
                requests = await self._store(tx, key.id, "requests", requests, requests.level - 1)
            if tokens:
                tokens = await self._store(tx, key.id, "tokens", tokens, tokens.level - prompt_tokens)
        return RateState(requests, tokens)

    async def spend(self, key: ApiKey, generated_tokens: int) -> None:
        """Take the tokens a request generated from the key's tokens bucket."""
        if key.tpm is None or generated_tokens <= 0:
            return
        async with self._guard("rate_limits"), self.db.transaction() as tx:
            tokens = await self._bucket(tx, key.id, "tokens", key.tpm)
            if tokens is not None:
                await self._store(tx, key.id, "tokens", tokens, tokens.level - generated_tokens)

    async def _bucket(self, tx: Tx, key_id: str, kind: str, limit: int | None) -> Bucket | None:
        """The bucket, refilled to now, its row locked; None when the key has no such limit."""
        if limit is None:
            return None
        now = self._clock()
        # The row exists before it is locked, so the lock always has a row to take.
        await tx.execute(
            "INSERT INTO rate_buckets VALUES (?, ?, ?, ?) ON CONFLICT (key_id, kind) DO NOTHING",
            (key_id, kind, float(limit), now),
        )
        row = await tx.one(
            f"SELECT level, updated_at FROM rate_buckets WHERE key_id = ? AND kind = ? {self.db.dialect.for_update}",
            (key_id, kind),
        )
        assert row is not None
        level, updated = float(row[0]), float(row[1])
        return Bucket(limit, min(float(limit), level + max(0.0, now - updated) * limit / MINUTE))

    async def _store(self, tx: Tx, key_id: str, kind: str, bucket: Bucket, level: float) -> Bucket:
        await tx.execute(
            "UPDATE rate_buckets SET level = ?, updated_at = ? WHERE key_id = ? AND kind = ?",
            (level, self._clock(), key_id, kind),
        )
        return Bucket(bucket.limit, level)
