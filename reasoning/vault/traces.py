"""The trace vault: sealed traces, their audited raw reads, deletion, retention, rotation.

Every raw read writes its audit record and commits it before the trace is even selected:
a read that left no record cannot happen. A trace older than the retention is invisible at
once and purged by `purge`; a deleted or purged trace takes its data key with it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from reasoning.store.db import Database, Row, Tx
from reasoning.store.guard import ErrorHook, Guard
from reasoning.store.schema import DataStep
from reasoning.types import Chain, Trace
from reasoning.vault.audit import Access, AuditRecord
from reasoning.vault.crypto import SealBroken
from reasoning.vault.sealing import TraceSealer

META = "t.id, t.owner, t.model, t.request_id, t.created_at, t.prompt_tokens, t.completion_tokens, "
META += "t.reasoning_tokens, t.cost_usd, t.budget_tokens"
AUDIT = "id, trace_id, trace_owner, action, actor, role, at, request_id, reason"
BATCH = 500
STALE_KEYS = (
    "SELECT k.trace_id, t.owner, k.key_id, k.wrapped FROM trace_keys k JOIN traces t ON t.id = k.trace_id "
    "WHERE k.key_id <> ? AND k.trace_id > ? ORDER BY k.trace_id LIMIT ?"
)


@dataclass(frozen=True)
class Rotation:
    rewrapped: int  # data keys now wrapped under the newest ring key
    unreadable: int  # rows no key in the ring opens: left as they are, and reported


class Vault:
    def __init__(
        self,
        db: Database,
        sealer: TraceSealer,
        retention_seconds: float,
        on_error: ErrorHook | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.sealer = sealer
        self.retention_seconds = retention_seconds
        self._guard = Guard(on_error, unreadable=(SealBroken,))
        self._clock = clock

    def _cutoff(self) -> float:
        return self._clock() - self.retention_seconds

    async def put(self, trace: Trace) -> None:
        """Seal and store a trace; returns only once it is durably committed."""
        async with self._guard("put"):
            sealed = self.sealer.seal(trace.id, trace.owner, trace.chains)
            row = (trace.id, trace.owner, trace.model, trace.request_id, trace.created_at, trace.prompt_tokens)
            row += (trace.completion_tokens, trace.reasoning_tokens, trace.cost_usd, trace.budget_tokens, sealed.chains)
            async with self.db.transaction() as tx:
                await tx.execute("INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                await tx.execute("INSERT INTO trace_keys VALUES (?, ?, ?)", (trace.id, sealed.key_id, sealed.wrapped))

    async def info(self, trace_id: str) -> Trace | None:
        """A live trace's metadata, without its chains (nothing is decrypted)."""
        async with self._guard("get"), self.db.transaction() as tx:
            row = await tx.one(
                f"SELECT {META} FROM traces t WHERE t.id = ? AND t.created_at >= ?", (trace_id, self._cutoff())
            )
        return Trace(*row) if row else None

    async def read(self, trace_id: str, access: Access) -> Trace | None:
        """A raw read: the audit record is committed first, then the trace is decrypted."""
        async with self._guard("read"):
            if not await self._audit(trace_id, "read", access):
                return None
            return await self._select(trace_id)

    async def _audit(self, trace_id: str, action: str, access: Access, tx: Tx | None = None) -> bool:
        sql = f"INSERT INTO trace_audit ({AUDIT.removeprefix('id, ')}) SELECT id, owner, ?, ?, ?, ?, ?, ? "
        sql += "FROM traces WHERE id = ? AND created_at >= ?"
        params = (action, access.actor, access.role, self._clock(), access.request_id, access.reason)
        params += (trace_id, self._cutoff())
        if tx is not None:
            return await tx.execute(sql, params) == 1
        async with self.db.transaction() as own:
            return await own.execute(sql, params) == 1

    async def _select(self, trace_id: str) -> Trace | None:
        sql = f"SELECT {META}, t.chains, k.wrapped FROM traces t LEFT JOIN trace_keys k ON k.trace_id = t.id "
        sql += "WHERE t.id = ? AND t.created_at >= ?"
        async with self.db.transaction() as tx:
            row = await tx.one(sql, (trace_id, self._cutoff()))
        if row is None:
            return None
        *meta, chains, wrapped = row
        if wrapped is None:
            raise SealBroken("the trace's data key is missing")
        trace = Trace(*meta)
        opened = self.sealer.open(trace.id, trace.owner, bytes(chains), bytes(wrapped))
        return Trace(*meta, chains=opened)

    async def list(
        self, owner: str | None = None, since: float | None = None, until: float | None = None, limit: int = 100
    ) -> list[Trace]:
        """Live traces' metadata, newest first."""
        where, params = ["t.created_at >= ?"], [max(since or 0.0, self._cutoff())]
        if until is not None:
            where.append("t.created_at < ?")
            params.append(until)
        if owner is not None:
            where.append("t.owner = ?")
            params.append(owner)
        sql = f"SELECT {META} FROM traces t WHERE {' AND '.join(where)} ORDER BY t.created_at DESC, t.id DESC LIMIT ?"
        async with self._guard("list"), self.db.transaction() as tx:
            rows = await tx.all(sql, (*params, limit))
        return [Trace(*row) for row in rows]

    async def delete(self, trace_id: str, access: Access) -> bool:
        """Destroy a trace and its data key (audited); False if there was none."""
        async with self._guard("delete"):
            async with self.db.transaction() as tx:
                if not await self._audit(trace_id, "delete", access, tx):
                    return False
                await _delete(tx, [trace_id])
            await self.db.scrub()
        return True

    async def purge(self) -> int:
        """Delete every trace older than the retention, and audit records as old; how many traces."""
        cutoff, purged = self._cutoff(), 0
        async with self._guard("purge"):
            while True:  # in batches: writers wait for one batch, not for the whole purge
                async with self.db.transaction() as tx:
                    batch = [
                        row[0]
                        for row in await tx.all("SELECT id FROM traces WHERE created_at < ? LIMIT ?", (cutoff, BATCH))
                    ]
                    await _delete(tx, batch)
                    await tx.execute("DELETE FROM trace_audit WHERE at < ?", (cutoff,))
                purged += len(batch)
                if len(batch) < BATCH:
                    break
            if purged:
                await self.db.scrub()
        return purged

    async def audit_log(self, trace_id: str) -> list[AuditRecord]:
        """Every access to a trace, oldest first (kept after the trace is deleted)."""
        async with self._guard("audit"), self.db.transaction() as tx:
            rows = await tx.all(f"SELECT {AUDIT} FROM trace_audit WHERE trace_id = ? ORDER BY id", (trace_id,))
        return [_audit_record(row) for row in rows]

    async def rotate(self, batch: int = 200) -> Rotation:
        """Re-wrap every data key that the newest ring key did not wrap, in short transactions
        so servers keep writing meanwhile."""
        total, after = Rotation(0, 0), ""
        async with self._guard("rotate"):
            while True:
                async with self.db.transaction() as tx:
                    rows = await tx.all(STALE_KEYS, (self.sealer.ring.current, after, batch))
                    done = await self._rewrap(tx, rows)
                total = Rotation(total.rewrapped + done.rewrapped, total.unreadable + done.unreadable)
                if len(rows) < batch:
                    return total
                after = rows[-1][0]

    async def _rewrap(self, tx: Tx, rows: list[Row]) -> Rotation:
        done = unreadable = 0
        for trace_id, owner, old_id, wrapped in rows:
            try:
                key_id, rewrapped = self.sealer.rewrap(trace_id, owner, bytes(wrapped))
            except SealBroken:
                unreadable += 1  # tampered, or its key left the ring: reported, never "fixed"
                continue
            update = "UPDATE trace_keys SET key_id = ?, wrapped = ? WHERE trace_id = ? AND key_id = ?"
            done += await tx.execute(update, (key_id, rewrapped, trace_id, old_id))
        return Rotation(done, unreadable)

    async def key_usage(self) -> dict[str, int]:
        """How many traces each ring key id wraps."""
        async with self._guard("status"), self.db.transaction() as tx:
            rows = await tx.all("SELECT key_id, COUNT(*) FROM trace_keys GROUP BY key_id ORDER BY key_id")
        return {key_id: count for key_id, count in rows}


async def _delete(tx: Tx, trace_ids: list[str]) -> None:
    if trace_ids:
        marks = ", ".join("?" * len(trace_ids))
        await tx.execute(f"DELETE FROM trace_keys WHERE trace_id IN ({marks})", trace_ids)
        await tx.execute(f"DELETE FROM traces WHERE id IN ({marks})", trace_ids)


def _audit_record(row: Row) -> AuditRecord:
    return AuditRecord(*row)


def plaintext_sealing(sealer: TraceSealer) -> DataStep:
    """Schema version 2's data step: before it, chains were stored as plaintext JSON; seal
    every such row."""

    async def seal_plaintext_chains(tx: Tx) -> None:
        for trace_id, owner, chains in await tx.all("SELECT id, owner, chains FROM traces"):
            parsed = tuple(Chain.from_record(chain) for chain in json.loads(bytes(chains)))
            sealed = sealer.seal(trace_id, owner, parsed)
            await tx.execute("UPDATE traces SET chains = ? WHERE id = ?", (sealed.chains, trace_id))
            await tx.execute("INSERT INTO trace_keys VALUES (?, ?, ?)", (trace_id, sealed.key_id, sealed.wrapped))

    return seal_plaintext_chains
