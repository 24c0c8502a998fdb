"""POST /v1/messages and /v1/messages/count_tokens: Anthropic's Messages API."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter

from reasoning.vault import signatures
from server.deps import CallerDep, ServingDep, SettingsDep
from server.messages import render
from server.messages.protocol import CountTokensRequest, CreateMessage
from server.serving import Rendering

router = APIRouter()


@router.post("/v1/messages")
async def create_message(body: CreateMessage, caller: CallerDep, serving: ServingDep, settings: SettingsDep):
    owner, ring = caller.principal.key_id, serving.reasoner.content_keys.ring
    wanted = body.to_domain(
        owner=owner, request_id=caller.request_id, ring=ring, replay_reasoning=settings.replay_reasoning
    )
    plan = serving.prepare(wanted)  # every 4xx is raised here, before any engine work
    envelope = render.Envelope(
        id=f"msg_{plan.trace_id.removeprefix('rs_')}",
        model=body.model,
        input_tokens=len(plan.prompt.token_ids),
        thinks=plan.limits.thinking,
        summarized=body.summarized,
        sign=partial(signatures.resign, ring, plan.trace_id, owner),
    )
    rendering = Rendering(
        endpoint="messages",
        whole=envelope.finished,
        stream=partial(render.stream, envelope) if body.stream else None,
    )
    return await serving.respond(caller.request, caller.principal.key, plan, rendering)


@router.post("/v1/messages/count_tokens")
async def count_tokens(body: CountTokensRequest, caller: CallerDep, serving: ServingDep, settings: SettingsDep) -> dict:
    """The prompt's tokens as a message request with the same fields is billed for them."""
    owner, ring = caller.principal.key_id, serving.reasoner.content_keys.ring
    wanted = body.to_domain(
        owner=owner, request_id=caller.request_id, ring=ring, replay_reasoning=settings.replay_reasoning
    )
    return {"input_tokens": len(serving.prepare(wanted).prompt.token_ids)}
