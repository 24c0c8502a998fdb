"""API keys: created with a role and an optional dollar budget per period, found by their
secret, revoked. Only a SHA-256 of each secret is stored: the secrets are 256 random bits,
so a fast hash is as safe as a slow one and keeps every request's lookup cheap.

A key that exists, revoked or not, means the server is no longer in open local mode:
revoking the last key must not open the server to anyone.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from reasoning.store.db import Database, Row
from reasoning.store.guard import ErrorHook, Guard

SECRET_PREFIX = "rsk_"
ROLES = ("user", "admin")
COLUMNS = "id, name, role, created_at, revoked_at, budget_nanos, period_seconds, rpm, tpm"
DEFAULT_PERIOD_SECONDS = 30 * 86_400


@dataclass(frozen=True)
class ApiKey:
    """A stored API key. The secret itself is never stored, only its SHA-256."""

    id: str  # public, safe to log and to label metrics with
    name: str
    role: str  # user | admin
    created_at: float
    revoked_at: float | None = None
    budget_nanos: int | None = None  # Money.nanos per period, None: unlimited
    period_seconds: int | None = None
    rpm: int | None = None  # requests per minute, None: unlimited (reasoning/accounts/rate_limits.py)
    tpm: int | None = None  # tokens per minute, prompt and generated, None: unlimited

    @property
    def budgeted(self) -> bool:
        return self.budget_nanos is not None

    def period(self, now: float) -> int:
        """Which budget period `now` falls in, counted from the key's creation."""
        return max(0, int((now - self.created_at) // (self.period_seconds or 1)))

    def period_end(self, now: float) -> float:
        return self.created_at + (self.period(now) + 1) * (self.period_seconds or 1)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    def __init__(self, db: Database, on_error: ErrorHook | None = None, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._guard = Guard(on_error)
        self._clock = clock
        self._configured = False  # once true, true for good: keys are revoked, never removed

    async def create(
        self,
        role: str,
        name: str = "",
        budget_nanos: int | None = None,
        period_seconds: int | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret, which is not stored and cannot be shown again."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if budget_nanos is not None and budget_nanos < 0:
            raise ValueError("a budget cannot be negative")
        _check_rates(rpm, tpm)
        if budget_nanos is not None:
            period_seconds = period_seconds or DEFAULT_PERIOD_SECONDS
        key_id = f"key_{secrets.token_hex(8)}"
        key = ApiKey(key_id, name, role, self._clock(), None, budget_nanos, period_seconds, rpm, tpm)
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        row = (key.id, key.name, key.role, secret_hash(secret), key.created_at, None, budget_nanos, period_seconds)
        async with self._guard("create_key"), self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO api_keys (id, name, role, secret_hash, created_at, revoked_at, budget_nanos, "
                "period_seconds, rpm, tpm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, rpm, tpm),
            )
        return key, secret

    async def set_rates(self, key_id: str, rpm: int | None, tpm: int | None) -> bool:
        """Set a live key's requests and tokens per minute (None: unlimited); False if no such key."""
        _check_rates(rpm, tpm)
        sql = "UPDATE api_keys SET rpm = ?, tpm = ? WHERE id = ? AND revoked_at IS NULL"
        async with self._guard("set_rates"), self.db.transaction() as tx:
            return await tx.execute(sql, (rpm, tpm, key_id)) == 1

    async def find(self, secret: str) -> ApiKey | None:
        """The live key with this secret; None for an unknown or revoked one."""
        sql = f"SELECT {COLUMNS} FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL"
        async with self._guard("find_key"), self.db.transaction() as tx:
            row = await tx.one(sql, (secret_hash(secret),))
        return _key(row) if row else None

    async def get(self, key_id: str) -> ApiKey | None:
        async with self._guard("get_key"), self.db.transaction() as tx:
            row = await tx.one(f"SELECT {COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        return _key(row) if row else None

    async def configured(self) -> bool:
        """Whether any key was ever created: without one the server runs in open local mode."""
        if not self._configured:
            async with self._guard("find_key"), self.db.transaction() as tx:
                self._configured = await tx.one("SELECT 1 FROM api_keys LIMIT 1") is not None
        return self._configured

    async def all(self) -> list[ApiKey]:
        async with self._guard("list_keys"), self.db.transaction() as tx:
            rows = await tx.all(f"SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id")
        return [_key(row) for row in rows]

    async def revoke(self, key_id: str) -> bool:
        """Revoke a live key at once; False if there is no such live key."""
        sql = "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
        async with self._guard("revoke_key"), self.db.transaction() as tx:
            return await tx.execute(sql, (self._clock(), key_id)) == 1


def _check_rates(rpm: int | None, tpm: int | None) -> None:
    if (rpm is not None and rpm < 1) or (tpm is not None and tpm < 1):
        raise ValueError("a rate limit is at least 1 per minute")


def _key(row: Row) -> ApiKey:
    return ApiKey(*row)
