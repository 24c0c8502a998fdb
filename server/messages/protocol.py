"""Wire models of POST /v1/messages and /v1/messages/count_tokens (Anthropic's shapes).

How Anthropic's thinking fields become the server's budget (the README has the table):
`thinking.enabled.budget_tokens` is the hard reasoning cap (Anthropic's rule budget_tokens <
max_tokens holds; its minimum of 1024 does not, as small models think in far fewer tokens);
`adaptive` is effort `output_config.effort`, or `auto` when none is given; `disabled` is effort
`none`; no `thinking` at all is the server's default effort, as on every endpoint. `max_tokens`
caps reasoning and answer together. `display` is `omitted` unless `summarized` is asked for.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from reasoning.errors import InvalidRequest
from reasoning.types import AUTO, BudgetSpec, Message, ReasoningRequest, Sampling
from reasoning.vault import signatures
from reasoning.vault.crypto import KeyRing
from server.protocol import MAX_TOKENS, Effort, WireModel

SIGNATURE_CHARS = 4_000_000  # as encrypted_content: a long chain of thought, sealed and base64'd


class TextBlock(WireModel):
    type: Literal["text"]
    text: str


class ThinkingBlock(WireModel):
    type: Literal["thinking"]
    thinking: str
    signature: str = Field(max_length=SIGNATURE_CHARS)


class RedactedThinkingBlock(WireModel):
    type: Literal["redacted_thinking"]
    data: str = Field(max_length=SIGNATURE_CHARS)


Block = Annotated[TextBlock | ThinkingBlock | RedactedThinkingBlock, Field(discriminator="type")]


class MessageParam(WireModel):
    role: Literal["user", "assistant"]
    content: str | list[Block]


class ThinkingEnabled(WireModel):
    type: Literal["enabled"]
    budget_tokens: int = Field(ge=1, le=MAX_TOKENS)  # Anthropic asks >= 1024; relaxed for small models
    display: Literal["summarized", "omitted"] | None = None


class ThinkingAdaptive(WireModel):
    type: Literal["adaptive"]
    display: Literal["summarized", "omitted"] | None = None


class ThinkingDisabled(WireModel):
    type: Literal["disabled"]


Thinking = Annotated[ThinkingEnabled | ThinkingAdaptive | ThinkingDisabled, Field(discriminator="type")]


class OutputConfig(WireModel):
    effort: Effort | None = None  # Anthropic's low..max, and the server's other levels, auto included


class Metadata(WireModel):
    user_id: str | None = Field(None, max_length=256)  # accepted as Anthropic defines it; unused, never logged


class CountTokensRequest(WireModel):
    """What count_tokens reads: a message request without max_tokens."""

    model: str
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlock] | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None

    @property
    def summarized(self) -> bool:
        return isinstance(self.thinking, ThinkingEnabled | ThinkingAdaptive) and self.thinking.display == "summarized"

    def to_domain(self, *, owner: str, request_id: str, ring: KeyRing, replay_reasoning: bool) -> ReasoningRequest:
        messages = [Message("system", _text(self.system))] if self.system else []
        messages += [self._message(index, m, owner, ring, replay_reasoning) for index, m in enumerate(self.messages)]
        if self.messages[-1].role != "user":
            raise InvalidRequest(
                "the last message must be the user's: prefilled replies are not supported", param="messages"
            )
        return ReasoningRequest(
            model=self.model,
            messages=tuple(messages),
            budget=self._budget(self._max_tokens()),
            sampling=self._sampling(),
            summary="auto" if self.summarized else "none",
            owner=owner,
            request_id=request_id,
            seal_reasoning=True,  # every thinking block is signed with its sealed reasoning
        )

    def _max_tokens(self) -> int | None:
        return None  # count_tokens has none: it counts the prompt the budget is set over

    def _sampling(self) -> Sampling:
        return Sampling()

    def _budget(self, max_tokens: int | None) -> BudgetSpec:
        effort = self.output_config.effort if self.output_config else None
        cap = None
        if isinstance(self.thinking, ThinkingEnabled):
            cap = self.thinking.budget_tokens
            if max_tokens is not None and cap >= max_tokens:
                raise InvalidRequest(
                    "thinking.budget_tokens must be less than max_tokens", param="thinking.budget_tokens"
                )
        elif isinstance(self.thinking, ThinkingAdaptive):
            effort = effort or AUTO
        elif isinstance(self.thinking, ThinkingDisabled):
            effort = "none"
        return BudgetSpec(effort=effort, max_reasoning_tokens=cap, max_completion_tokens=max_tokens)

    @staticmethod
    def _message(index: int, message: MessageParam, owner: str, ring: KeyRing, replay: bool) -> Message:
        if isinstance(message.content, str):
            return Message(message.role, message.content)
        texts, reasoning = [], []
        for at, block in enumerate(message.content):
            if isinstance(block, TextBlock):
                texts.append(block.text)
                continue
            param = f"messages[{index}].content[{at}]"
            if message.role != "assistant":
                raise InvalidRequest("thinking blocks belong to assistant messages", param=param)
            # Opening it proves the caller holds a genuine block of its own, even when the
            # model does not keep earlier reasoning in context.
            reasoning.append(_opened(block, owner, ring, param))
        return Message(message.role, "\n".join(texts), "\n".join(reasoning) if replay and reasoning else None)


class CreateMessage(CountTokensRequest):
    max_tokens: int = Field(ge=1, le=MAX_TOKENS)
    stop_sequences: list[str] = Field(default_factory=list, max_length=16)  # bounded: each is matched per token
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=0)  # accepted; the engine does not take it yet (README)
    metadata: Metadata | None = None
    stream: bool = False

    def _max_tokens(self) -> int | None:
        return self.max_tokens

    def _sampling(self) -> Sampling:
        return Sampling(temperature=self.temperature, top_p=self.top_p, stop=tuple(self.stop_sequences))


def _text(system: str | list[TextBlock]) -> str:
    return system if isinstance(system, str) else "\n".join(block.text for block in system)


def _opened(block: ThinkingBlock | RedactedThinkingBlock, owner: str, ring: KeyRing, param: str) -> str:
    if isinstance(block, ThinkingBlock):
        return signatures.verify(ring, owner, block.thinking, block.signature, f"{param}.signature")
    return signatures.verify(ring, owner, "", block.data, f"{param}.data")
