"""Message objects and the Messages event stream, in Anthropic's shapes and order:

    message_start
    content_block_start (thinking)   ping while the model thinks
    content_block_delta              thinking_delta (the summary, when summarized), signature_delta
    content_block_stop
    content_block_start (text)
    content_block_delta              text_delta, as the answer comes
    content_block_stop
    message_delta                    stop_reason, usage
    message_stop

The thinking block is there whenever the model thinks (not with thinking disabled); its text
is the summary or empty, never the raw reasoning, and its signature seals that reasoning.
Our extensions: `usage.cost_usd` and a top-level `reasoning` object (as on chat completions),
sent on the final message and on `message_delta`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from reasoning.errors import ReasoningError
from reasoning.types import AnswerDelta, Done, Event, KeepAlive, Outcome, ThinkingDone
from server import sse
from server.chat.render import reasoning
from server.errors import anthropic_error_body, status_of

Signer = Callable[[str | None, str], str]  # (a chain's encrypted_content, the text shown) -> signature


@dataclass(frozen=True)
class Envelope:
    """What the message says before anything is generated."""

    id: str
    model: str
    input_tokens: int
    thinks: bool  # the plan thinks, so the content opens with a thinking block
    summarized: bool  # display "summarized": the thinking text is the summary
    sign: Signer

    def message(self, content: list[dict], stop_reason: str | None, usage: dict, **rest: Any) -> dict:
        return {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": content,
            "stop_reason": stop_reason, "stop_sequence": None, "usage": usage, **rest,
        }  # fmt: skip

    def thinking_block(self, summary: str | None, sealed: str | None) -> dict:
        shown = (summary or "") if self.summarized else ""
        return {"type": "thinking", "thinking": shown, "signature": self.sign(sealed, shown)}

    def finished(self, outcome: Outcome) -> dict:
        choice = outcome.choices[0]
        content = [self.thinking_block(choice.summary, choice.encrypted_content)] if self.thinks else []
        content.append({"type": "text", "text": choice.answer})
        return self.message(content, stop_reason(outcome), usage(outcome), reasoning=reasoning(outcome))


def stop_reason(outcome: Outcome) -> str:
    # A matched stop sequence ends a chain as "stop" too: the engine does not say which (README).
    return "max_tokens" if outcome.choices[0].finish_reason == "length" else "end_turn"


def usage(outcome: Outcome) -> dict:
    u = outcome.usage
    return {
        "input_tokens": u.prompt_tokens,
        "output_tokens": u.completion_tokens,  # billed: reasoning, its end marker and the answer
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": u.cached_tokens,
        "output_tokens_details": {"thinking_tokens": u.reasoning_tokens},
        "cost_usd": outcome.cost.usd,
    }


def _emit(kind: str, **fields: Any) -> bytes:
    return sse.event({"type": kind, **fields}, name=kind)


class _Blocks:
    """Which content block is open, so that each is started and stopped once, in order."""

    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope
        self.index = -1
        self.thinking = self.text = False

    def open_thinking(self) -> list[bytes]:
        self.index, self.thinking = self.index + 1, True
        block = {"type": "thinking", "thinking": "", "signature": ""}
        return [_emit("content_block_start", index=self.index, content_block=block)]

    def close_thinking(self, summary: str | None, sealed: str | None) -> list[bytes]:
        if not self.thinking:
            return []
        self.thinking = False
        block = self.envelope.thinking_block(summary, sealed)
        chunks = []
        if block["thinking"]:
            chunks.append(self._delta({"type": "thinking_delta", "thinking": block["thinking"]}))
        chunks.append(self._delta({"type": "signature_delta", "signature": block["signature"]}))
        return [*chunks, _emit("content_block_stop", index=self.index)]

    def answer(self, text: str) -> list[bytes]:
        chunks = []
        if not self.text:
            self.index, self.text = self.index + 1, True
            chunks.append(_emit("content_block_start", index=self.index, content_block={"type": "text", "text": ""}))
        if text:
            chunks.append(self._delta({"type": "text_delta", "text": text}))
        return chunks

    def finish(self, outcome: Outcome) -> list[bytes]:
        choice = outcome.choices[0]
        chunks = [*self.close_thinking(choice.summary, choice.encrypted_content), *self.answer("")]
        chunks.append(_emit("content_block_stop", index=self.index))
        delta = {"stop_reason": stop_reason(outcome), "stop_sequence": None}
        chunks.append(_emit("message_delta", delta=delta, usage=usage(outcome), reasoning=reasoning(outcome)))
        return [*chunks, _emit("message_stop")]

    def _delta(self, delta: dict) -> bytes:
        return _emit("content_block_delta", index=self.index, delta=delta)


async def stream(envelope: Envelope, events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    started = envelope.message([], None, {"input_tokens": envelope.input_tokens, "output_tokens": 0})
    yield _emit("message_start", message=started)
    blocks = _Blocks(envelope)
    if envelope.thinks:
        for chunk in blocks.open_thinking():
            yield chunk
    try:
        async for event in events:
            for chunk in _chunks(blocks, event):
                yield chunk
    except ReasoningError as exc:  # headers are sent: the failure travels as an event
        yield _emit("error", error=anthropic_error_body(status_of(exc), exc.message, exc.param, exc.code)["error"])


def _chunks(blocks: _Blocks, event: Event) -> list[bytes]:
    if isinstance(event, KeepAlive):
        return [_emit("ping")]
    if isinstance(event, ThinkingDone):
        return blocks.close_thinking(event.summary, event.encrypted_content)
    if isinstance(event, AnswerDelta):
        return blocks.answer(event.text)
    if isinstance(event, Done):
        return blocks.finish(event.outcome)
    return []
