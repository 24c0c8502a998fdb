"""Wire shapes of the trace routes. Only the raw read carries reasoning."""

from __future__ import annotations

from typing import Any

from reasoning.types import Trace
from reasoning.vault.audit import AuditRecord


def metadata(trace: Trace, retention_seconds: float) -> dict[str, Any]:
    return {
        "id": trace.id,
        "object": "reasoning.trace",
        "owner": trace.owner,
        "model": trace.model,
        "request_id": trace.request_id,
        "created_at": trace.created_at,
        "expires_at": trace.created_at + retention_seconds,
        "usage": {
            "prompt_tokens": trace.prompt_tokens,
            "completion_tokens": trace.completion_tokens,
            "reasoning_tokens": trace.reasoning_tokens,
        },
        "cost_usd": trace.cost_usd,
        "budget_tokens": trace.budget_tokens,
    }


def raw(trace: Trace, retention_seconds: float) -> dict[str, Any]:
    chains = [
        {
            "index": c.index,
            "reasoning": c.reasoning,
            "answer": c.answer,
            "reasoning_tokens": c.reasoning_tokens,
            "completion_tokens": c.completion_tokens,
            "finish_reason": c.finish_reason,
        }
        for c in trace.chains
    ]
    return {**metadata(trace, retention_seconds), "chains": chains}


def listing(traces: list[Trace], limit: int, retention_seconds: float) -> dict[str, Any]:
    shown = traces[:limit]
    return {"object": "list", "data": [metadata(t, retention_seconds) for t in shown], "has_more": len(traces) > limit}


def deleted(trace_id: str) -> dict[str, Any]:
    return {"id": trace_id, "object": "reasoning.trace.deleted", "deleted": True}


def audit(records: list[AuditRecord]) -> dict[str, Any]:
    data = [
        {
            "id": r.id,
            "object": "reasoning.trace.access",
            "trace_id": r.trace_id,
            "action": r.action,
            "actor": r.actor,
            "role": r.role,
            "at": r.at,
            "request_id": r.request_id,
            "reason": r.reason,
        }
        for r in records
    ]
    return {"object": "list", "data": data}
