"""The trace store: where raw reasoning lives, apart from everything a client sees."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from reasoning.types import Trace


class TraceStore(Protocol):
    async def put(self, trace: Trace) -> None:
        """Durably store a trace; returns only once it is committed."""

    async def get(self, trace_id: str) -> Trace | None: ...

    async def close(self) -> None: ...


def open_store(url: str) -> TraceStore:
    """A store for `sqlite:///path` (the embedded default)."""
    if url.startswith("sqlite:///"):
        from reasoning.store.sqlite import SqliteTraceStore

        return SqliteTraceStore(Path(url.removeprefix("sqlite:///")))
    raise ValueError(f"unsupported store URL scheme: {url.split(':', 1)[0]}")
