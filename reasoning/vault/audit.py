"""Who touched a raw trace: the access a read or deletion is made under, and its record."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Access:
    """Who touches a raw trace, as its audit record names them."""

    actor: str  # the API key's public id
    role: str
    request_id: str
    reason: str | None = None  # the x-reasoning-access-reason header, when given


@dataclass(frozen=True)
class AuditRecord:
    id: int
    trace_id: str
    trace_owner: str
    action: str  # read | delete
    actor: str
    role: str
    at: float
    request_id: str
    reason: str | None
