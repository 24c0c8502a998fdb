"""Stored Responses API objects (`store: true`) for GET /v1/responses/{id}, conversations
continued by `previous_response_id`, and `input_items`.

What a client was sent — the answer, the summary, the accounting, and encrypted_content if
it asked for it; never raw reasoning — kept for the key that created it, and for as long as
traces are kept, with the context items it was generated from (earlier turns' and its own
input). Of a `store: false` response only its id and owner are kept, so that continuing it
can say why it cannot be.

A background response is stored at once, `queued`, with a lease that the replica running it
renews; every state it passes through is written over its body, and the lease is cleared when
it is final; a streamed one's numbered events are kept beside it, for streams resumed with
`starting_after`. A response whose lease lapsed lost its runner (a killed replica): any replica's
sweep marks it failed, so none stays unfinished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reasoning.store.db import Database
from reasoning.store.guard import ErrorHook, Guard


@dataclass(frozen=True)
class StoredResponse:
    id: str
    owner: str  # the key id that created it
    body: dict[str, Any] | None  # None: created with `store: false`, nothing of it kept
    context: list[dict[str, Any]] | None  # the items it was generated from; None if stored before they were kept

    @property
    def trace_id(self) -> str | None:
        """The id of its reasoning item, which names its trace."""
        reasoning = next((item for item in (self.body or {}).get("output", ()) if item["type"] == "reasoning"), None)
        return None if reasoning is None else reasoning["id"]


class StoredResponses:
    def __init__(
        self,
        db: Database,
        retention_seconds: float,
        on_error: ErrorHook | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.retention_seconds = retention_seconds
        self._guard = Guard(on_error)
        self._clock = clock

    async def put(self, response_id: str, owner: str, body: dict[str, Any], context: list[dict[str, Any]]) -> None:
        """Store a response object and its context items; returns once durably committed."""
        row = (response_id, owner, self._clock(), _json(body), _json(context))
        async with self._guard("put_response"), self.db.transaction() as tx:
            await tx.execute("INSERT INTO responses (id, owner, created_at, body, context) VALUES (?, ?, ?, ?, ?)", row)

    async def put_unkept(self, response_id: str, owner: str) -> None:
        """Note a `store: false` response: its id and owner, nothing it said."""
        row = (response_id, owner, self._clock(), b"{}")
        async with self._guard("put_response"), self.db.transaction() as tx:
            await tx.execute("INSERT INTO responses (id, owner, created_at, body, kept) VALUES (?, ?, ?, ?, 0)", row)

    async def put_background(
        self, response_id: str, owner: str, body: dict[str, Any], context: list[dict[str, Any]], lease: float, most: int
    ) -> bool:
        """Store a queued background response, leased for `lease` seconds, unless `most` are
        unfinished already; False then. (SQLite serializes the count and the insert; on
        PostgreSQL replicas racing may pass the bound by a few.)"""
        now = self._clock()
        row = (response_id, owner, now, _json(body), _json(context), now + lease)
        insert = "INSERT INTO responses (id, owner, created_at, body, context, lease_until) VALUES (?, ?, ?, ?, ?, ?)"
        async with self._guard("put_response"), self.db.transaction() as tx:
            unfinished = await tx.one("SELECT COUNT(*) FROM responses WHERE lease_until IS NOT NULL")
            if unfinished is not None and unfinished[0] >= most:
                return False
            await tx.execute(insert, row)
        return True

    async def advance(self, response_id: str, body: dict[str, Any], lease: float | None) -> bool:
        """Write an unfinished background response's new state, leased on for `lease` seconds,
        or final (None); False if it is final already (cancelled, or swept)."""
        until = None if lease is None else self._clock() + lease
        sql = "UPDATE responses SET body = ?, lease_until = ? WHERE id = ? AND lease_until IS NOT NULL"
        async with self._guard("put_response"), self.db.transaction() as tx:
            return await tx.execute(sql, (_json(body), until, response_id)) == 1

    async def renew(self, response_ids: list[str], lease: float) -> set[str]:
        """Extend the leases of the runner's responses; the ids still unfinished."""
        if not response_ids:
            return set()
        marks = ", ".join("?" * len(response_ids))
        where = f"id IN ({marks}) AND lease_until IS NOT NULL"
        async with self._guard("put_response"), self.db.transaction() as tx:
            await tx.execute(
                f"UPDATE responses SET lease_until = ? WHERE {where}", (self._clock() + lease, *response_ids)
            )
            return {row[0] for row in await tx.all(f"SELECT id FROM responses WHERE {where}", response_ids)}

    async def fail_lapsed(self, error: dict[str, Any]) -> list[str]:
        """Mark failed, with `error`, every unfinished response whose lease lapsed; their ids."""
        now = self._clock()
        async with self._guard("put_response"), self.db.transaction() as tx:
            rows = await tx.all("SELECT id, body FROM responses WHERE lease_until < ?", (now,))
            for response_id, body in rows:
                failed = {**json.loads(bytes(body)), "status": "failed", "error": error}
                update = "UPDATE responses SET body = ?, lease_until = NULL WHERE id = ? AND lease_until < ?"
                await tx.execute(update, (_json(failed), response_id, now))
        return [row[0] for row in rows]

    async def append_events(self, response_id: str, events: list[tuple[int, bytes]]) -> None:
        """Keep a streamed background response's events (sequence number, SSE frame)."""
        if not events:
            return
        async with self._guard("put_response"), self.db.transaction() as tx:
            for seq, event in events:
                await tx.execute("INSERT INTO response_events VALUES (?, ?, ?)", (response_id, seq, event))

    async def events_after(self, response_id: str, after: int) -> list[tuple[int, bytes]]:
        """The kept events numbered above `after`, in order."""
        sql = "SELECT seq, event FROM response_events WHERE response_id = ? AND seq > ? ORDER BY seq"
        async with self._guard("get_response"), self.db.transaction() as tx:
            rows = await tx.all(sql, (response_id, after))
        return [(seq, bytes(event)) for seq, event in rows]

    async def find(self, response_id: str) -> StoredResponse | None:
        """A live response, whoever's it is: the caller decides who may see it."""
        sql = "SELECT owner, body, context, kept FROM responses WHERE id = ? AND created_at >= ?"
        async with self._guard("get_response"), self.db.transaction() as tx:
            row = await tx.one(sql, (response_id, self._clock() - self.retention_seconds))
        if row is None:
            return None
        owner, body, context, kept = row
        return StoredResponse(
            response_id,
            owner,
            json.loads(bytes(body)) if kept else None,
            None if context is None else json.loads(bytes(context)),
        )

    async def get(self, response_id: str, owner: str) -> dict[str, Any] | None:
        """The response object, if it exists, was kept, is the owner's, and has not expired."""
        found = await self.find(response_id)
        return found.body if found is not None and found.owner == owner else None

    async def delete(self, response_id: str) -> bool:
        """Remove a response; False if there was none."""
        async with self._guard("delete_response"), self.db.transaction() as tx:
            await tx.execute("DELETE FROM response_events WHERE response_id = ?", (response_id,))
            return await tx.execute("DELETE FROM responses WHERE id = ?", (response_id,)) == 1

    async def purge(self) -> int:
        """Delete responses older than the retention; how many."""
        cutoff = self._clock() - self.retention_seconds
        async with self._guard("purge_responses"), self.db.transaction() as tx:
            purged = await tx.execute("DELETE FROM responses WHERE created_at < ?", (cutoff,))
            await tx.execute("DELETE FROM response_events WHERE response_id NOT IN (SELECT id FROM responses)")
            return purged


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
