"""Chat completion objects and stream chunks from the domain's events and Outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from reasoning.errors import ReasoningError
from reasoning.types import AnswerDelta, Done, Event, KeepAlive, Outcome, ThinkingDone
from server import sse
from server.errors import error_body, status_of


def usage(outcome: Outcome) -> dict:
    u = outcome.usage
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": u.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
        "cost_usd": outcome.cost.usd,
    }


def reasoning(outcome: Outcome) -> dict:
    """Our extension: which trace holds the hidden reasoning and how the budget went."""
    summary = {
        "id": outcome.trace_id if outcome.stored else None,
        "budget_tokens": outcome.budget_tokens,
        "reasoning_tokens": outcome.usage.reasoning_tokens,
        "budget_exhausted": outcome.budget_exhausted,
        "chains": outcome.chains,
        "probe_tokens": outcome.probe_tokens,  # early-exit probes: in reasoning_tokens, billed
    }
    if outcome.votes is not None:
        summary["votes"] = outcome.votes
    return summary


def completion(completion_id: str, outcome: Outcome) -> dict:
    choices = []
    for choice in outcome.choices:
        message = {"role": "assistant", "content": choice.answer, "refusal": None}
        if choice.summary is not None:
            message["reasoning_summary"] = choice.summary
        choices.append(
            {"index": choice.index, "message": message, "finish_reason": choice.finish_reason, "logprobs": None}
        )
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": outcome.created,
        "model": outcome.model,
        "choices": choices,
        "usage": usage(outcome),
        "reasoning": reasoning(outcome),
    }


@dataclass(frozen=True)
class ChunkHeader:
    id: str
    model: str
    created: int

    def chunk(self, choices: list[dict], **extra: object) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }


async def stream(
    header: ChunkHeader, n: int, events: AsyncIterator[Event], include_usage: bool
) -> AsyncIterator[bytes]:
    """OpenAI's chunk sequence: roles, answer deltas (keep-alive comments while the model
    thinks), a finish chunk per choice, the usage chunk if asked, then [DONE]."""
    roles = [{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None} for i in range(n)]
    yield sse.event(header.chunk(roles))
    try:
        async for event in events:
            if isinstance(event, KeepAlive):
                yield sse.KEEPALIVE
            elif isinstance(event, AnswerDelta):
                delta = {"index": event.index, "delta": {"content": event.text}, "finish_reason": None}
                yield sse.event(header.chunk([delta]))
            elif isinstance(event, ThinkingDone) and event.summary is not None:
                delta = {"index": event.index, "delta": {"reasoning_summary": event.summary}, "finish_reason": None}
                yield sse.event(header.chunk([delta]))
            elif isinstance(event, Done):
                yield _finish(header, event.outcome, include_usage)
    except ReasoningError as exc:  # headers are sent: the error travels as an event
        yield sse.event(error_body(status_of(exc), exc.message, exc.param, exc.code))
    yield sse.DONE


def _finish(header: ChunkHeader, outcome: Outcome, include_usage: bool) -> bytes:
    finals = [{"index": c.index, "delta": {}, "finish_reason": c.finish_reason} for c in outcome.choices]
    body = sse.event(header.chunk(finals, reasoning=reasoning(outcome)))
    if include_usage:
        body += sse.event(header.chunk([], usage=usage(outcome)))
    return body
