"""Response objects and the Responses event stream, in OpenAI's shapes and order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from reasoning.errors import InvalidRequest, ReasoningError
from reasoning.types import AnswerDelta, Choice, Done, Event, KeepAlive, Outcome, ThinkingDone
from server import sse
from server.responses.protocol import CreateResponse


@dataclass(frozen=True)
class Envelope:
    """What the response object says before anything is generated."""

    id: str
    reasoning_id: str  # the trace id
    message_id: str
    created_at: int
    request: CreateResponse
    effort: str | None

    def response(self, status: str, output: list[dict], **rest: Any) -> dict:
        r = self.request
        return {
            "id": self.id, "object": "response", "created_at": self.created_at, "status": status,
            "model": r.model, "output": output, "error": None, "incomplete_details": None,
            "instructions": r.instructions, "max_output_tokens": r.max_output_tokens, "metadata": r.metadata or {},
            "reasoning": {"effort": self.effort, "summary": None if r.summary_mode == "none" else r.summary_mode},
            "store": r.store, "temperature": r.temperature, "top_p": r.top_p, "parallel_tool_calls": False,
            "tool_choice": "none", "tools": [], "text": {"format": {"type": "text"}}, "truncation": "disabled",
            "usage": None, "user": r.user, "background": r.background, **rest,
        }  # fmt: skip

    def reasoning_item(self, status: str, summary: str | None, encrypted: str | None) -> dict:
        item = {
            "id": self.reasoning_id, "type": "reasoning", "status": status,
            "summary": [] if summary is None else [{"type": "summary_text", "text": summary}],
        }  # fmt: skip
        if encrypted is not None:
            item["encrypted_content"] = encrypted
        return item

    def message_item(self, status: str, text: str | None) -> dict:
        content = [] if text is None else [_text_part(text)]
        return {"id": self.message_id, "type": "message", "role": "assistant", "status": status, "content": content}

    def finished(self, outcome: Outcome) -> dict:
        choice = outcome.choices[0]
        cut = choice.finish_reason == "length"
        status = "incomplete" if cut else "completed"
        output = [
            self.reasoning_item("completed", choice.summary, choice.encrypted_content),
            self.message_item(status, choice.answer),
        ]
        details = {"reason": "max_output_tokens"} if cut else None
        return self.response(status, output, usage=usage(outcome), incomplete_details=details)


@dataclass(frozen=True)
class ItemPage:
    """One page of a response's input items, as OpenAI lists them: newest first unless
    `order` is asc, from the item after `after`; encrypted_content only when included."""

    limit: int
    order: str  # asc | desc
    after: str | None
    sealed: bool

    def of(self, items: list[dict]) -> dict:
        ordered = items if self.order == "asc" else items[::-1]
        if self.after is not None:
            at = next((i for i, item in enumerate(ordered) if item.get("id") == self.after), None)
            if at is None:
                raise InvalidRequest(f"no input item '{self.after}' in this response", param="after")
            ordered = ordered[at + 1 :]
        page = [self._shown(item) for item in ordered[: self.limit]]
        return {
            "object": "list", "data": page, "has_more": len(ordered) > self.limit,
            "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None,
        }  # fmt: skip

    def _shown(self, item: dict) -> dict:
        return item if self.sealed else {k: v for k, v in item.items() if k != "encrypted_content"}


def _text_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def usage(outcome: Outcome) -> dict:
    u = outcome.usage
    return {
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens},
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.total_tokens,
        "cost_usd": outcome.cost.usd,
    }


class _Sequence:
    """Numbers each event, as the SDK expects."""

    def __init__(self) -> None:
        self.number = -1

    def __call__(self, kind: str, **fields: Any) -> bytes:
        self.number += 1
        return sse.event({"type": kind, "sequence_number": self.number, **fields}, name=kind)


async def stream(envelope: Envelope, events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    emit = _Sequence()
    yield emit("response.created", response=envelope.response("in_progress", []))
    yield emit("response.in_progress", response=envelope.response("in_progress", []))
    yield emit("response.output_item.added", output_index=0, item=envelope.reasoning_item("in_progress", None, None))
    try:
        async for event in events:
            if isinstance(event, KeepAlive):
                yield sse.KEEPALIVE
            elif isinstance(event, ThinkingDone):
                for chunk in _reasoning_done(emit, envelope, event):
                    yield chunk
            elif isinstance(event, AnswerDelta):
                yield emit("response.output_text.delta", **_text_at(envelope), delta=event.text, logprobs=[])
            elif isinstance(event, Done):
                for chunk in _answer_done(emit, envelope, event.outcome):
                    yield chunk
    except ReasoningError as exc:  # headers are sent: the failure travels as events
        error = {"code": exc.code, "message": exc.message, "param": exc.param}
        yield emit("error", **error)
        failed = envelope.response("failed", [], error={"code": exc.code, "message": exc.message})
        yield emit("response.failed", response=failed)


def _text_at(envelope: Envelope) -> dict:
    return {"item_id": envelope.message_id, "output_index": 1, "content_index": 0}


def _reasoning_done(emit: _Sequence, envelope: Envelope, done: ThinkingDone) -> list[bytes]:
    at = {"item_id": envelope.reasoning_id, "output_index": 0, "summary_index": 0}
    chunks = []
    if done.summary is not None:
        part = {"type": "summary_text", "text": done.summary}
        chunks += [
            emit("response.reasoning_summary_part.added", **at, part={"type": "summary_text", "text": ""}),
            emit("response.reasoning_summary_text.delta", **at, delta=done.summary),
            emit("response.reasoning_summary_text.done", **at, text=done.summary),
            emit("response.reasoning_summary_part.done", **at, part=part),
        ]
    item = envelope.reasoning_item("completed", done.summary, done.encrypted_content)
    chunks += [
        emit("response.output_item.done", output_index=0, item=item),
        emit("response.output_item.added", output_index=1, item=envelope.message_item("in_progress", None)),
        emit("response.content_part.added", **_text_at(envelope), part=_text_part("")),
    ]
    return chunks


def _answer_done(emit: _Sequence, envelope: Envelope, outcome: Outcome) -> list[bytes]:
    choice: Choice = outcome.choices[0]
    final = envelope.finished(outcome)
    message = final["output"][1]
    return [
        emit("response.output_text.done", **_text_at(envelope), text=choice.answer, logprobs=[]),
        emit("response.content_part.done", **_text_at(envelope), part=_text_part(choice.answer)),
        emit("response.output_item.done", output_index=1, item=message),
        emit(f"response.{final['status']}", response=final),
    ]
