"""The messages a Responses request is generated from: the conversation it continues
(`previous_response_id`), then its own input, each assistant turn with its reasoning when
`reasoning.context` keeps it. That reasoning comes from the reasoning item before the turn:
opened from its encrypted_content when the caller passed one, else read from the vault.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter

from reasoning import conversations
from reasoning.storage import Store
from reasoning.types import Message
from reasoning.vault import encrypted_content
from reasoning.vault.crypto import KeyRing
from server.responses.protocol import CreateResponse, InputItem, MessageItem, ReasoningItem

_ITEMS = TypeAdapter(list[InputItem])


@dataclass(frozen=True)
class Context:
    messages: list[Message]  # what the chat template renders
    items: list[dict]  # the items as the response keeps them: the earlier turns', then this input


@dataclass(frozen=True)
class Reader:
    """Whose earlier reasoning is read, for which request, with which keys."""

    owner: str  # the key id
    request_id: str
    ring: KeyRing  # the keys of encrypted_content


async def build(body: CreateResponse, reader: Reader, store: Store, default_mode: str) -> Context:
    earlier = await _history(body, reader.owner, store)
    items = [*earlier, *body.own_items()]
    mode = (body.reasoning and body.reasoning.context) or default_mode
    kept = conversations.reasoning_kept([_role(item) for item in items], mode)
    messages = [Message("system", body.instructions)] if body.instructions else []
    reasoning: ReasoningItem | None = None
    opened: str | None = None
    for index, item in enumerate(items):
        if isinstance(item, ReasoningItem):
            # Opening a passed item proves the caller holds a genuine item of its own, even
            # when the model does not keep earlier reasoning in context.
            own = index - len(earlier)
            reasoning, opened = item, _open(item, own, reader) if own >= 0 else None
            continue
        text = None
        if reasoning is not None and index in kept:
            text = (
                opened
                if opened is not None
                else await conversations.recall(
                    store.traces, reasoning.id, reader.owner, item.text(), reader.request_id
                )
            )
        messages.append(Message(item.role, item.text(), text))
        if item.role == "assistant":
            reasoning, opened = None, None
    return Context(messages, [item.stored() for item in items])


async def _history(body: CreateResponse, owner: str, store: Store) -> list[InputItem]:
    if body.previous_response_id is None:
        return []
    return _ITEMS.validate_python(await conversations.history(store.responses, body.previous_response_id, owner))


def _role(item: MessageItem | ReasoningItem) -> str:
    return "reasoning" if isinstance(item, ReasoningItem) else item.role


def _open(item: ReasoningItem, index: int, reader: Reader) -> str | None:
    if item.encrypted_content is None:
        return None
    param = f"input[{index}].encrypted_content"
    return encrypted_content.unseal(reader.ring, item.id, reader.owner, item.encrypted_content, param)
