"""Wire models of POST /v1/responses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from reasoning.errors import InvalidRequest
from reasoning.types import Message, ReasoningRequest, Sampling
from server.protocol import MAX_TOKENS, ReasoningOptions, WireModel, budget_spec, search_fields

ENCRYPTED_CONTENT = "reasoning.encrypted_content"


class ContentPart(WireModel):
    type: Literal["input_text", "output_text", "text"]
    text: str


class MessageItem(WireModel):
    type: Literal["message"] = "message"
    id: str | None = Field(None, max_length=128)
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[ContentPart]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "\n".join(p.text for p in self.content)

    def stored(self) -> dict:
        """The item as a response's context keeps it and input_items lists it: with an id,
        its content as parts (an assistant's as output text)."""
        if self.role == "assistant":
            part = {"type": "output_text", "text": self.text(), "annotations": []}
        else:
            part = {"type": "input_text", "text": self.text()}
        item_id = self.id or f"msg_{uuid.uuid4().hex}"
        return {"id": item_id, "type": "message", "role": self.role, "status": "completed", "content": [part]}


class SummaryPart(WireModel):
    type: Literal["summary_text"]
    text: str


class ReasoningItem(WireModel):
    type: Literal["reasoning"]
    id: str = Field(min_length=1, max_length=128)
    summary: list[SummaryPart] = Field(default_factory=list)
    encrypted_content: str | None = Field(None, max_length=4_000_000)

    def stored(self) -> dict:
        return self.model_dump(exclude_none=True)


def _item_kind(item: Any) -> str:
    """Messages may omit their type, as OpenAI allows; other item types are refused."""
    return item.get("type", "message") if isinstance(item, dict) else getattr(item, "type", "message")


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")] | Annotated[ReasoningItem, Tag("reasoning")],
    Discriminator(_item_kind),
]


class ResponsesReasoning(ReasoningOptions):
    """OpenAI's `reasoning` object ({effort, summary}) with our extension fields."""

    generate_summary: Literal["auto", "concise", "detailed"] | None = None  # OpenAI's deprecated name
    # Which earlier turns' reasoning the chat template gets (reasoning/conversations.py);
    # default: all_turns when REASONING_REPLAY_REASONING is on, else current_turn.
    context: Literal["current_turn", "all_turns"] | None = None


class CreateResponse(WireModel):
    model: str
    input: list[InputItem] | str = Field(min_length=1)
    instructions: str | None = None
    reasoning: ResponsesReasoning | None = None
    max_output_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    include: list[str] = Field(default_factory=list)
    store: bool = True
    stream: bool = False
    background: bool = False  # answer at once, queued; run on; GET it, or cancel it
    metadata: dict[str, str] | None = Field(None, max_length=16)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    previous_response_id: str | None = Field(None, min_length=1, max_length=128)
    user: str | None = None

    @property
    def summary_mode(self) -> str:
        r = self.reasoning
        return (r and (r.summary or r.generate_summary)) or "none"

    def own_items(self) -> list[InputItem]:
        """This request's input, as items (a string input is one user message)."""
        return [MessageItem(role="user", content=self.input)] if isinstance(self.input, str) else list(self.input)

    def to_domain(self, *, owner: str, request_id: str, messages: Sequence[Message]) -> ReasoningRequest:
        """The request over `messages`: the instructions, the conversation and this input."""
        if not any(m.role == "user" for m in messages):
            raise InvalidRequest("input must include a user message", param="input")
        if self.background and not self.store:
            raise InvalidRequest("a background response must be stored: set store to true", param="background")
        return ReasoningRequest(
            model=self.model,
            messages=tuple(messages),
            budget=budget_spec(self.reasoning, None, self.max_output_tokens),
            sampling=Sampling(temperature=self.temperature, top_p=self.top_p),
            summary=self.summary_mode,
            owner=owner,
            request_id=request_id,
            **search_fields(self.reasoning),
            store=self.store,
            seal_reasoning=ENCRYPTED_CONTENT in self.include,
        )
