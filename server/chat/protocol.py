"""Wire models of POST /v1/chat/completions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reasoning.errors import InvalidRequest
from reasoning.types import Message, ReasoningRequest, Sampling
from server.protocol import MAX_SEED, MAX_TOKENS, Effort, ReasoningOptions, WireModel, budget_spec, search_fields


class TextPart(WireModel):
    type: Literal["text", "input_text"]
    text: str


class ChatMessage(WireModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(WireModel):
    include_usage: bool = False


class ChatCompletionRequest(WireModel):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS, description="deprecated alias of max_completion_tokens")
    reasoning_effort: Effort | None = None
    reasoning: ReasoningOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    stop: str | list[str] | None = None
    n: int = Field(1, ge=1, le=128)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def to_domain(self, *, owner: str, request_id: str, max_n: int) -> ReasoningRequest:
        if self.n > max_n:
            raise InvalidRequest(f"n must be at most {max_n}", param="n")
        if isinstance(self.stop, list) and len(self.stop) > 4:
            raise InvalidRequest("stop takes at most 4 sequences", param="stop")
        if not any(m.role == "user" for m in self.messages):
            raise InvalidRequest("messages must include a user message", param="messages")
        effort = self.reasoning.effort if self.reasoning else None
        if effort and self.reasoning_effort and effort != self.reasoning_effort:
            raise InvalidRequest("reasoning_effort and reasoning.effort disagree", param="reasoning.effort")
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        return ReasoningRequest(
            model=self.model,
            messages=tuple(Message(m.role, m.text()) for m in self.messages),
            budget=budget_spec(self.reasoning, self.reasoning_effort, self.max_completion_tokens or self.max_tokens),
            sampling=Sampling(temperature=self.temperature, top_p=self.top_p, seed=self.seed, stop=stop),
            n=self.n,
            summary=(self.reasoning.summary if self.reasoning else None) or "none",
            owner=owner,
            request_id=request_id,
            **search_fields(self.reasoning),
        )
