"""Where the store's foreign failures become domain errors, counted by operation."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from reasoning.errors import ReasoningError, StoreFailure, TraceUnreadable

log = logging.getLogger("reasoning.store")

ErrorHook = Callable[[str], None]  # called with the operation's name when one fails


class Guard:
    """`unreadable`: the exceptions that say a stored record failed to open (the vault's
    SealBroken); they become TraceUnreadable."""

    def __init__(self, on_error: ErrorHook | None = None, unreadable: tuple[type[Exception], ...] = ()) -> None:
        self._on_error = on_error or (lambda _operation: None)
        self._unreadable = unreadable

    @asynccontextmanager
    async def __call__(self, operation: str) -> AsyncIterator[None]:
        """Run a store operation: a record that fails to open is TraceUnreadable, a database
        error is StoreFailure; neither carries stored data. Domain errors pass through."""
        try:
            yield
        except ReasoningError:
            raise
        except self._unreadable as exc:
            self._on_error(operation)
            raise TraceUnreadable(
                "the stored trace failed to decrypt: it was altered, or no configured key opens it"
            ) from exc
        except Exception as exc:
            self._on_error(operation)
            log.error("trace store: %s failed", operation, exc_info=exc)
            raise StoreFailure(f"the store failed ({operation}); the server log has the details") from exc
