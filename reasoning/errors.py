"""What can go wrong in the domain, said so that a client may read it.

    ReasoningError              base: a message, the offending parameter, a stable code
    ├── InvalidRequest          the request cannot be served as asked (400)
    │   ├── BudgetTooSmall        budget_usd cannot pay for the prompt and a minimal answer
    │   └── ContextTooLong        the prompt leaves no room in the model's context
    ├── Unauthenticated         no API key, or one that is unknown or revoked (401)
    ├── NotFound                no such model, trace or response (404)
    ├── Forbidden               the caller may not do this (403)
    ├── QuotaExceeded           the caller's spending budget is used up (429)
    ├── Overloaded              the server holds all the work it may; shed before any engine work (429)
    ├── RateLimited             the caller's key is over its requests or tokens per minute (429)
    ├── Unavailable             the engine is not ready or is shutting down (503)
    ├── EngineFailure           the engine broke while serving; details stay in the server log (500)
    └── StoreFailure            the trace store failed; details stay in the server log (500)
        └── TraceUnreadable       a stored record did not authenticate: tampered, or its key is gone

Messages never carry prompt or reasoning text: they are shown to clients and logged.
"""

from __future__ import annotations

from typing import Any


class ReasoningError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "reasoning_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InvalidRequest(ReasoningError):
    """The client asked for something that cannot be served; nothing was run."""

    code = "invalid_request"


class BudgetTooSmall(InvalidRequest):
    """The dollar budget does not cover the prompt and a minimal answer."""

    code = "budget_too_small"


class ContextTooLong(InvalidRequest):
    """The prompt does not fit the model's context with room for an answer."""

    code = "context_length_exceeded"


class Unauthenticated(ReasoningError):
    """The server has API keys and the request carried none, or one it does not know."""

    code = "invalid_api_key"


class NotFound(ReasoningError):
    """The named model, trace or response does not exist for this caller."""

    code = "not_found"


class Forbidden(ReasoningError):
    """The caller is known but not allowed to do this."""

    code = "forbidden"


class QuotaExceeded(ReasoningError):
    """The caller's spending budget cannot cover this request."""

    code = "insufficient_quota"


class Overloaded(ReasoningError):
    """The server is at capacity and its queue is full, or the wait ran out: retry later."""

    code = "server_overloaded"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, for the Retry-After header


class RateLimited(ReasoningError):
    """The key is over its requests or tokens per minute: retry after the time given."""

    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: int, state: Any) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, for the Retry-After header
        self.state = state  # the key's RateState (reasoning/accounts/rate_limits.py), for its headers


class Unavailable(ReasoningError):
    """The engine is loading or the server is draining; try again later."""

    code = "unavailable"


class EngineFailure(ReasoningError):
    """The engine failed while serving a request."""

    code = "engine_error"


class StoreFailure(ReasoningError):
    """The trace store could not do what was asked (a database error)."""

    code = "store_error"


class TraceUnreadable(StoreFailure):
    """A stored trace failed to decrypt: it was altered, or no key in the ring opens it.
    Never answered with the bytes as they are."""

    code = "trace_unreadable"
