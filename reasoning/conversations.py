"""Conversations continued by `previous_response_id`: the stored turn's context and output
become the next request's context, and earlier reasoning comes back from the vault.

    history(responses, id, owner)     the items to build on: 404 for anyone but the creator,
                                      400 for a `store: false` response
    reasoning_kept(roles, mode)       which assistant messages the chat template gets reasoning for
    recall(vault, trace_id, ...)      one earlier turn's reasoning, read from the vault as an
                                      audited read by the system for the trace's owner

`current_turn` hands the template only the reasoning of assistant messages after the last user
message (what the templates of Qwen3 and DeepSeek-R1 keep); `all_turns` hands it every turn's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reasoning.errors import InvalidRequest, NotFound
from reasoning.stored_responses import StoredResponses
from reasoning.vault.audit import Access
from reasoning.vault.traces import Vault

CURRENT_TURN, ALL_TURNS = "current_turn", "all_turns"
SYSTEM = "system"  # the actor and role of the vault reads a conversation makes
RECALL_REASON = "reasoning.context of a conversation continued by previous_response_id"


def not_found(response_id: str) -> NotFound:
    return NotFound(f"no response '{response_id}'", param="response_id", code="response_not_found")


async def history(responses: StoredResponses, response_id: str, owner: str) -> list[dict[str, Any]]:
    """The context and output items of the owner's stored response `response_id`."""
    found = await responses.find(response_id)
    if found is None or found.owner != owner:
        raise NotFound(f"no response '{response_id}'", param="previous_response_id", code="response_not_found")
    if found.body is None:
        raise InvalidRequest(
            f"response '{response_id}' was created with store: false, so nothing of it was kept to continue; "
            "pass its output items in input instead (with include: ['reasoning.encrypted_content'] to keep "
            "its reasoning)",
            param="previous_response_id",
        )
    if found.body["status"] in ("queued", "in_progress"):
        raise InvalidRequest(
            f"response '{response_id}' is still running in the background; continue it once it is final",
            param="previous_response_id",
        )
    if found.context is None:
        raise InvalidRequest(
            f"response '{response_id}' was stored before conversations were kept; pass its items in input instead",
            param="previous_response_id",
        )
    return [*found.context, *found.body["output"]]


def reasoning_kept(roles: Sequence[str], mode: str) -> set[int]:
    """The indices of the assistant messages whose reasoning stays in context under `mode`."""
    last_user = max((i for i, role in enumerate(roles) if role == "user"), default=-1)
    first = 0 if mode == ALL_TURNS else last_user + 1
    return {i for i, role in enumerate(roles) if role == "assistant" and i >= first}


async def recall(vault: Vault, trace_id: str, owner: str, answer: str, request_id: str) -> str | None:
    """The reasoning behind `answer` in the owner's trace; None when the trace is gone (deleted
    or expired) or is not the owner's. The read is audited before anything is decrypted."""
    info = await vault.info(trace_id)
    if info is None or info.owner != owner:
        return None
    access = Access(actor=SYSTEM, role=SYSTEM, request_id=request_id, reason=RECALL_REASON)
    trace = await vault.read(trace_id, access)
    if trace is None or not trace.chains:
        return None
    # A search stores every chain it sampled; the one whose answer was shown is the turn's.
    chosen = next((chain for chain in trace.chains if chain.answer == answer), trace.chains[0])
    return chosen.reasoning
