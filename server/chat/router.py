"""POST /v1/chat/completions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from server.chat import render
from server.chat.protocol import ChatCompletionRequest
from server.deps import CallerDep, ServingDep, SettingsDep
from server.serving import Rendering

router = APIRouter()


@router.post("/v1/chat/completions")
async def create_chat_completion(
    body: ChatCompletionRequest, caller: CallerDep, serving: ServingDep, settings: SettingsDep
):
    wanted = body.to_domain(owner=caller.principal.key_id, request_id=caller.request_id, max_n=settings.max_n)
    plan = serving.prepare(wanted)  # every 4xx is raised here, before any engine work
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    header = render.ChunkHeader(completion_id, wanted.model, plan.created)
    rendering = Rendering(
        endpoint="chat",
        whole=lambda outcome: render.completion(completion_id, outcome),
        stream=(lambda events: render.stream(header, wanted.n, events, body.include_usage)) if body.stream else None,
    )
    return await serving.respond(caller.request, caller.principal.key, plan, rendering)
