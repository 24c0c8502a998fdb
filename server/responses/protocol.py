"""Wire models of POST /v1/responses."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from reasoning.errors import InvalidRequest
from reasoning.types import Message, ReasoningRequest, Sampling
from reasoning.vault import encrypted_content
from reasoning.vault.crypto import KeyRing
from server.protocol import ReasoningOptions, WireModel, budget_spec, search_fields

ENCRYPTED_CONTENT = "reasoning.encrypted_content"


class ContentPart(WireModel):
    type: Literal["input_text", "output_text", "text"]
    text: str


class MessageItem(WireModel):
    type: Literal["message"] = "message"
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[ContentPart]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "\n".join(p.text for p in self.content)


class SummaryPart(WireModel):
    type: Literal["summary_text"]
    text: str


class ReasoningItem(WireModel):
    type: Literal["reasoning"]
    id: str = Field(min_length=1, max_length=128)
    summary: list[SummaryPart] = Field(default_factory=list)
    encrypted_content: str | None = Field(None, max_length=4_000_000)


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


class CreateResponse(WireModel):
    model: str
    input: list[InputItem] | str = Field(min_length=1)
    instructions: str | None = None
    reasoning: ResponsesReasoning | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    include: list[str] = Field(default_factory=list)
    store: bool = True
    stream: bool = False
    metadata: dict[str, str] | None = Field(None, max_length=16)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    previous_response_id: str | None = None
    user: str | None = None

    @property
    def summary_mode(self) -> str:
        r = self.reasoning
        return (r and (r.summary or r.generate_summary)) or "none"

    def to_domain(self, *, owner: str, request_id: str, ring: KeyRing, replay_reasoning: bool) -> ReasoningRequest:
        if self.previous_response_id is not None:
            raise InvalidRequest(
                "previous_response_id is not supported: send the earlier output items in input",
                param="previous_response_id",
            )
        messages = [Message("system", self.instructions)] if self.instructions else []
        messages += self._messages(owner, ring, replay_reasoning)
        if not any(m.role == "user" for m in messages):
            raise InvalidRequest("input must include a user message", param="input")
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

    def _messages(self, owner: str, ring: KeyRing, replay_reasoning: bool) -> list[Message]:
        if isinstance(self.input, str):
            return [Message("user", self.input)]
        messages, carried = [], None
        for index, item in enumerate(self.input):
            if isinstance(item, ReasoningItem):
                # Opening it proves the caller holds a genuine item of its own, even when the
                # model does not keep earlier reasoning in context.
                if item.encrypted_content is not None:
                    param = f"input[{index}].encrypted_content"
                    carried = encrypted_content.unseal(ring, item.id, owner, item.encrypted_content, param)
                continue
            reasoning = carried if item.role == "assistant" and replay_reasoning else None
            messages.append(Message(item.role, item.text(), reasoning))
            carried = None if item.role == "assistant" else carried
        return messages
