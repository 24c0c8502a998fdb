"""POST /v1/chat/completions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request

from reasoning.types import Done, Event, Outcome
from server import sse
from server.chat import render
from server.chat.protocol import ChatCompletionRequest
from server.deps import MetricsDep, PrincipalDep, ReasonerDep, RequestIdDep, SettingsDep
from server.disconnect import unless_disconnected

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
):
    wanted = body.to_domain(owner=principal.key_id, request_id=request_id, max_n=settings.max_n)
    plan = reasoner.prepare(wanted)  # every 4xx is raised here, before any engine work
    events = metrics.observed(reasoner.run(plan), endpoint="chat")
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        header = render.ChunkHeader(completion_id, wanted.model, plan.created)
        return sse.EventStream(render.stream(header, wanted.n, events, body.include_usage))
    outcome = await unless_disconnected(request, _outcome(events))
    return render.completion(completion_id, outcome)


async def _outcome(events: AsyncIterator[Event]) -> Outcome:
    async for event in events:
        if isinstance(event, Done):
            return event.outcome
    raise RuntimeError("the reasoner ended without an outcome")
