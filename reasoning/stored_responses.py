"""Stored Responses API objects (`store: true`) for GET /v1/responses/{id}.

What a client was sent — the answer, the summary, the accounting, and encrypted_content if
it asked for it; never raw reasoning — kept for the key that created it, and for as long as
traces are kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from reasoning.store.db import Database
from reasoning.store.guard import ErrorHook, Guard


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

    async def put(self, response_id: str, owner: str, body: dict[str, Any]) -> None:
        """Store a response object; returns once it is durably committed."""
        row = (response_id, owner, self._clock(), json.dumps(body, ensure_ascii=False).encode())
        async with self._guard("put_response"), self.db.transaction() as tx:
            await tx.execute("INSERT INTO responses VALUES (?, ?, ?, ?)", row)

    async def get(self, response_id: str, owner: str) -> dict[str, Any] | None:
        """The response, if it exists, is the owner's, and has not expired."""
        sql = "SELECT body FROM responses WHERE id = ? AND owner = ? AND created_at >= ?"
        async with self._guard("get_response"), self.db.transaction() as tx:
            row = await tx.one(sql, (response_id, owner, self._clock() - self.retention_seconds))
        return None if row is None else json.loads(bytes(row[0]))

    async def purge(self) -> int:
        """Delete responses older than the retention; how many."""
        cutoff = self._clock() - self.retention_seconds
        async with self._guard("purge_responses"), self.db.transaction() as tx:
            return await tx.execute("DELETE FROM responses WHERE created_at < ?", (cutoff,))
