"""The spend ledger: each budgeted key's settled spending per period, and the reservations
of its requests still running.

Admission reserves a request's worst-case cost; the reservation succeeds only if the
period's settled spend, plus every live reservation, plus this one fit the budget. That
check and the reservation are one transaction under a lock on the key's ledger row, so
concurrent requests, in one process or many, can never together promise more than the
budget. Completion settles the exact cost (never more than was reserved) and drops the
reservation. A reservation whose request never settled (the process died) lapses after
its time to live, so a crash cannot hold a budget forever.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from reasoning.accounts.api_keys import ApiKey
from reasoning.errors import QuotaExceeded
from reasoning.pricing import Money
from reasoning.store.db import Database, Tx
from reasoning.store.guard import ErrorHook, Guard


@dataclass(frozen=True)
class Standing:
    """A budgeted key's account in its current period, in Money.nanos as the ledger keeps it."""

    key_id: str
    limit_nanos: int
    spent_nanos: int  # settled charges
    held_nanos: int  # reservations of requests still running
    period_end: float

    @property
    def remaining_nanos(self) -> int:
        return max(0, self.limit_nanos - self.spent_nanos - self.held_nanos)

    @property
    def remaining(self) -> Money:
        return Money(self.remaining_nanos)

    @property
    def spent_ratio(self) -> float:
        return self.spent_nanos / self.limit_nanos if self.limit_nanos else 1.0


@dataclass(frozen=True)
class Reservation:
    id: str
    key_id: str
    period: int
    amount_nanos: int


class Ledger:
    def __init__(self, db: Database, on_error: ErrorHook | None = None, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._guard = Guard(on_error)
        self._clock = clock

    async def standing(self, key: ApiKey) -> Standing:
        async with self._guard("ledger"), self.db.transaction() as tx:
            return await self._standing(tx, key, key.period(self._clock()))

    async def _standing(self, tx: Tx, key: ApiKey, period: int, lock: bool = False) -> Standing:
        lock_clause = self.db.dialect.for_update if lock else ""
        row = await tx.one(
            f"SELECT spent_nanos FROM spend WHERE key_id = ? AND period = ? {lock_clause}", (key.id, period)
        )
        held = await tx.one(
            "SELECT COALESCE(SUM(amount_nanos), 0) FROM reservations "
            "WHERE key_id = ? AND period = ? AND expires_at > ?",
            (key.id, period, self._clock()),
        )
        now = self._clock()
        return Standing(key.id, key.budget_nanos or 0, row[0] if row else 0, int(held[0]), key.period_end(now))

    async def reserve(self, key: ApiKey, amount_nanos: int, ttl_seconds: float) -> tuple[Reservation, Standing]:
        """Hold `amount_nanos` of the key's budget, or raise QuotaExceeded and hold nothing."""
        period = key.period(self._clock())
        reservation = Reservation(f"rsv_{secrets.token_hex(12)}", key.id, period, amount_nanos)
        async with self._guard("ledger"), self.db.transaction() as tx:
            # The ledger row exists before it is locked, so the lock always has a row to take.
            await tx.execute(
                "INSERT INTO spend VALUES (?, ?, 0) ON CONFLICT (key_id, period) DO NOTHING", (key.id, period)
            )
            standing = await self._standing(tx, key, period, lock=True)
            if amount_nanos > standing.remaining_nanos:
                raise QuotaExceeded(
                    f"this API key's budget has {standing.remaining} USD left in this period "
                    f"and the request may cost up to {Money(amount_nanos)} USD"
                )
            await tx.execute(
                "INSERT INTO reservations VALUES (?, ?, ?, ?, ?)",
                (reservation.id, key.id, period, amount_nanos, self._clock() + ttl_seconds),
            )
        held = Standing(
            key.id, standing.limit_nanos, standing.spent_nanos, standing.held_nanos + amount_nanos, standing.period_end
        )
        return reservation, held

    async def settle(self, key: ApiKey, reservation: Reservation, charge_nanos: int) -> Standing:
        """Charge the exact cost, at most what was reserved, and release the reservation."""
        charge = max(0, min(charge_nanos, reservation.amount_nanos))
        async with self._guard("ledger"), self.db.transaction() as tx:
            await tx.execute("DELETE FROM reservations WHERE id = ?", (reservation.id,))
            await tx.execute(
                "INSERT INTO spend VALUES (?, ?, ?) ON CONFLICT (key_id, period) "
                "DO UPDATE SET spent_nanos = spend.spent_nanos + excluded.spent_nanos",
                (key.id, reservation.period, charge),
            )
            return await self._standing(tx, key, key.period(self._clock()))

    async def release(self, reservation: Reservation) -> None:
        """Drop a reservation without charging: its request did not complete."""
        async with self._guard("ledger"), self.db.transaction() as tx:
            await tx.execute("DELETE FROM reservations WHERE id = ?", (reservation.id,))

    async def expire(self) -> int:
        """Drop reservations past their time to live (their process died); how many."""
        async with self._guard("ledger"), self.db.transaction() as tx:
            return await tx.execute("DELETE FROM reservations WHERE expires_at <= ?", (self._clock(),))
