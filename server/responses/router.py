"""POST /v1/responses and GET /v1/responses/{id}."""

from __future__ import annotations

import uuid
from functools import partial

from fastapi import APIRouter

from reasoning.errors import NotFound
from reasoning.stored_responses import StoredResponses
from reasoning.types import Outcome
from server.deps import CallerDep, PrincipalDep, ServingDep, SettingsDep, StoreDep
from server.responses import render
from server.responses.protocol import CreateResponse
from server.serving import Rendering

router = APIRouter()


@router.post("/v1/responses")
async def create_response(
    body: CreateResponse, caller: CallerDep, serving: ServingDep, settings: SettingsDep, store: StoreDep
):
    owner, ring = caller.principal.key_id, serving.reasoner.content_keys.ring
    wanted = body.to_domain(
        owner=owner, request_id=caller.request_id, ring=ring, replay_reasoning=settings.replay_reasoning
    )
    plan = serving.prepare(wanted)  # every 4xx is raised here, before any engine work
    envelope = render.Envelope(
        id=f"resp_{plan.trace_id.removeprefix('rs_')}",
        reasoning_id=plan.trace_id,
        message_id=f"msg_{uuid.uuid4().hex}",
        created_at=plan.created,
        request=body,
        effort=wanted.budget.effort or settings.default_effort,
    )
    rendering = Rendering(
        endpoint="responses",
        whole=envelope.finished,
        stream=partial(render.stream, envelope) if body.stream else None,
        keep=partial(_keep, store.responses, envelope, owner) if body.store else None,
    )
    return await serving.respond(caller.request, caller.principal.key, plan, rendering)


@router.get("/v1/responses/{response_id}")
async def get_response(response_id: str, principal: PrincipalDep, store: StoreDep) -> dict:
    """A stored response, to the key that created it; 404 to everyone else."""
    found = await store.responses.get(response_id, principal.key_id)
    if found is None:
        raise NotFound(f"no response '{response_id}'", param="response_id", code="response_not_found")
    return found


async def _keep(responses: StoredResponses, envelope: render.Envelope, owner: str, outcome: Outcome) -> None:
    """Store the finished response before the client hears it is complete."""
    await responses.put(envelope.id, owner, envelope.finished(outcome))
