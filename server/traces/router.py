"""The trace vault over HTTP: raw reads (audited), listings, deletion, the audit log.

    GET    /v1/reasoning/traces/{id}         raw reasoning + accounting (REASONING_RAW_ACCESS)
    GET    /v1/reasoning/traces              metadata only: ?owner=&since=&until=&limit=
    DELETE /v1/reasoning/traces/{id}         the trace and its data key, for good
    GET    /v1/reasoning/traces/{id}/audit   who read or deleted it, when, and why

Who may call which is decided in access.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query

from reasoning.vault.audit import Access
from server.auth import Principal
from server.deps import MetricsDep, PrincipalDep, RequestIdDep, SettingsDep, StoreDep
from server.traces import access, protocol

router = APIRouter(prefix="/v1/reasoning/traces")
REASON_HEADER = "x-reasoning-access-reason"
MAX_REASON = 500

ReasonDep = Annotated[str | None, Header(alias=REASON_HEADER)]


def _access(principal: Principal, request_id: str, reason: str | None = None) -> Access:
    if reason is not None:
        reason = "".join(ch for ch in reason if ch.isprintable())[:MAX_REASON] or None
    return Access(actor=principal.key_id, role=principal.role, request_id=request_id, reason=reason)


@router.get("/{trace_id}")
async def read_trace(
    trace_id: str,
    principal: PrincipalDep,
    store: StoreDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    request_id: RequestIdDep,
    reason: ReasonDep = None,
) -> dict:
    access.check_raw_policy(principal, settings.raw_access)
    info = await store.traces.info(trace_id)
    if info is None:
        raise access.not_found(trace_id)
    access.check_owner(principal, trace_id, info.owner)
    trace = await store.traces.read(trace_id, _access(principal, request_id, reason))  # audited first
    if trace is None:  # deleted or expired in between
        raise access.not_found(trace_id)
    metrics.count_trace_read(principal.role)
    return protocol.raw(trace, settings.trace_retention_seconds)


@router.get("")
async def list_traces(
    principal: PrincipalDep,
    store: StoreDep,
    settings: SettingsDep,
    owner: str | None = None,
    since: Annotated[float | None, Query(ge=0)] = None,
    until: Annotated[float | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    owner = access.list_owner(principal, owner)
    traces = await store.traces.list(owner=owner, since=since, until=until, limit=limit + 1)
    return protocol.listing(traces, limit, settings.trace_retention_seconds)


@router.delete("/{trace_id}")
async def delete_trace(trace_id: str, principal: PrincipalDep, store: StoreDep, request_id: RequestIdDep) -> dict:
    access.require_key(principal)
    info = await store.traces.info(trace_id)
    if info is None:
        raise access.not_found(trace_id)
    access.check_owner(principal, trace_id, info.owner)
    if not await store.traces.delete(trace_id, _access(principal, request_id)):
        raise access.not_found(trace_id)
    return protocol.deleted(trace_id)


@router.get("/{trace_id}/audit")
async def trace_audit(trace_id: str, principal: PrincipalDep, store: StoreDep) -> dict:
    access.require_key(principal)
    records = await store.traces.audit_log(trace_id)
    info = await store.traces.info(trace_id)
    owner = info.owner if info is not None else next((r.trace_owner for r in records), None)
    if owner is None:
        raise access.not_found(trace_id)
    access.check_owner(principal, trace_id, owner)
    return protocol.audit(records)
