"""POST /v1/chat/completions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from server import sse
from server.chat import render
from server.chat.protocol import ChatCompletionRequest
from server.deps import AdmissionDep, MetricsDep, PrincipalDep, ReasonerDep, RequestIdDep, SettingsDep
from server.disconnect import unless_disconnected
from server.events import outcome_of

router = APIRouter()


@router.post("/v1/chat/completions")
async def create_chat_completion(
    body: ChatCompletionRequest,
    request: Request,
    reasoner: ReasonerDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    request_id: RequestIdDep,
    admission: AdmissionDep,
):
    wanted = body.to_domain(owner=principal.key_id, request_id=request_id, max_n=settings.max_n)
    plan = reasoner.prepare(wanted)  # every 4xx is raised here, before any engine work
    ticket = await admission.reserve(principal, plan)  # 429 when the key's budget cannot cover the worst case
    events = ticket.metered(metrics.observed(reasoner.run(plan), endpoint="chat"))
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        header = render.ChunkHeader(completion_id, wanted.model, plan.created)
        return sse.EventStream(render.stream(header, wanted.n, events, body.include_usage))
    outcome = await unless_disconnected(request, outcome_of(events))
    return render.completion(completion_id, outcome)
