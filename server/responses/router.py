"""The Responses API over HTTP.

    POST   /v1/responses                      generate (continuing previous_response_id, if named)
    GET    /v1/responses/{id}                 a stored response, to its creator
    DELETE /v1/responses/{id}                 the response and its trace, by its creator or an admin
    GET    /v1/responses/{id}/input_items     the items it was generated from, to its creator
    POST   /v1/responses/{id}/cancel          stop a background response, by its creator

Anyone else is told there is no such response (404), so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from reasoning import conversations
from reasoning.errors import InvalidRequest
from reasoning.reasoner import Plan
from reasoning.stored_responses import StoredResponse, StoredResponses
from reasoning.types import Outcome
from reasoning.vault.audit import Access
from server import sse
from server.auth import Principal
from server.background import UNFINISHED, BackgroundRunner, Streaming
from server.deps import (
    BackgroundDep,
    Caller,
    CallerDep,
    MetricsDep,
    PrincipalDep,
    RequestIdDep,
    ServingDep,
    SettingsDep,
    StoreDep,
)
from server.errors import error_response
from server.responses import context, render
from server.responses.protocol import ENCRYPTED_CONTENT, CreateResponse
from server.serving import Rendering, Serving

router = APIRouter(prefix="/v1/responses")
BUSY = "{} background responses are unfinished, the most this server runs at once; retry shortly"


@router.post("")
async def create_response(
    body: CreateResponse,
    caller: CallerDep,
    serving: ServingDep,
    settings: SettingsDep,
    store: StoreDep,
    background: BackgroundDep,
):
    owner = caller.principal.key_id
    reader = context.Reader(owner, caller.request_id, serving.reasoner.content_keys.ring)
    default_mode = conversations.ALL_TURNS if settings.replay_reasoning else conversations.CURRENT_TURN
    built = await context.build(body, reader, store, default_mode)
    wanted = body.to_domain(owner=owner, request_id=caller.request_id, messages=built.messages)
    plan = serving.prepare(wanted)  # every 4xx is raised here, before any engine work
    envelope = render.Envelope(
        id=f"resp_{plan.trace_id.removeprefix('rs_')}",
        reasoning_id=plan.trace_id,
        message_id=f"msg_{uuid.uuid4().hex}",
        created_at=plan.created,
        request=body,
        effort=wanted.budget.effort or settings.default_effort,
    )
    if body.background:
        stream = partial(render.stream, envelope) if body.stream else None
        return await _in_background(caller, serving, background, plan, envelope, built.items, stream)
    keep = partial(_keep, store.responses, envelope, owner, built.items) if body.store else None
    rendering = Rendering(
        endpoint="responses",
        whole=envelope.finished,
        stream=partial(render.stream, envelope) if body.stream else None,
        keep=keep or partial(_note_unkept, store.responses, envelope.id, owner),
    )
    return await serving.respond(caller.request, caller.principal.key, plan, rendering)


async def _in_background(
    caller: Caller,
    serving: Serving,
    runner: BackgroundRunner,
    plan: Plan,
    envelope: render.Envelope,
    items: list,
    stream: Streaming | None,
) -> Response:
    """Reserve the worst case as in the foreground (429 over budget), store the response
    queued (429 with Retry-After past REASONING_MAX_BACKGROUND), and run it on as a task;
    streamed, the client follows its kept events, and may leave and resume."""
    hold = await serving.admit(caller.principal.key, plan)
    try:
        queued = await runner.admit(envelope, caller.principal.key_id, items)
    except BaseException:
        await hold.release()
        raise
    if queued is None:
        await hold.release()
        busy = error_response(429, BUSY.format(runner.most), None, "too_many_background_responses")
        busy.headers["retry-after"] = str(max(1, round(runner.lease / 3)))
        return busy
    runner.start(envelope, serving.events(plan, hold, "responses"), stream)
    headers = hold.headers
    if stream is not None:
        return sse.EventStream(runner.replay(envelope.id, -1, serving.reasoner.config.keepalive_seconds), headers)
    return JSONResponse(queued, headers=headers)


@router.get("/{response_id}", response_model=None)
async def get_response(
    response_id: str,
    principal: PrincipalDep,
    store: StoreDep,
    background: BackgroundDep,
    settings: SettingsDep,
    stream: bool = False,
    starting_after: Annotated[int, Query(ge=-1)] = -1,
) -> dict | Response:
    """A stored response, to the key that created it; 404 to everyone else. A streamed
    background response streams again with `stream=true`, from the event after `starting_after`."""
    if stream:
        streamed = await _visible(store.responses, response_id, principal)
        if not streamed.body.get("background"):
            raise InvalidRequest("only a background response can be streamed again", param="stream")
        return sse.EventStream(background.replay(response_id, starting_after, settings.keepalive_seconds))
    found = await store.responses.get(response_id, principal.key_id)
    if found is None:
        raise conversations.not_found(response_id)
    return found


@router.delete("/{response_id}")
async def delete_response(
    response_id: str, principal: PrincipalDep, store: StoreDep, request_id: RequestIdDep, background: BackgroundDep
):
    found = await _visible(store.responses, response_id, principal, admin_too=True)
    await background.cancel(response_id)  # a running one stops first, before it writes its trace
    if found.trace_id is not None:  # audited as the caller's deletion, as DELETE of the trace is
        access = Access(actor=principal.key_id, role=principal.role, request_id=request_id)
        await store.traces.delete(found.trace_id, access)
    if not await store.responses.delete(response_id):
        raise conversations.not_found(response_id)
    return {"id": response_id, "object": "response", "deleted": True}


@router.post("/{response_id}/cancel")
async def cancel_response(
    response_id: str, principal: PrincipalDep, store: StoreDep, background: BackgroundDep, metrics: MetricsDep
) -> dict:
    """Stop a background response at once (its engine work is aborted); final ones stay as they are."""
    found = await _visible(store.responses, response_id, principal)
    if not found.body.get("background"):
        raise InvalidRequest("only a background response can be cancelled", param="response_id")
    if found.body["status"] in UNFINISHED and not await background.cancel(response_id):
        # Run by another replica (or by one that died): its runner stops at its next renewal.
        cancelled = {**found.body, "status": "cancelled"}
        if await store.responses.advance(response_id, cancelled, None):
            metrics.background_finished("cancelled")
    return await store.responses.get(response_id, principal.key_id) or found.body


@router.get("/{response_id}/input_items")
async def list_input_items(
    response_id: str,
    principal: PrincipalDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
    include: Annotated[list[str] | None, Query(alias="include[]")] = None,
) -> dict:
    found = await _visible(store.responses, response_id, principal)
    page = render.ItemPage(limit, order, after, sealed=ENCRYPTED_CONTENT in (include or ()))
    return page.of(found.context or [])


async def _visible(
    responses: StoredResponses, response_id: str, principal: Principal, admin_too: bool = False
) -> StoredResponse:
    """The kept response, when the caller created it (or, with `admin_too`, is an admin)."""
    found = await responses.find(response_id)
    allowed = found is not None and (found.owner == principal.key_id or (admin_too and principal.is_admin))
    if found is None or found.body is None or not allowed:
        raise conversations.not_found(response_id)
    return found


async def _keep(
    responses: StoredResponses, envelope: render.Envelope, owner: str, items: list[dict], outcome: Outcome
) -> None:
    """Store the finished response, with its context, before the client hears it is complete."""
    await responses.put(envelope.id, owner, envelope.finished(outcome), items)


async def _note_unkept(responses: StoredResponses, response_id: str, owner: str, _: Outcome) -> None:
    """Note that a `store: false` response existed, so that continuing it is told why not."""
    await responses.put_unkept(response_id, owner)
