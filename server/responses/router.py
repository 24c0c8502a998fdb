"""POST /v1/responses and GET /v1/responses/{id}."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request

from reasoning.errors import NotFound
from reasoning.stored_responses import StoredResponses
from reasoning.types import Done, Event
from server import sse
from server.deps import AdmissionDep, MetricsDep, PrincipalDep, ReasonerDep, RequestIdDep, SettingsDep, StoreDep
from server.disconnect import unless_disconnected
from server.events import outcome_of
from server.responses import render
from server.responses.protocol import CreateResponse

router = APIRouter()


@router.post("/v1/responses")
async def create_response(
    body: CreateResponse,
    request: Request,
    reasoner: ReasonerDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    request_id: RequestIdDep,
    admission: AdmissionDep,
    store: StoreDep,
):
    wanted = body.to_domain(
        owner=principal.key_id, request_id=request_id, ring=reasoner.content_keys.ring,
        replay_reasoning=settings.replay_reasoning,
    )  # fmt: skip
    plan = reasoner.prepare(wanted)  # every 4xx is raised here, before any engine work
    envelope = render.Envelope(
        id=f"resp_{plan.trace_id.removeprefix('rs_')}",
        reasoning_id=plan.trace_id,
        message_id=f"msg_{uuid.uuid4().hex}",
        created_at=plan.created,
        request=body,
        effort=wanted.budget.effort or settings.default_effort,
    )
    ticket = await admission.reserve(principal, plan)  # 429 when the key's budget cannot cover the worst case
    events = ticket.metered(metrics.observed(reasoner.run(plan), endpoint="responses"))
    if body.store:
        events = _stored(events, envelope, principal.key_id, store.responses)
    if body.stream:
        return sse.EventStream(render.stream(envelope, events))
    outcome = await unless_disconnected(request, outcome_of(events))
    return envelope.finished(outcome)


@router.get("/v1/responses/{response_id}")
async def get_response(response_id: str, principal: PrincipalDep, store: StoreDep) -> dict:
    """A stored response, to the key that created it; 404 to everyone else."""
    found = await store.responses.get(response_id, principal.key_id)
    if found is None:
        raise NotFound(f"no response '{response_id}'", param="response_id", code="response_not_found")
    return found


async def _stored(
    events: AsyncIterator[Event], envelope: render.Envelope, owner: str, responses: StoredResponses
) -> AsyncIterator[Event]:
    """Store the finished response before the client hears it is complete."""
    async for event in events:
        if isinstance(event, Done):
            await responses.put(envelope.id, owner, envelope.finished(event.outcome))
        yield event
