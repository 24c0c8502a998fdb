"""POST /v1/responses."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from server import sse
from server.deps import AdmissionDep, MetricsDep, PrincipalDep, ReasonerDep, RequestIdDep, SettingsDep
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
):
    wanted = body.to_domain(
        owner=principal.key_id, request_id=request_id, sealer=reasoner.sealer.ring,
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
    if body.stream:
        return sse.EventStream(render.stream(envelope, events))
    outcome = await unless_disconnected(request, outcome_of(events))
    return envelope.finished(outcome)
